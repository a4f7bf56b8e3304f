// Shared plumbing of the v1 controller drivers: where a controller lives, and
// writes whose kernel refusals become CgroupErrors naming field, file and value.
import * as path from 'node:path';
import { joinPath } from '../fs';
import { errCode, mountOf } from '../common';
import { CgroupError, ResolvedOptions } from '../manager';
import { assertManagedPath, berthAnchorIndex } from '../path';

export interface V1Context {
  o: ResolvedOptions;
  /** The container's managed path, e.g. "/berth/<id>". */
  path: string;
  /** Dir of the v1 hierarchy carrying `controller`, if one is mounted. */
  dirOf(controller: string): string | undefined;
  /** The same path in the cgroup2 hierarchy (hybrid hosts). */
  unified?: string;
  /** A live change (runc update) rather than the initial apply. */
  update: boolean;
}

const ERRNO_TEXT: Record<string, string> = {
  EINVAL: 'the kernel rejected the value (EINVAL)',
  EBUSY: 'the cgroup is busy (EBUSY)',
  ENOENT: 'the file does not exist (this kernel lacks the feature)',
  EPERM: 'permission denied (EPERM)',
  EACCES: 'permission denied (EACCES)',
  ENODEV: 'no such device on this host (ENODEV)',
  EOPNOTSUPP: 'not supported (EOPNOTSUPP)',
  ENOSPC: 'no space (ENOSPC)',
  ERANGE: 'out of range (ERANGE)',
};

export function errnoText(e: unknown): string {
  const code = errCode(e);
  return (code && ERRNO_TEXT[code]) ?? (e instanceof Error ? e.message : String(e));
}

/** Thrown for a refused write; `cause` keeps the errno for callers that retry. */
export class WriteError extends CgroupError {
  constructor(field: string, message: string, readonly code: string | undefined) {
    super(field, message);
  }
}

/**
 * Write `value` to `file`. A refusal becomes a CgroupError for `field`:
 * "cannot write "<value>" to <file>: <why>", where `explain(code)` may give a
 * better why than the errno text.
 */
export function writeField(o: ResolvedOptions, field: string, file: string, value: string, explain?: (code: string | undefined) => string | undefined): void {
  try {
    o.fs.writeFile(file, value);
  } catch (e) {
    const code = errCode(e);
    if (code === undefined) throw e;
    let why: string | undefined;
    try {
      why = explain?.(code);
    } catch {
      why = undefined; // explaining must never hide the original failure
    }
    throw new WriteError(field, `cannot write ${JSON.stringify(value)} to ${file}: ${why ?? errnoText(e)}`, code);
  }
}

/** File content, or undefined if the file does not exist. */
export function readOptional(o: ResolvedOptions, file: string): string | undefined {
  try {
    return o.fs.readFile(file);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** A decimal (possibly -1) file as bigint; "max" → 2^63-1; undefined if absent or not a number. */
export function readBig(o: ResolvedOptions, file: string): bigint | undefined {
  const t = readOptional(o, file)?.trim();
  if (t === undefined) return undefined;
  if (t === 'max') return 2n ** 63n - 1n;
  return /^-?\d+$/.test(t) ? BigInt(t) : undefined;
}

/** The dir of a required v1 controller, or a CgroupError naming the field. */
export function requireDir(ctx: V1Context, controller: string, field: string): string {
  const dir = ctx.dirOf(controller);
  if (dir === undefined) {
    throw new CgroupError(field, `the ${controller} controller is not mounted on this host (no cgroup v1 hierarchy carries it), so this limit cannot be applied; remove the field or mount the controller`);
  }
  return dir;
}

export function parentDir(dir: string): string {
  return path.posix.dirname(dir);
}

/** One step of a write sequence. */
export interface WriteStep {
  field: string;
  file: string;
  value: string;
  explain?: (code: string | undefined) => string | undefined;
}

/**
 * Write the steps in order. A step the kernel refuses with EINVAL while later
 * steps remain is retried once after them (interdependent values such as
 * period/quota or rt period/runtime, as runc does); any other failure throws.
 */
export function writeSequence(o: ResolvedOptions, steps: WriteStep[]): void {
  const deferred: WriteStep[] = [];
  steps.forEach((s, i) => {
    try {
      writeField(o, s.field, s.file, s.value, s.explain);
    } catch (e) {
      if (e instanceof WriteError && e.code === 'EINVAL' && i < steps.length - 1) deferred.push(s);
      else throw e;
    }
  });
  for (const s of deferred) writeField(o, s.field, s.file, s.value, s.explain);
}

/**
 * Make a cgroup2 controller available in the container's unified dir (hybrid
 * hosts, where some controllers live only in cgroup2). Only berth-owned levels
 * (the berth parent and below) are touched: "+<controller>" is written to their
 * cgroup.subtree_control when the level itself has the controller. If a level
 * berth does not own does not delegate it, this throws a CgroupError.
 */
export function ensureUnifiedController(ctx: V1Context, controller: string, field: string): string {
  const leaf = ctx.unified;
  if (leaf === undefined) {
    throw new CgroupError(field, `the ${controller} controller is not mounted as a cgroup v1 hierarchy and this host has no cgroup2 hierarchy`);
  }
  const has = (dir: string): boolean => (readOptional(ctx.o, joinPath(dir, 'cgroup.controllers')) ?? '').split(/\s+/).includes(controller);
  if (has(leaf)) return leaf;
  const parts = assertManagedPath(ctx.path);
  const anchor = berthAnchorIndex(parts);
  const mount = mountOf(leaf, ctx.path);
  let dir = mount;
  for (let i = 0; i < anchor; i++) dir = joinPath(dir, parts[i]);
  // dir is now the parent of the berth anchor: not ours, only read.
  for (let i = anchor; i < parts.length; i++) {
    const level = joinPath(dir, parts[i]);
    if (!has(level)) {
      const rootAvail = (readOptional(ctx.o, joinPath(mount, 'cgroup.controllers')) ?? '').split(/\s+/).includes(controller);
      throw new CgroupError(
        field,
        rootAvail
          ? `the ${controller} controller is not a cgroup v1 hierarchy on this host and exists only in the cgroup2 hierarchy, where ${joinPath(dir, 'cgroup.subtree_control')} does not enable it for ${level}; berth does not change cgroups it does not own: enable it there (echo +${controller} > ${joinPath(dir, 'cgroup.subtree_control')}, and in every level above) or remove the field`
          : `the ${controller} controller is available neither as a cgroup v1 hierarchy nor in the cgroup2 hierarchy of this host`,
      );
    }
    if (i === parts.length - 1) break;
    const sc = joinPath(level, 'cgroup.subtree_control');
    if (!(readOptional(ctx.o, sc) ?? '').split(/\s+/).includes(controller)) {
      writeField(ctx.o, field, sc, `+${controller}`, (code) =>
        code === 'EBUSY' ? `${level} has processes of its own, so cgroup2 cannot enable controllers for its children (EBUSY)` : undefined,
      );
    }
    dir = level;
  }
  return leaf;
}

/** Non-zero value, or undefined for absent/0 ("not set", as runc treats zero). */
export function nz(v: number | bigint | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  const b = BigInt(v);
  return b === 0n ? undefined : b;
}
