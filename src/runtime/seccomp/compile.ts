// An OCI linux.seccomp profile → a classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER),
// with no libseccomp. The filter means what runc's (libseccomp + runc's -ENOSYS stub) means
// on an x86_64 host; the choices where that is not obvious:
//
// Architectures. The native x86_64 ABI is always in the filter, as libseccomp's seccomp_init()
//   puts it there and runc never removes it; `architectures` adds SCMP_ARCH_X86 (i386,
//   AUDIT_ARCH_I386) and SCMP_ARCH_X32 (AUDIT_ARCH_X86_64 with nr | 0x40000000). Other
//   SCMP_ARCH_* are accepted and have no effect: this kernel never reports them.
// Bad architecture. seccomp_data.arch not in the filter → SECCOMP_RET_KILL_THREAD (0), the
//   action libseccomp uses (SCMP_FLTATR_ACT_BADARCH defaults to SCMP_ACT_KILL) and runc keeps.
// x32 not listed. An AUDIT_ARCH_X86_64 call with the x32 bit is the bad-architecture action,
//   except nr == -1 (0xffffffff, what tracers use to skip a call) which gets the default
//   action, exactly as libseccomp's x86_64 block; so nr | 0x40000000 never slips past an
//   x86_64 rule. x32 listed: x32 numbers get the x32 rules (same names) or the default action.
//   Numbers with bit 31 but not bit 30 (0x80000000..0xbfffffff) are the bad-arch action too,
//   or ENOSYS where runc's stub (below) catches them first.
// Argument width. x86_64 compares all 64 bits (high word, then low); i386 and x32 compare
//   the low 32 bits against the value truncated to 32 bits, as libseccomp's ARCH_SIZE_32.
// MASKED_EQ. value is the mask, valueTwo (default 0) the expected value: (arg & mask) ==
//   (valueTwo & mask). A mask that is 0 (on the compared width) makes the test always true.
// Several conditions of one rule are ANDed — unless two test the same argument: then, as
//   runc and crun do, each condition becomes a rule of its own (ORed).
// Several rules for one syscall: a rule with no conditions (or only always-true ones) wins
//   over every other rule for that syscall (the first such rule, as libseccomp keeps it);
//   otherwise the conditional rules are tried in profile order and the first match decides;
//   none matching → the default action. (libseccomp merges overlapping conditional rules
//   with different actions into a tree of its own, or refuses exact duplicates; profiles
//   like Docker's never have them.)
// A rule whose action (with its errno) equals the default action is skipped (runc does).
// i386 socket and SysV IPC calls: a rule on socket/shmget/... also matches socketcall(2) /
//   ipc(2) with arg0 == the call number (replacing any arg0 condition), as libseccomp does.
// -ENOSYS stub (runc): unless the default action is ALLOW, LOG or TRACE (or already
//   ERRNO(ENOSYS)), a syscall number above the largest one the profile names for that ABI
//   returns ERRNO(ENOSYS), so programs fall back from syscalls newer than the profile. The
//   largest number counts every rule's names (also rules skipped as redundant); an ABI whose
//   largest is 0 gets no stub, like runc. compileSeccomp(p, { enosysStub: false }) omits it.
// Unknown names. A name that is no system call on any Linux architecture is an error; a
//   name of another architecture, or of only one of the listed ABIs, just does not apply
//   where it does not exist (Docker's own profile names riscv_hwprobe, chown32, ...).
// NOTIFY. SECCOMP_FILTER_FLAG_NEW_LISTENER is added and listenerPath required; NOTIFY as
//   the default action or on write(2) is refused, as runc does, and on sendmsg(2) (and i386
//   socketcall(2)), which berth's stage uses to hand the listener over after loading the
//   filter: notified, that call would wait forever. With TSYNC, TSYNC_ESRCH is added: the
//   kernel refuses TSYNC | NEW_LISTENER without it.

import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from '../spec/constants';
import type { LinuxSeccomp, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator } from '../spec/types';
import { FieldError } from '../spec/validate-util';
import {
  AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, BPF_MAXINSNS, ENOSYS, EPERM, OP_AND_K, OP_JA, OP_JEQ_K, OP_JGE_K,
  OP_JGT_K, OP_JSET_K, OP_LD_ABS, OP_RET_K, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_LOG, SECCOMP_RET_TRACE, SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF, X32_SYSCALL_BIT, argHi, argLo, encodeProgram, type SockFilter,
} from './bpf';
import { I386_NR_IPC, I386_NR_SOCKETCALL, IPC_CALLS, isKnownSyscallName, SOCKETCALL_CALLS, SYSCALL_NUMBERS, type X86Abi } from './syscalls';

export interface CompiledSeccomp {
  /** struct sock_filter[] as the kernel takes it (8 bytes an instruction, little-endian). */
  program: Buffer;
  /** For seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). */
  flags: number;
  /** Set when flags has SECCOMP_FILTER_FLAG_NEW_LISTENER: where to send the listener fd. */
  listenerPath?: string;
  listenerMetadata?: string;
}

export interface CompileOptions {
  /** runc's -ENOSYS stub for syscalls above the profile's largest (default true). */
  enosysStub?: boolean;
  /** Prefix of field paths in error messages (default "linux.seccomp"). */
  path?: string;
}

/** A malformed or uncompilable profile; `path` names the field. */
export class SeccompError extends FieldError {
  constructor(path: string, problem: string) {
    super(path, problem);
    this.name = 'SeccompError';
  }
}

/** What the filter returns for an architecture it does not list (libseccomp's default). */
export const BAD_ARCH_RETURN = SECCOMP_RET_KILL_THREAD;
/** What runc's stub returns for syscalls newer than the profile. */
export const ENOSYS_RETURN = (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;

const FLAG_BITS: Readonly<Record<SeccompFlag, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

const ABI_OF: Partial<Record<SeccompArch, X86Abi>> = {
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X32: 'x32',
};

/** The SECCOMP_RET_* value of an action; ERRNO and TRACE carry errnoRet (default EPERM). */
export function actionReturn(action: SeccompAction, errnoRet?: number): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | (errnoRet ?? EPERM)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | (errnoRet ?? EPERM)) >>> 0;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET_USER_NOTIF;
  }
}

// ---- validation ------------------------------------------------------------------------

const U64_MAX = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

function fail(path: string, problem: string): never {
  throw new SeccompError(path, problem);
}
const at = (p: string, i: number): string => `${p}[${i}]`;
const key = (p: string, k: string): string => `${p}.${k}`;
const absent = (v: unknown): v is undefined | null => v === undefined || v === null;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

function oneOf<T extends string>(v: unknown, path: string, list: readonly T[], what: string): T {
  if (typeof v !== 'string' || !(list as readonly string[]).includes(v)) {
    fail(path, `unknown ${what} ${show(v)} (expected one of: ${list.join(', ')})`);
  }
  return v as T;
}

function errnoValue(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) {
    fail(path, `must be an errno number from 0 to 65535 (got ${show(v)})`);
  }
  return v;
}

function u64(v: unknown, path: string): bigint {
  if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return fail(path, `must be an unsigned 64-bit integer (got ${show(v)})`);
}

function list(v: unknown, path: string, what: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be ${what} (got ${show(v)})`);
  return v;
}

/** A validated argument condition. */
interface Cond {
  index: number;
  op: SeccompOperator;
  value: bigint;
  valueTwo: bigint;
}

/** A validated rule; `groups` are its condition sets after runc's same-argument split. */
interface Rule {
  path: string;
  names: string[];
  action: SeccompAction;
  ret: number;
  groups: Cond[][];
}

function actionWithErrno(o: Record<string, unknown>, path: string, actionKey: string, errnoKey: string): { action: SeccompAction; ret: number } {
  const action = oneOf(o[actionKey], key(path, actionKey), SECCOMP_ACTIONS, 'seccomp action');
  const raw = o[errnoKey];
  let errno: number | undefined;
  if (!absent(raw)) {
    errno = errnoValue(raw, key(path, errnoKey));
    if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
      fail(key(path, errnoKey), `can only be used when ${actionKey} is SCMP_ACT_ERRNO or SCMP_ACT_TRACE (it is ${action})`);
    }
  }
  return { action, ret: actionReturn(action, errno) };
}

function validateRule(raw: unknown, path: string): Rule {
  if (!isObj(raw)) fail(path, `must be an object (got ${show(raw)})`);
  const namesRaw = list(raw.names, key(path, 'names'), 'a non-empty array of syscall names');
  if (namesRaw.length === 0) fail(key(path, 'names'), 'must be a non-empty array of syscall names');
  const names = namesRaw.map((n, j) => {
    const p = at(key(path, 'names'), j);
    if (typeof n !== 'string' || n === '') fail(p, `must be a syscall name (got ${show(n)})`);
    if (!isKnownSyscallName(n)) fail(p, `unknown syscall ${JSON.stringify(n)}`);
    return n;
  });
  const { action, ret } = actionWithErrno(raw, path, 'action', 'errnoRet');
  const conds: Cond[] = [];
  if (!absent(raw.args)) {
    list(raw.args, key(path, 'args'), 'an array of {index, value, op} objects').forEach((a, i) => {
      const p = at(key(path, 'args'), i);
      if (!isObj(a)) fail(p, `must be an object (got ${show(a)})`);
      const index = a.index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
        fail(key(p, 'index'), `must be an argument index from 0 to 5 (got ${show(index)})`);
      }
      conds.push({
        index,
        op: oneOf(a.op, key(p, 'op'), SECCOMP_OPERATORS, 'seccomp operator'),
        value: u64(a.value, key(p, 'value')),
        valueTwo: absent(a.valueTwo) ? 0n : u64(a.valueTwo, key(p, 'valueTwo')),
      });
    });
  }
  // runc/crun: when two conditions test the same argument, each becomes a rule of its own.
  const seen = new Set<number>();
  const dup = conds.some((c) => (seen.has(c.index) ? true : (seen.add(c.index), false)));
  const groups = dup ? conds.map((c) => [c]) : [conds];
  return { path, names, action, ret, groups };
}

// ---- the decision model ----------------------------------------------------------------

/** A condition on one ABI: 64-bit (x86_64) or low 32 bits (i386, x32). */
interface AbiCond {
  index: number;
  op: SeccompOperator;
  /** Compared value (MASKED_EQ: expected value & mask), already truncated to the width. */
  value: bigint;
  /** MASKED_EQ only. */
  mask: bigint;
}

interface Entry {
  ret: number;
  conds: AbiCond[];
}

/** What the filter does for one run of syscall numbers. */
type Decision = { ret: number } | { rules: Entry[]; fallback: number; wide: boolean };

interface Segment {
  lo: number;
  hi: number;
  d: Decision;
}

/** Conditions as libseccomp keeps them for an ABI; always-true MASKED_EQ tests dropped. */
function abiConds(conds: readonly Cond[], wide: boolean): AbiCond[] {
  const out: AbiCond[] = [];
  for (const c of conds) {
    const value = wide ? c.value : c.value & M32;
    if (c.op === 'SCMP_CMP_MASKED_EQ') {
      if (value === 0n) continue; // (arg & 0) == 0: always true
      out.push({ index: c.index, op: c.op, mask: value, value: (wide ? c.valueTwo : c.valueTwo & M32) & value });
    } else {
      out.push({ index: c.index, op: c.op, value, mask: 0n });
    }
  }
  return out;
}

/** libseccomp's per-syscall merge: the first unconditional rule wins, else conditions in order. */
function decide(entries: readonly Entry[], fallback: number, wide: boolean): Decision {
  const conditional: Entry[] = [];
  for (const e of entries) {
    if (e.conds.length === 0) return { ret: e.ret };
    conditional.push(e);
  }
  return { rules: conditional, fallback, wide };
}

type Region = [lo: number, hi: number, what: number | 'rules'];

function segments(regions: readonly Region[], table: ReadonlyMap<number, Entry[]>, def: number, wideOf: (nr: number) => boolean): Segment[] {
  const nrs = Float64Array.from(table.keys()).sort(); // numeric order
  const out: Segment[] = [];
  const push = (lo: number, hi: number, d: Decision): void => {
    const prev = out[out.length - 1];
    if (prev !== undefined && 'ret' in prev.d && 'ret' in d && prev.d.ret === d.ret && prev.hi + 1 === lo) prev.hi = hi;
    else out.push({ lo, hi, d });
  };
  const dflt: Decision = { ret: def };
  let j = 0; // regions are in ascending order, so are the numbers
  for (const [lo, hi, what] of regions) {
    if (what !== 'rules') {
      push(lo, hi, { ret: what });
      continue;
    }
    let cur = lo;
    while (j < nrs.length && nrs[j]! < lo) j++;
    for (; j < nrs.length && nrs[j]! <= hi; j++) {
      const nr = nrs[j]!;
      if (nr > cur) push(cur, nr - 1, dflt);
      push(nr, nr, decide(table.get(nr)!, def, wideOf(nr)));
      cur = nr + 1;
    }
    if (cur <= hi) push(cur, hi, dflt);
  }
  return out;
}

// ---- code generation -------------------------------------------------------------------

interface Label {
  insn?: Insn;
}

interface Insn {
  code: number;
  k: number;
  /** Conditional jumps: true/false targets; JA: its target in jt. */
  jt?: Label;
  jf?: Label;
  /** Distance from the end of the program, set by layout(). */
  rpos?: number;
}

class Assembler {
  readonly insns: Insn[] = [];
  private pending: Label[] = [];
  private readonly rets = new Map<number, Label>();

  label(): Label {
    return {};
  }

  /** Bind `l` to the next instruction emitted. */
  here(l: Label): void {
    this.pending.push(l);
  }

  emit(code: number, k: number, jt?: Label, jf?: Label): Insn {
    const insn: Insn = { code, k: k >>> 0 };
    if (jt) insn.jt = jt;
    if (jf) insn.jf = jf;
    for (const l of this.pending) l.insn = insn;
    this.pending = [];
    this.insns.push(insn);
    return insn;
  }

  /** A shared `ret k`, emitted at the end of the program. */
  ret(k: number): Label {
    let l = this.rets.get(k >>> 0);
    if (!l) this.rets.set(k >>> 0, (l = {}));
    return l;
  }

  finish(): Insn[] {
    if (this.pending.length) throw new Error('seccomp compiler: label bound past the end');
    for (const [k, l] of this.rets) {
      this.here(l);
      this.emit(OP_RET_K, k);
    }
    return this.insns;
  }
}

const lo32 = (v: bigint): number => Number(v & M32);
const hi32 = (v: bigint): number => Number((v >> 32n) & M32);

/** Jump to `pass` when the condition holds, else to `fail`. */
function emitCond(a: Assembler, c: AbiCond, wide: boolean, pass: Label, fail: Label): void {
  const i = c.index;
  if (c.op === 'SCMP_CMP_MASKED_EQ') {
    const words: Array<[offset: number, mask: number, want: number]> = [];
    if (wide && hi32(c.mask) !== 0) words.push([argHi(i), hi32(c.mask), hi32(c.value)]);
    if (lo32(c.mask) !== 0) words.push([argLo(i), lo32(c.mask), lo32(c.value)]);
    words.forEach(([off, mask, want], w) => {
      a.emit(OP_LD_ABS, off);
      if (mask !== 0xffffffff) a.emit(OP_AND_K, mask);
      const next = w + 1 < words.length ? a.label() : pass;
      a.emit(OP_JEQ_K, want, next, fail);
      if (next !== pass) a.here(next);
    });
    return;
  }
  const vl = lo32(c.value);
  const low = (): void => {
    a.emit(OP_LD_ABS, argLo(i));
    switch (c.op) {
      case 'SCMP_CMP_EQ': a.emit(OP_JEQ_K, vl, pass, fail); break;
      case 'SCMP_CMP_NE': a.emit(OP_JEQ_K, vl, fail, pass); break;
      case 'SCMP_CMP_GT': a.emit(OP_JGT_K, vl, pass, fail); break;
      case 'SCMP_CMP_GE': a.emit(OP_JGE_K, vl, pass, fail); break;
      case 'SCMP_CMP_LT': a.emit(OP_JGE_K, vl, fail, pass); break;
      case 'SCMP_CMP_LE': a.emit(OP_JGT_K, vl, fail, pass); break;
    }
  };
  if (!wide) return low();
  // 64-bit: decide on the high words, compare the low words only when the high words are equal.
  const vh = hi32(c.value);
  const onLow = a.label();
  a.emit(OP_LD_ABS, argHi(i));
  switch (c.op) {
    case 'SCMP_CMP_EQ': a.emit(OP_JEQ_K, vh, onLow, fail); break;
    case 'SCMP_CMP_NE': a.emit(OP_JEQ_K, vh, onLow, pass); break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      const greater = c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_GE';
      const eq = a.label();
      a.emit(OP_JGT_K, vh, greater ? pass : fail, eq);
      a.here(eq);
      a.emit(OP_JEQ_K, vh, onLow, greater ? fail : pass);
      break;
    }
  }
  a.here(onLow);
  low();
}

function emitRules(a: Assembler, d: { rules: Entry[]; fallback: number; wide: boolean }): void {
  d.rules.forEach((e, r) => {
    const last = r + 1 === d.rules.length;
    const fail = last ? a.ret(d.fallback) : a.label();
    const pass = a.ret(e.ret);
    e.conds.forEach((c, i) => {
      const ok = i + 1 < e.conds.length ? a.label() : pass;
      emitCond(a, c, d.wide, ok, fail);
      if (ok !== pass) a.here(ok);
    });
    if (!last) a.here(fail);
  });
}

/** `ld nr` and a binary search over the segments; rule blocks follow the search. */
function emitSection(a: Assembler, entry: Label, segs: readonly Segment[]): void {
  const blocks: Array<[Label, Extract<Decision, { rules: Entry[] }>]> = [];
  const leaf = (s: Segment): Label => {
    if ('ret' in s.d) return a.ret(s.d.ret);
    const l = a.label();
    blocks.push([l, s.d]);
    return l;
  };
  const tree = (lo: number, hi: number): Label => {
    if (lo === hi) return leaf(segs[lo]!);
    const mid = (lo + hi + 1) >> 1;
    const l = a.label();
    a.here(l);
    const node = a.emit(OP_JGE_K, segs[mid]!.lo);
    node.jf = tree(lo, mid - 1);
    node.jt = tree(mid, hi);
    return l;
  };
  a.here(entry);
  a.emit(OP_LD_ABS, SECCOMP_DATA_NR);
  if (segs.length === 1) a.emit(OP_JA, 0, leaf(segs[0]!));
  else tree(0, segs.length - 1);
  for (const [l, d] of blocks) {
    a.here(l);
    emitRules(a, d);
  }
}

const isCondJump = (code: number): boolean =>
  code === OP_JEQ_K || code === OP_JGT_K || code === OP_JGE_K || code === OP_JSET_K;

/**
 * Lay the program out backwards from its end, so every target's distance is final when a jump
 * is placed: a conditional jump whose target is more than 255 instructions ahead gets a
 * trampoline right after it — a copy of the target when that is a `ret` (or the nearest
 * copy still in reach), else `ja` with its 32-bit offset.
 */
function layout(insns: readonly Insn[]): SockFilter[] {
  const placed: Insn[] = []; // reversed
  const nearestRet = new Map<number, number>(); // ret k → rpos of the closest copy placed so far
  const place = (x: Insn): void => {
    x.rpos = placed.length;
    placed.push(x);
    if (x.code === OP_RET_K) nearestRet.set(x.k, x.rpos);
  };
  const target = (l: Label | undefined): Insn => {
    const t = l?.insn;
    if (t?.rpos === undefined) throw new Error('seccomp compiler: jump to an unbound or earlier instruction');
    return t;
  };
  for (let i = insns.length - 1; i >= 0; i--) {
    const x = insns[i]!;
    if (!isCondJump(x.code)) {
      if (x.code === OP_JA) target(x.jt);
      place(x);
      continue;
    }
    // Decide against the farthest x can end up (after two trampolines): nearer only helps.
    const worst = placed.length + 2;
    const tramps: Array<['jt' | 'jf', Insn]> = [];
    for (const side of ['jt', 'jf'] as const) {
      const t = target(x[side]);
      if (worst - t.rpos! - 1 <= 255) continue;
      if (t.code === OP_RET_K) {
        const near = nearestRet.get(t.k)!;
        if (worst - near - 1 <= 255) {
          x[side] = { insn: placed[near]! };
          continue;
        }
        tramps.push([side, { code: OP_RET_K, k: t.k }]);
      } else {
        tramps.push([side, { code: OP_JA, k: 0, jt: { insn: t } }]);
      }
    }
    // Forward order x, tramp(jt), tramp(jf): place them backwards.
    for (let j = tramps.length - 1; j >= 0; j--) {
      const [side, tr] = tramps[j]!;
      place(tr);
      x[side] = { insn: tr };
    }
    place(x);
  }
  const n = placed.length;
  const out: SockFilter[] = new Array(n);
  for (let r = 0; r < n; r++) {
    const x = placed[r]!;
    const off = (l: Label | undefined): number => r - target(l).rpos! - 1;
    if (x.code === OP_JA) out[n - 1 - r] = { code: OP_JA, jt: 0, jf: 0, k: off(x.jt) };
    else if (isCondJump(x.code)) out[n - 1 - r] = { code: x.code, jt: off(x.jt), jf: off(x.jf), k: x.k };
    else out[n - 1 - r] = { code: x.code, jt: 0, jf: 0, k: x.k };
  }
  return out;
}

// ---- the compiler ----------------------------------------------------------------------

const ALLOWISH: readonly SeccompAction[] = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'];
/** runc refuses NOTIFY on write(2); berth's stage sends the listener with sendmsg(2) (socketcall on i386). */
const NOTIFY_REFUSED: readonly string[] = ['write', 'sendmsg', 'socketcall'];

export function compileSeccomp(profile: LinuxSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  const P = opts.path ?? 'linux.seccomp';
  const raw = profile as unknown;
  if (!isObj(raw)) fail(P, `must be an object (got ${show(raw)})`);

  const { action: defaultAction, ret: def } = actionWithErrno(raw, P, 'defaultAction', 'defaultErrnoRet');
  if (defaultAction === 'SCMP_ACT_NOTIFY') {
    fail(key(P, 'defaultAction'), 'SCMP_ACT_NOTIFY cannot be the default action (the runtime itself needs write(2) to hand over the listener)');
  }

  const abis = new Set<X86Abi>(['x86_64']);
  if (!absent(raw.architectures)) {
    list(raw.architectures, key(P, 'architectures'), 'an array of SCMP_ARCH_* names').forEach((a, i) => {
      const abi = ABI_OF[oneOf(a, at(key(P, 'architectures'), i), SECCOMP_ARCHES, 'architecture')];
      if (abi) abis.add(abi);
    });
  }

  let flags = 0;
  const flagPaths: Partial<Record<SeccompFlag, string>> = {};
  if (!absent(raw.flags)) {
    list(raw.flags, key(P, 'flags'), 'an array of SECCOMP_FILTER_FLAG_* names').forEach((f, i) => {
      const flag = oneOf(f, at(key(P, 'flags'), i), SECCOMP_FLAGS, 'seccomp flag');
      flags |= FLAG_BITS[flag];
      flagPaths[flag] = at(key(P, 'flags'), i);
    });
  }

  const rules = absent(raw.syscalls)
    ? []
    : list(raw.syscalls, key(P, 'syscalls'), 'an array of syscall rules').map((r, i) => validateRule(r, at(key(P, 'syscalls'), i)));

  for (const k of ['listenerPath', 'listenerMetadata'] as const) {
    if (!absent(raw[k]) && typeof raw[k] !== 'string') fail(key(P, k), `must be a string (got ${show(raw[k])})`);
  }
  const listenerPath = absent(raw.listenerPath) ? undefined : (raw.listenerPath as string);
  const listenerMetadata = absent(raw.listenerMetadata) ? undefined : (raw.listenerMetadata as string);
  if (listenerMetadata !== undefined && !listenerPath) fail(key(P, 'listenerMetadata'), 'must not be set without listenerPath');

  const notify = rules.filter((r) => r.action === 'SCMP_ACT_NOTIFY');
  for (const r of notify) {
    // Between loading the filter and handing the listener to the agent, the runtime itself
    // makes these calls: notified, they would wait for an agent that has no fd yet.
    const j = r.names.findIndex((n) => NOTIFY_REFUSED.includes(n));
    if (j >= 0) {
      fail(at(key(r.path, 'names'), j), `SCMP_ACT_NOTIFY cannot be used for ${r.names[j]} (the runtime needs it to hand over the listener)`);
    }
  }
  if (notify.length > 0) {
    if (!listenerPath) fail(key(P, 'listenerPath'), `is required: ${notify[0]!.path} uses SCMP_ACT_NOTIFY`);
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    fail(flagPaths.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!, 'needs a rule with SCMP_ACT_NOTIFY (the kernel refuses it without a listener)');
  }

  // Entries per syscall number in profile order: AUDIT_ARCH_X86_64 (x86_64, and x32 numbers
  // with their bit) and AUDIT_ARCH_I386. And the largest number each ABI resolves (the stub).
  const hasX86 = abis.has('x86');
  const hasX32 = abis.has('x32');
  const t64 = new Map<number, Entry[]>();
  const t86 = new Map<number, Entry[]>();
  let last64 = -1;
  let last32 = -1;
  let last86 = -1;
  const add = (t: Map<number, Entry[]>, nr: number, e: Entry): void => {
    const l = t.get(nr);
    if (l) l.push(e);
    else t.set(nr, [e]);
  };
  const N64 = SYSCALL_NUMBERS.x86_64;
  const N32 = SYSCALL_NUMBERS.x32;
  const N86 = SYSCALL_NUMBERS.x86;
  for (const r of rules) {
    const redundant = r.ret === def; // same as the default action: no rule needed
    // One entry per condition group, shared by every name of the rule (entries are immutable).
    const wide = redundant ? [] : r.groups.map((g): Entry => ({ ret: r.ret, conds: abiConds(g, true) }));
    const narrow = redundant || !(hasX86 || hasX32) ? [] : r.groups.map((g): Entry => ({ ret: r.ret, conds: abiConds(g, false) }));
    for (const name of r.names) {
      const n64 = N64.get(name);
      if (n64 !== undefined) {
        if (n64 > last64) last64 = n64;
        for (const e of wide) add(t64, n64, e);
      }
      if (hasX32) {
        const n32 = N32.get(name);
        if (n32 !== undefined) {
          if (n32 > last32) last32 = n32;
          for (const e of narrow) add(t64, n32, e);
        }
      }
      if (hasX86) {
        const n86 = N86.get(name);
        const sock = SOCKETCALL_CALLS.get(name);
        const mux = sock ?? IPC_CALLS.get(name);
        if (mux === undefined && n86 !== undefined && n86 > last86) last86 = n86; // libseccomp resolves muxed names to pseudo-numbers
        if (redundant) continue;
        if (mux !== undefined) {
          // socketcall(2)/ipc(2) with arg0 == the call, which replaces the rule's own arg0 test
          const call: Cond = { index: 0, op: 'SCMP_CMP_EQ', value: BigInt(mux), valueTwo: 0n };
          const muxNr = sock !== undefined ? I386_NR_SOCKETCALL : I386_NR_IPC;
          for (const g of r.groups) add(t86, muxNr, { ret: r.ret, conds: abiConds([call, ...g.filter((c) => c.index !== 0)], false) });
        }
        if (n86 !== undefined) for (const e of narrow) add(t86, n86, e);
      }
    }
  }

  const stub = opts.enosysStub !== false && !ALLOWISH.includes(defaultAction) && def !== ENOSYS_RETURN;
  // runc skips an ABI whose largest number is 0 ("no syscalls found"), so a profile naming only read(2) gets no stub.
  const stubAt = (lastNr: number): number | undefined => (stub && lastNr > 0 ? lastNr : undefined);

  // AUDIT_ARCH_X86_64: x86_64, and x32 when listed.
  const r64: Region[] = [];
  const l64 = stubAt(last64);
  const lowHalf = (lo: number, hi: number, lastNr: number | undefined): void => {
    if (lastNr === undefined) r64.push([lo, hi, 'rules']);
    else {
      r64.push([lo, lastNr, 'rules']);
      if (lastNr < hi) r64.push([lastNr + 1, hi, ENOSYS_RETURN]);
    }
  };
  if (!hasX32) {
    lowHalf(0, 0x3fffffff, l64);
    r64.push([0x40000000, 0x7fffffff, BAD_ARCH_RETURN]);
    r64.push([0x80000000, 0xbfffffff, l64 === undefined ? BAD_ARCH_RETURN : ENOSYS_RETURN]);
    r64.push([0xc0000000, 0xfffffffe, BAD_ARCH_RETURN]);
    r64.push([0xffffffff, 0xffffffff, def]);
  } else {
    const l32 = stubAt(last32);
    lowHalf(0, 0x3fffffff, l64);
    lowHalf(0x40000000, 0x7fffffff, l32);
    r64.push([0x80000000, 0xbfffffff, l64 === undefined ? 'rules' : ENOSYS_RETURN]);
    r64.push([0xc0000000, 0xffffffff, l32 === undefined ? 'rules' : ENOSYS_RETURN]);
  }
  const segs64 = segments(r64, t64, def, (nr) => (nr & X32_SYSCALL_BIT) === 0);

  const a = new Assembler();
  const bad = a.ret(BAD_ARCH_RETURN);
  const s64 = a.label();
  a.emit(OP_LD_ABS, SECCOMP_DATA_ARCH);
  if (hasX86) {
    const s86 = a.label();
    const next = a.label();
    a.emit(OP_JEQ_K, AUDIT_ARCH_X86_64, s64, next);
    a.here(next);
    a.emit(OP_JEQ_K, AUDIT_ARCH_I386, s86, bad);
    emitSection(a, s64, segs64);
    const l86 = stubAt(last86);
    const r86: Region[] = l86 === undefined ? [[0, 0xffffffff, 'rules']] : [[0, l86, 'rules'], [l86 + 1, 0xffffffff, ENOSYS_RETURN]];
    emitSection(a, s86, segments(r86, t86, def, () => false));
  } else {
    a.emit(OP_JEQ_K, AUDIT_ARCH_X86_64, s64, bad);
    emitSection(a, s64, segs64);
  }
  const insns = layout(a.finish());
  if (insns.length > BPF_MAXINSNS) {
    fail(P, `compiles to ${insns.length} BPF instructions; the kernel accepts at most ${BPF_MAXINSNS}`);
  }

  const out: CompiledSeccomp = { program: encodeProgram(insns), flags };
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
    out.listenerPath = listenerPath!;
    if (listenerMetadata !== undefined) out.listenerMetadata = listenerMetadata;
  }
  return out;
}
