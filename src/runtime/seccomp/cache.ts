// Compiled filters by content: the sha256 of the profile's canonical JSON (plus the compiler's
// fingerprint) → the program, in memory and optionally in a directory:
//   <dir>/<sha256>.bpf    the raw struct sock_filter[] (loadable as is)
//   <dir>/<sha256>.json   {"flags", "listenerPath"?, "listenerMetadata"?, "programSha256"}
// each written to a temporary file and renamed into place. A file that does not check out
// (size, sha256, JSON) is a miss and is rewritten. The directory must be trusted: it is
// created 0700 and refused unless it is a real directory owned by us and writable by no one
// else, since whoever can write it decides the filter of every container that hits the cache.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LinuxSeccomp } from '../spec/types';
import { BPF_MAXINSNS, SOCK_FILTER_SIZE } from './bpf';
import { compileSeccomp, type CompiledSeccomp, type CompileOptions } from './compile';

export interface CachedSeccomp extends CompiledSeccomp {
  /** Cache key: sha256 over the compiler fingerprint and the canonical profile. */
  key: string;
  /** Where the program came from. */
  source: 'memory' | 'disk' | 'compiled';
}

/** JSON with object keys sorted, bigints as plain integers, absent/null members dropped. */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('seccomp profile: not a finite number');
    return JSON.stringify(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  throw new Error(`seccomp profile: cannot hash a ${typeof v}`);
}

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

let fingerprint: string | undefined;
/**
 * sha256 of what this compiler makes of a profile that uses every feature: any change in the
 * generated code changes every cache key, so an upgraded berth never loads an old program.
 */
function compilerFingerprint(): string {
  if (fingerprint === undefined) {
    const probe: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        { names: ['read', 'write', 'socket', 'shmget', 'rt_sigaction'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['mmap'], action: 'SCMP_ACT_TRACE', args: [{ index: 1, value: 2n ** 40n, op: 'SCMP_CMP_GT' }, { index: 2, value: 7, op: 'SCMP_CMP_LE' }] },
        { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 9, op: 'SCMP_CMP_NE' }, { index: 1, value: 1, op: 'SCMP_CMP_GE' }] },
        { names: ['getpid'], action: 'SCMP_ACT_TRAP' }, { names: ['getppid'], action: 'SCMP_ACT_LOG', args: [{ index: 5, value: 3, op: 'SCMP_CMP_LT' }] },
      ],
    };
    fingerprint = sha256(compileSeccomp(probe).program);
  }
  return fingerprint;
}

export function seccompCacheKey(profile: LinuxSeccomp, opts: CompileOptions = {}): string {
  return sha256(`berth-seccomp\n${compilerFingerprint()}\n${opts.enosysStub !== false}\n${canonicalJson(profile)}`);
}

interface Entry {
  program: Buffer;
  flags: number;
  listenerPath?: string;
  listenerMetadata?: string;
}

const MAX_MEMORY_ENTRIES = 64;
const memory = new Map<string, Entry>();

/** Forget the in-memory cache (tests, benchmarks). */
export function clearSeccompMemoryCache(): void {
  memory.clear();
}

function remember(key: string, e: Entry): void {
  memory.delete(key);
  memory.set(key, e);
  while (memory.size > MAX_MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
}

function result(key: string, e: Entry, source: CachedSeccomp['source']): CachedSeccomp {
  const out: CachedSeccomp = { program: Buffer.from(e.program), flags: e.flags, key, source };
  if (e.listenerPath !== undefined) out.listenerPath = e.listenerPath;
  if (e.listenerMetadata !== undefined) out.listenerMetadata = e.listenerMetadata;
  return out;
}

function trustedDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.geteuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new Error(
      `seccomp cache directory ${dir} must be a directory owned by uid ${uid} and writable by no one else ` +
        `(it is ${st.isDirectory() ? `mode ${(st.mode & 0o7777).toString(8)}, uid ${st.uid}` : 'not a directory'})`,
    );
  }
}

function readDisk(dir: string, key: string): Entry | undefined {
  let program: Buffer;
  let meta: unknown;
  try {
    program = fs.readFileSync(path.join(dir, `${key}.bpf`));
    meta = JSON.parse(fs.readFileSync(path.join(dir, `${key}.json`), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Record<string, unknown>;
  if (
    program.length === 0 || program.length % SOCK_FILTER_SIZE !== 0 || program.length > BPF_MAXINSNS * SOCK_FILTER_SIZE ||
    m.programSha256 !== sha256(program) || !Number.isInteger(m.flags) ||
    (m.listenerPath !== undefined && typeof m.listenerPath !== 'string') ||
    (m.listenerMetadata !== undefined && typeof m.listenerMetadata !== 'string')
  ) {
    return undefined;
  }
  const e: Entry = { program, flags: m.flags as number };
  if (typeof m.listenerPath === 'string') e.listenerPath = m.listenerPath;
  if (typeof m.listenerMetadata === 'string') e.listenerMetadata = m.listenerMetadata;
  return e;
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function writeDisk(dir: string, key: string, e: Entry): void {
  const meta: Record<string, unknown> = { flags: e.flags, programSha256: sha256(e.program) };
  if (e.listenerPath !== undefined) meta.listenerPath = e.listenerPath;
  if (e.listenerMetadata !== undefined) meta.listenerMetadata = e.listenerMetadata;
  // The metadata first: a .bpf without its .json is a miss, never a half entry.
  writeAtomic(path.join(dir, `${key}.json`), `${JSON.stringify(meta)}\n`);
  writeAtomic(path.join(dir, `${key}.bpf`), e.program);
}

/**
 * compileSeccomp() through the cache. Errors of a bad profile are not cached (the profile is
 * compiled again, and fails again, next time).
 */
export function compileCached(profile: LinuxSeccomp, cacheDir?: string, opts: CompileOptions = {}): CachedSeccomp {
  const key = seccompCacheKey(profile, opts);
  const hit = memory.get(key);
  if (hit) {
    remember(key, hit);
    return result(key, hit, 'memory');
  }
  if (cacheDir !== undefined) {
    trustedDir(cacheDir);
    const e = readDisk(cacheDir, key);
    if (e) {
      remember(key, e);
      return result(key, e, 'disk');
    }
  }
  const c = compileSeccomp(profile, opts);
  const e: Entry = { program: c.program, flags: c.flags };
  if (c.listenerPath !== undefined) e.listenerPath = c.listenerPath;
  if (c.listenerMetadata !== undefined) e.listenerMetadata = c.listenerMetadata;
  remember(key, e);
  if (cacheDir !== undefined) {
    try {
      writeDisk(cacheDir, key, e);
    } catch {
      // A cache that cannot be written (full, read-only) costs the next compile, nothing else.
    }
  }
  return result(key, e, 'compiled');
}
