// Typed readers for untrusted config.json values. Each reader checks one
// value and throws FieldError naming its path; validateSpec turns that into
// a SpecError carrying the file name. JSON null counts as absent, as it does
// for Go's encoding/json (which runc uses).

import type { Int64, LinuxIDMapping } from './types';

/** A problem at one field path, before the file name is known. */
export class FieldError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'FieldError';
  }
}

export type Obj = Record<string, unknown>;

export function fail(path: string, problem: string): never {
  throw new FieldError(path, problem);
}

/** Path of a property: a.b for identifiers, a["x.y"] for other keys. */
export function key(path: string, name: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(name)) return path ? `${path}.${name}` : name;
  return `${path}[${JSON.stringify(name)}]`;
}

export function at(path: string, index: number): string {
  return `${path}[${index}]`;
}

export function isAbsent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** What a value is, for "(got …)" in messages. */
export function got(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? 'a string' : `string ${JSON.stringify(v)}`;
    case 'number':
    case 'bigint':
      return `${v}`;
    case 'boolean':
      return `${v}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

export function oneOf(list: readonly string[]): string {
  return `expected one of: ${list.join(', ')}`;
}

// ---- plain types -----------------------------------------------------------

export function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `must be an object (got ${got(v)})`);
  return v as Obj;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `must be a string (got ${got(v)})`);
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `must be a boolean (got ${got(v)})`);
  return v;
}

export function arr(v: unknown, path: string, what = 'an array'): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be ${what} (got ${got(v)})`);
  return v;
}

export function strArray(v: unknown, path: string): string[] {
  return arr(v, path, 'an array of strings').map((s, i) => str(s, at(path, i)));
}

export function enumStr<T extends string>(v: unknown, path: string, allowed: readonly T[], what = 'value'): T {
  const s = str(v, path);
  if (!(allowed as readonly string[]).includes(s)) fail(path, `unknown ${what} ${JSON.stringify(s)} (${oneOf(allowed)})`);
  return s as T;
}

/** Absolute POSIX path (a leading "/"); NUL bytes cannot reach the kernel. */
export function absPath(v: unknown, path: string): string {
  const s = str(v, path);
  if (!s.startsWith('/')) fail(path, `must be an absolute path (got ${got(s)})`);
  noNul(s, path);
  return s;
}

export function noNul(s: string, path: string): void {
  if (s.includes('\0')) fail(path, 'must not contain NUL bytes');
}

/** Set an own property; plain assignment to "__proto__" would swap the prototype. */
export function setOwn<T>(o: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
  else o[name] = value;
}

/** Object whose values are all strings (annotations, sysctl, unified). */
export function strMap(v: unknown, path: string): Record<string, string> {
  const o = obj(v, path);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) setOwn(out, k, str(val, key(path, k)));
  return out;
}

// ---- integers --------------------------------------------------------------

const RANGES = {
  uint16: [0n, 0xffffn],
  uint32: [0n, 0xffffffffn],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
} as const;
export type IntKind = keyof typeof RANGES;

function checkInt(v: unknown, path: string, lo: bigint, hi: bigint): void {
  // Unsafe numbers (e.g. 1e20) are rejected: they may already be rounded.
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) {
    const b = BigInt(v);
    if (b >= lo && b <= hi) return;
  }
  fail(path, `must be an integer between ${lo} and ${hi} (got ${got(v)})`);
}

/** A 64-bit integer: number when safe, bigint otherwise (see Int64). */
export function int64(v: unknown, path: string, kind: 'uint64' | 'int64'): Int64 {
  const [lo, hi] = RANGES[kind];
  checkInt(v, path, lo, hi);
  return v as Int64;
}

/** An integer that fits a JS number: a 16/32-bit kind or an explicit range. */
export function int(v: unknown, path: string, kind: Exclude<IntKind, 'uint64' | 'int64'> | [number, number]): number {
  const [lo, hi] = Array.isArray(kind) ? kind.map(BigInt) : RANGES[kind];
  checkInt(v, path, lo!, hi!);
  return v as number;
}

// ---- optional fields -------------------------------------------------------

/**
 * Read o[name] with reader when present; returns undefined when absent or
 * null. Use: `opt(o, 'hostname', path, str)`.
 */
export function opt<T>(o: Obj, name: string, path: string, reader: (v: unknown, p: string) => T): T | undefined {
  const v = o[name];
  return isAbsent(v) ? undefined : reader(v, key(path, name));
}

/** Read o[name], failing with "is required" when absent or null. */
export function req<T>(o: Obj, name: string, path: string, reader: (v: unknown, p: string) => T): T {
  const v = o[name];
  if (isAbsent(v)) fail(key(path, name), 'is required');
  return reader(v, key(path, name));
}

/** Delete keys whose value is undefined (in place), so output has no undefined keys. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// ---- ID mappings (linux.uidMappings, mounts[].uidMappings) -----------------

/** Kernel limit on extents in uid_map / gid_map (since Linux 4.15). */
const MAX_ID_EXTENTS = 340;
const MAX_ID = 0xffffffff;

/**
 * An ID mapping list: sizes >= 1, no range past the 32-bit ID space (the
 * kernel rejects a range that wraps or includes (u32)-1), and neither the
 * container ranges nor the host ranges may overlap each other.
 */
export function idMappings(v: unknown, path: string): LinuxIDMapping[] {
  const list = arr(v, path, 'an array of {containerID, hostID, size} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const m: LinuxIDMapping = {
      containerID: req(o, 'containerID', p, (x, q) => int(x, q, 'uint32')),
      hostID: req(o, 'hostID', p, (x, q) => int(x, q, 'uint32')),
      size: req(o, 'size', p, (x, q) => int(x, q, [1, MAX_ID])),
    };
    for (const f of ['containerID', 'hostID'] as const) {
      if (m[f] + m.size > MAX_ID) {
        fail(key(p, 'size'), `${f} ${m[f]} + size ${m.size} runs past the largest ID ${MAX_ID - 1}`);
      }
    }
    return m;
  });
  if (list.length > MAX_ID_EXTENTS) fail(path, `has ${list.length} entries; the kernel allows at most ${MAX_ID_EXTENTS}`);
  for (const f of ['containerID', 'hostID'] as const) {
    for (let i = 0; i < list.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a[f] < b[f] + b.size && b[f] < a[f] + a.size) {
          const side = f === 'containerID' ? 'container' : 'host';
          fail(at(path, i), `${side} ID range ${a[f]}-${a[f] + a.size - 1} overlaps ${at(path, j)} (${b[f]}-${b[f] + b.size - 1})`);
        }
      }
    }
  }
  return list;
}
