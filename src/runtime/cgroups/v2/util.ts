// Shared plumbing of the cgroup2 resource drivers: 64-bit integer handling, the
// write plan every driver returns, and the executor that turns a kernel refusal
// into a CgroupError naming the field, the file and the value.
//
// Each driver (memory.ts, cpu.ts, ...) is a pure-ish function from its part of
// linux.resources to a list of writes. It may read the cgroup (current values,
// which files exist) and throws CgroupError for values that can never work, but
// it writes nothing: apply() first plans every controller, so a bad value
// anywhere leaves the cgroup untouched, then executes the writes in order.
import type { Int64 } from '../../spec/types';
import { CgroupFs, joinPath } from '../fs';
import { CgroupError } from '../manager';
import { errCode } from '../common';

/** One write(2) of `value` to `<dir>/<file>`, done on behalf of linux.resources.<field>. */
export interface Write {
  file: string;
  value: string;
  field: string;
  /** A missing file is fine (an optional kernel feature, e.g. swap accounting when disabling swap). */
  optional?: boolean;
  /**
   * EINVAL is retried once after the remaining writes of the same plan (cpu.max.burst
   * may exceed the old quota until the new cpu.max is in place; runc does the same).
   */
  retryOnEinval?: boolean;
}

/** What a driver may look at while planning. */
export interface PlanContext {
  fs: CgroupFs;
  /** The container's cgroup dir. */
  dir: string;
  /** A live change (`update`), as opposed to the initial apply at create. */
  update: boolean;
  /** Something in the spec that cgroup v2 cannot honour; not an error. */
  warn(msg: string): void;
  /** Throws CgroupError(field) unless `controller` is enabled for the container's cgroup. */
  need(controller: string, field: string): void;
}

/** `<dir>/<name>` exists. */
export function has(c: PlanContext, name: string): boolean {
  return c.fs.exists(joinPath(c.dir, name));
}

/** Content of `<dir>/<name>` trimmed, or undefined when the file does not exist. */
export function readOpt(c: Pick<PlanContext, 'fs' | 'dir'>, name: string): string | undefined {
  try {
    return c.fs.readFile(joinPath(c.dir, name)).trim();
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** An OCI 64-bit integer as a bigint; throws CgroupError for non-integers. */
export function big(v: Int64, field: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new CgroupError(field, `${JSON.stringify(v)} is not an integer`);
  return BigInt(v);
}

/** The value unless it is undefined or 0 ("unset", as runc treats 0 for most limits). */
export function setOrUndefined(v: Int64 | undefined, field: string): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  const b = big(v, field);
  return b === 0n ? undefined : b;
}

/** Kernel "max" for -1, the number for positive values; anything else below 0 is refused. */
export function maxOrNumber(v: bigint, field: string, what = 'a positive number, or -1 for no limit'): string {
  if (v === -1n) return 'max';
  if (v < 0n) throw new CgroupError(field, `${v} is not valid: expected ${what}`);
  return v.toString();
}

/** A "key value" per line file (cpu.stat, memory.stat, memory.events, ...). */
export function parseKeyValues(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1], BigInt(m[2]));
  }
  return out;
}

const ERRNO_HINT: Record<string, string> = {
  EINVAL: 'the kernel refused the value',
  ERANGE: 'the value is out of the range the kernel accepts',
  EBUSY: 'the kernel refused the change while the cgroup is in use',
  ENOSPC: 'no space for the limit (e.g. a cpuset outside the parent\'s, or a quota beyond the parent\'s)',
  ENODEV: 'no such device',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EOPNOTSUPP: 'not supported by this kernel',
};

function describeError(e: unknown): string {
  const code = errCode(e);
  const hint = code ? ERRNO_HINT[code] : undefined;
  return `${code ?? (e instanceof Error ? e.message : String(e))}${hint ? ` (${hint})` : ''}`;
}

/**
 * Executes a plan in order. A failed write throws CgroupError naming the field,
 * file and value; an `optional` write to a missing file is skipped; a
 * `retryOnEinval` write that fails with EINVAL is tried again at the end.
 */
export function executeWrites(fs: CgroupFs, dir: string, writes: Write[]): void {
  const retry: Write[] = [];
  const one = (w: Write, canDefer: boolean): void => {
    const file = joinPath(dir, w.file);
    try {
      fs.writeFile(file, w.value);
    } catch (e) {
      const code = errCode(e);
      if (w.optional && code === 'ENOENT') return;
      if (canDefer && w.retryOnEinval && code === 'EINVAL') {
        retry.push(w);
        return;
      }
      throw new CgroupError(w.field, `writing ${JSON.stringify(w.value)} to ${file}: ${describeError(e)}`);
    }
  };
  for (const w of writes) one(w, true);
  for (const w of retry) one(w, false);
}
