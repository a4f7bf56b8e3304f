// A direct evaluator of a seccomp profile's meaning — no BPF — for the tests: what a filter
// compiled from `profile` must return for one system call. It restates the semantics
// documented at the top of compile.ts from the profile itself, so the compiler's search
// trees, long jumps and 64-bit comparison sequences can be checked against it.
// Expects a valid profile (compileSeccomp validates).

import type { LinuxSeccomp, LinuxSeccompArg, SeccompAction } from '../spec/types';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64 } from './bpf';
import { SYSCALLS_I386 } from './syscalls-i386';
import { SYSCALLS_X32 } from './syscalls-x32';
import { SYSCALLS_X86_64 } from './syscalls-x86_64';

type Abi = 'x86_64' | 'x86' | 'x32';

const RET: Record<SeccompAction, number> = {
  SCMP_ACT_KILL: 0, SCMP_ACT_KILL_THREAD: 0, SCMP_ACT_KILL_PROCESS: 0x80000000, SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000, SCMP_ACT_TRACE: 0x7ff00000, SCMP_ACT_LOG: 0x7ffc0000, SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};
const retOf = (a: SeccompAction, errno: number | undefined): number =>
  a === 'SCMP_ACT_ERRNO' || a === 'SCMP_ACT_TRACE' ? RET[a] + (errno ?? 1) : RET[a];

const BAD_ARCH = 0; // SECCOMP_RET_KILL_THREAD
const ENOSYS_RET = 0x00050000 + 38;

const SOCK = ['socket', 'bind', 'connect', 'listen', 'accept', 'getsockname', 'getpeername', 'socketpair', 'send',
  'recv', 'sendto', 'recvfrom', 'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg', 'accept4', 'recvmmsg',
  'sendmmsg'];
const IPC: Record<string, number> = {
  semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14, shmat: 21, shmdt: 22,
  shmget: 23, shmctl: 24,
};

function number(name: string, abi: Abi): number | undefined {
  const t = abi === 'x86_64' ? SYSCALLS_X86_64 : abi === 'x86' ? SYSCALLS_I386 : SYSCALLS_X32;
  return Object.prototype.hasOwnProperty.call(t, name) ? t[name] : undefined;
}

/** (nr, replacement arg0 value or undefined) pairs a name stands for on an ABI. */
function where(name: string, abi: Abi): Array<[number, number | undefined]> {
  const out: Array<[number, number | undefined]> = [];
  if (abi === 'x86') {
    const s = SOCK.indexOf(name);
    if (s >= 0) out.push([102, s + 1]);
    if (IPC[name] !== undefined) out.push([117, IPC[name]]);
  }
  const n = number(name, abi);
  if (n !== undefined) out.push([n, undefined]);
  return out;
}

const big = (v: number | bigint | undefined): bigint => BigInt(v ?? 0);

function holds(c: LinuxSeccompArg, args: readonly bigint[], wide: boolean): boolean {
  const w = wide ? (1n << 64n) - 1n : 0xffffffffn;
  const a = BigInt.asUintN(64, args[c.index] ?? 0n) & w;
  const v = big(c.value) & w;
  switch (c.op) {
    case 'SCMP_CMP_EQ': return a === v;
    case 'SCMP_CMP_NE': return a !== v;
    case 'SCMP_CMP_LT': return a < v;
    case 'SCMP_CMP_LE': return a <= v;
    case 'SCMP_CMP_GT': return a > v;
    case 'SCMP_CMP_GE': return a >= v;
    case 'SCMP_CMP_MASKED_EQ': return (a & v) === (big(c.valueTwo) & v);
  }
}

const alwaysTrue = (c: LinuxSeccompArg, wide: boolean): boolean =>
  c.op === 'SCMP_CMP_MASKED_EQ' && (big(c.value) & (wide ? (1n << 64n) - 1n : 0xffffffffn)) === 0n;

export interface ReferenceQuery {
  nr: number;
  arch: number;
  args?: readonly bigint[];
}

export function referenceEval(profile: LinuxSeccomp, q: ReferenceQuery, opts: { enosysStub?: boolean } = {}): number {
  const def = retOf(profile.defaultAction, profile.defaultErrnoRet);
  const listed = new Set(profile.architectures ?? []);
  const has = (abi: Abi): boolean =>
    abi === 'x86_64' || (abi === 'x86' ? listed.has('SCMP_ARCH_X86') : listed.has('SCMP_ARCH_X32'));
  const rules = profile.syscalls ?? [];
  const stub = opts.enosysStub !== false &&
    !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction) && def !== ENOSYS_RET;
  const last = (abi: Abi): number | undefined => {
    if (!stub) return undefined;
    let m: number | undefined;
    for (const r of rules) {
      for (const n of r.names) {
        if (abi === 'x86' && (SOCK.includes(n) || IPC[n] !== undefined)) continue;
        const v = number(n, abi);
        if (v !== undefined && (m === undefined || v > m)) m = v;
      }
    }
    return m === 0 ? undefined : m; // runc: largest 0 means no syscalls found, no stub
  };
  const nr = q.nr >>> 0;
  const args = q.args ?? [];

  const evalRules = (abi: Abi): number => {
    const wide = abi === 'x86_64';
    let uncond: number | undefined;
    const conditional: Array<{ ret: number; conds: LinuxSeccompArg[] }> = [];
    for (const r of rules) {
      const ret = retOf(r.action, r.errnoRet);
      if (ret === def) continue;
      const conds = r.args ?? [];
      const indexes = conds.map((c) => c.index);
      const groups = new Set(indexes).size < indexes.length ? conds.map((c) => [c]) : [conds];
      for (const name of r.names) {
        for (const [n, arg0] of where(name, abi)) {
          if (n !== nr) continue;
          for (const g of groups) {
            let cs = arg0 === undefined ? g : [{ index: 0, op: 'SCMP_CMP_EQ' as const, value: arg0 }, ...g.filter((c) => c.index !== 0)];
            cs = cs.filter((c) => !alwaysTrue(c, wide));
            if (cs.length === 0) uncond ??= ret;
            else conditional.push({ ret, conds: cs });
          }
        }
      }
    }
    if (uncond !== undefined) return uncond;
    for (const e of conditional) if (e.conds.every((c) => holds(c, args, wide))) return e.ret;
    return def;
  };

  if (q.arch >>> 0 === AUDIT_ARCH_X86_64) {
    const x32 = (nr & 0x40000000) !== 0;
    const l64 = last('x86_64');
    if (!has('x32')) {
      if (x32) return nr === 0xffffffff ? def : BAD_ARCH;
      if (l64 !== undefined && nr > l64) return ENOSYS_RET;
      if (nr >= 0x80000000) return BAD_ARCH;
      return evalRules('x86_64');
    }
    if (x32) {
      const l32 = last('x32');
      if (l32 !== undefined && nr > l32) return ENOSYS_RET;
      return evalRules('x32');
    }
    if (l64 !== undefined && nr > l64) return ENOSYS_RET;
    return evalRules('x86_64');
  }
  if (q.arch >>> 0 === AUDIT_ARCH_I386 && has('x86')) {
    const l86 = last('x86');
    if (l86 !== undefined && nr > l86) return ENOSYS_RET;
    return evalRules('x86');
  }
  return BAD_ARCH;
}
