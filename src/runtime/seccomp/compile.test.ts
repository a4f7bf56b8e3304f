import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompAction, SeccompArch, SeccompOperator } from '../spec/types';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, decodeProgram, disassemble, OP_JA, OP_RET_K } from './bpf';
import { BAD_ARCH_RETURN, compileSeccomp, ENOSYS_RETURN, SeccompError, type CompiledSeccomp } from './compile';
import { checkFilter, runFilter } from './interp';
import { referenceEval } from './reference';
import { SYSCALL_NUMBERS, type X86Abi } from './syscalls';

const X64 = AUDIT_ARCH_X86_64;
const I386 = AUDIT_ARCH_I386;
const AARCH64 = 0xc00000b7;
const X32 = 0x40000000;
const nr = (name: string, abi: X86Abi = 'x86_64'): number => {
  const n = SYSCALL_NUMBERS[abi].get(name);
  assert.ok(n !== undefined, `${name} on ${abi}`);
  return n;
};
const run = (c: CompiledSeccomp, n: number, args: readonly bigint[] = [], arch = X64): number =>
  runFilter(c.program, { nr: n, arch, args });
const allow = (syscalls: LinuxSyscall[], extra: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls,
  ...extra,
});
const ERRNO = (e: number): number => 0x00050000 + e;
const ALLOW = 0x7fff0000;

describe('syscall tables', () => {
  it('have the well-known numbers of each ABI', () => {
    assert.equal(nr('read'), 0);
    assert.equal(nr('mkdir'), 83);
    assert.equal(nr('personality'), 135);
    assert.equal(nr('keyctl'), 250);
    assert.equal(nr('clone3'), 435);
    assert.equal(nr('mkdir', 'x86'), 39);
    assert.equal(nr('socketcall', 'x86'), 102);
    assert.equal(nr('socket', 'x86'), 359);
    assert.equal(nr('chown32', 'x86'), 212);
    assert.equal(nr('mkdir', 'x32'), X32 | 83);
    assert.equal(nr('rt_sigaction', 'x32'), X32 | 512);
    assert.equal(nr('pwritev2', 'x32'), X32 | 547);
    assert.equal(SYSCALL_NUMBERS.x32.get('uselib'), undefined, '"64"-only entries are not x32 syscalls');
    assert.equal(SYSCALL_NUMBERS.x86_64.get('chown32'), undefined);
  });

  it('x32 numbers are the x86_64 common ones with the x32 bit, or x32 entries 512..547', () => {
    for (const [name, n] of SYSCALL_NUMBERS.x32) {
      assert.ok(n & X32, name);
      const plain = n & ~X32;
      if (plain < 512 || plain > 547) assert.equal(SYSCALL_NUMBERS.x86_64.get(name), plain, name);
    }
  });

  it('lookups cannot reach Object.prototype', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.throws(() => compileSeccomp(allow([{ names: [name], action: 'SCMP_ACT_ERRNO' }])), /unknown syscall/);
    }
  });
});

describe('actions', () => {
  const cases: Array<[SeccompAction, number | undefined, number]> = [
    ['SCMP_ACT_KILL', undefined, 0],
    ['SCMP_ACT_KILL_THREAD', undefined, 0],
    ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
    ['SCMP_ACT_TRAP', undefined, 0x00030000],
    ['SCMP_ACT_ERRNO', undefined, 0x00050001],
    ['SCMP_ACT_ERRNO', 13, 0x0005000d],
    ['SCMP_ACT_ERRNO', 0, 0x00050000],
    ['SCMP_ACT_ERRNO', 65535, 0x0005ffff],
    ['SCMP_ACT_TRACE', undefined, 0x7ff00001],
    ['SCMP_ACT_TRACE', 42, 0x7ff0002a],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ['SCMP_ACT_ALLOW', undefined, 0x7fff0000],
    ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
  ];

  it('rule actions return their SECCOMP_RET_* value', () => {
    for (const [action, errnoRet, want] of cases) {
      const rule: LinuxSyscall = { names: ['mkdir'], action };
      if (errnoRet !== undefined) rule.errnoRet = errnoRet;
      const c = compileSeccomp({ defaultAction: 'SCMP_ACT_LOG', listenerPath: '/run/agent.sock', syscalls: [rule] });
      assert.equal(run(c, nr('mkdir')), want >>> 0, `${action} ${errnoRet}`);
      assert.equal(run(c, nr('rmdir')), 0x7ffc0000);
    }
  });

  it('the default action returns its value, with defaultErrnoRet (EPERM when absent)', () => {
    for (const [action, errnoRet, want] of cases) {
      if (action === 'SCMP_ACT_NOTIFY') continue;
      const p: LinuxSeccomp = { defaultAction: action, syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] };
      if (errnoRet !== undefined) p.defaultErrnoRet = errnoRet;
      const c = compileSeccomp(p, { enosysStub: false });
      assert.equal(run(c, nr('mkdir')), want >>> 0, `${action} ${errnoRet}`);
      assert.equal(run(c, nr('getpid')), action === 'SCMP_ACT_ALLOW' ? ALLOW : ALLOW);
    }
  });

  it('an ALLOW default with no rules allows everything (x86_64 numbers)', () => {
    const c = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' });
    for (let n = 0; n < 600; n++) assert.equal(run(c, n), ALLOW);
  });
});

describe('flags', () => {
  const flagsOf = (p: Partial<LinuxSeccomp>): number => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', ...p }).flags;

  it('maps the OCI flags to the kernel bits', () => {
    assert.equal(flagsOf({}), 0);
    assert.equal(flagsOf({ flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }), 1);
    assert.equal(flagsOf({ flags: ['SECCOMP_FILTER_FLAG_LOG'] }), 2);
    assert.equal(flagsOf({ flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }), 4);
    assert.equal(flagsOf({ flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG'] }), 6);
  });

  it('NOTIFY adds NEW_LISTENER (and TSYNC_ESRCH next to TSYNC) and returns the listener', () => {
    const notify: LinuxSyscall[] = [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }];
    const c = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/a.sock', listenerMetadata: 'm', syscalls: notify });
    assert.equal(c.flags, 8);
    assert.equal(c.listenerPath, '/run/a.sock');
    assert.equal(c.listenerMetadata, 'm');
    assert.equal(flagsOf({ listenerPath: '/x', syscalls: notify, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }), 1 | 8 | 16);
    assert.equal(flagsOf({ listenerPath: '/x', syscalls: notify, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }), 8 | 32);
    const none = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/a.sock' });
    assert.equal(none.flags, 0);
    assert.equal(none.listenerPath, undefined, 'no listener fd exists without a NOTIFY rule');
  });
});

// ---- argument comparisons --------------------------------------------------------------

const B = (n: number | bigint): bigint => BigInt(n);
const U64 = (1n << 64n) - 1n;
const EDGES = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n,
  0x1fffffffen, 0x7fffffffffffffffn, 1n << 63n, (1n << 63n) + 1n, U64 - 1n, U64];
const OPS: SeccompOperator[] = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];

function expected(op: SeccompOperator, a: bigint, v: bigint, v2: bigint, width: 32 | 64): boolean {
  const m = width === 64 ? U64 : 0xffffffffn;
  a &= m;
  v &= m;
  v2 &= m;
  switch (op) {
    case 'SCMP_CMP_NE': return a !== v;
    case 'SCMP_CMP_LT': return a < v;
    case 'SCMP_CMP_LE': return a <= v;
    case 'SCMP_CMP_EQ': return a === v;
    case 'SCMP_CMP_GE': return a >= v;
    case 'SCMP_CMP_GT': return a > v;
    case 'SCMP_CMP_MASKED_EQ': return (a & v) === (v2 & v);
  }
}

describe('argument comparisons', () => {
  it('are unsigned 64-bit on x86_64 at the word boundaries, for every operator and argument index', () => {
    let checks = 0;
    for (const op of OPS) {
      for (const v of EDGES) {
        const index = checks % 6;
        const v2 = op === 'SCMP_CMP_MASKED_EQ' ? v & 0xf0f0f0f0f0f0f0f0n : undefined;
        const arg: LinuxSeccompArg = { index, value: v, op };
        if (v2 !== undefined) arg.valueTwo = v2;
        const c = compileSeccomp(allow([{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 7, args: [arg] }]));
        for (const a of [...EDGES, v, v - 1n, v + 1n].filter((x) => x >= 0n && x <= U64)) {
          const args = [0n, 0n, 0n, 0n, 0n, 0n];
          args[index] = a;
          const want = expected(op, a, v, v2 ?? 0n, 64) ? ERRNO(7) : ALLOW;
          assert.equal(run(c, nr('getpid'), args), want, `${op} arg${index}=${a} value=${v}`);
          checks++;
        }
      }
    }
    assert.ok(checks > 1000);
  });

  it('compare the low 32 bits, against the value truncated, on i386 and x32 (libseccomp ARCH_SIZE_32)', () => {
    for (const op of OPS) {
      for (const v of EDGES) {
        const arg: LinuxSeccompArg = { index: 1, value: v, op };
        if (op === 'SCMP_CMP_MASKED_EQ') arg.valueTwo = 0x5n;
        const c = compileSeccomp(allow([{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 9, args: [arg] }], {
          architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        }));
        for (const a of EDGES) {
          const want = expected(op, a, v, arg.valueTwo === undefined ? 0n : B(arg.valueTwo), 32) ? ERRNO(9) : ALLOW;
          assert.equal(run(c, nr('getpid', 'x86'), [0n, a], I386), want, `i386 ${op} ${a} ${v}`);
          assert.equal(run(c, nr('getpid', 'x32'), [0n, a], X64), want, `x32 ${op} ${a} ${v}`);
          const want64 = expected(op, a, v, arg.valueTwo === undefined ? 0n : B(arg.valueTwo), 64) ? ERRNO(9) : ALLOW;
          assert.equal(run(c, nr('getpid'), [0n, a], X64), want64, `x86_64 ${op} ${a} ${v}`);
        }
      }
    }
  });

  it('MASKED_EQ: value is the mask, valueTwo (default 0) the expected bits; a zero mask always matches', () => {
    const rule = (value: bigint, valueTwo?: bigint): CompiledSeccomp => {
      const arg: LinuxSeccompArg = { index: 0, value, op: 'SCMP_CMP_MASKED_EQ' };
      if (valueTwo !== undefined) arg.valueTwo = valueTwo;
      return compileSeccomp(allow([{ names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [arg] }]));
    };
    const CLONE_NEWUSER = 0x10000000n;
    // Docker's "allow clone only without namespace flags", as a deny rule: deny when any is set.
    const ns = 0x7e020000n;
    const docker = compileSeccomp({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: ns, op: 'SCMP_CMP_MASKED_EQ' }] }],
    });
    assert.equal(run(docker, nr('clone'), [0x11n]), ALLOW, 'SIGCHLD only');
    assert.equal(run(docker, nr('clone'), [CLONE_NEWUSER | 0x11n]), ERRNO(1));
    assert.equal(run(docker, nr('clone'), [0x20000n]), ERRNO(1), 'CLONE_NEWNS');
    assert.equal(run(docker, nr('clone'), [0xffffffff00000011n]), ALLOW, 'high bits are outside the mask');
    // valueTwo bits outside the mask are masked off (libseccomp), so this matches flags & 0xff == 0x11
    const c = rule(0xffn, 0x1011n);
    assert.equal(run(c, nr('clone'), [0x11n]), ERRNO(1));
    assert.equal(run(c, nr('clone'), [0x12n]), ALLOW);
    // a mask of 0 is always true: the rule is unconditional
    const z = rule(0n, 5n);
    assert.equal(run(z, nr('clone'), [123n]), ERRNO(1));
    // a high-word-only mask
    const h = rule(0xff00000000n, 0x1200000000n);
    assert.equal(run(h, nr('clone'), [0x12_ffffffffn]), ERRNO(1));
    assert.equal(run(h, nr('clone'), [0x13_00000000n]), ALLOW);
  });

  it('ANDs conditions on different arguments', () => {
    const c = compileSeccomp(allow([{
      names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [
        { index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 3, value: 0x100000000n, op: 'SCMP_CMP_GE' }],
    }]));
    assert.equal(run(c, nr('getpid'), [1n, 0n, 0n, 0x100000000n]), ERRNO(1));
    assert.equal(run(c, nr('getpid'), [1n, 0n, 0n, 0xffffffffn]), ALLOW);
    assert.equal(run(c, nr('getpid'), [2n, 0n, 0n, 0x100000000n]), ALLOW);
  });

  it('ORs conditions on the same argument, as runc and crun do', () => {
    const c = compileSeccomp(allow([{
      names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [
        { index: 0, value: 10, op: 'SCMP_CMP_GE' }, { index: 0, value: 20, op: 'SCMP_CMP_LE' }],
    }]));
    for (const a of [0n, 5n, 15n, 25n, U64]) assert.equal(run(c, nr('getpid'), [a]), ERRNO(1), `${a}`);
    const d = compileSeccomp(allow([{
      names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [
        { index: 0, value: 10, op: 'SCMP_CMP_EQ' }, { index: 0, value: 20, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1, op: 'SCMP_CMP_EQ' }],
    }]));
    assert.equal(run(d, nr('getpid'), [10n]), ERRNO(1));
    assert.equal(run(d, nr('getpid'), [20n]), ERRNO(1));
    assert.equal(run(d, nr('getpid'), [0n, 1n]), ERRNO(1), 'each condition is its own rule');
    assert.equal(run(d, nr('getpid'), [11n, 0n]), ALLOW);
  });
});

describe('several rules for one syscall', () => {
  it('the first unconditional rule wins over everything else', () => {
    const c = compileSeccomp(allow([
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 4 },
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 },
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 6, args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
    ]));
    for (const a of [0n, 1n, 2n]) assert.equal(run(c, nr('getpid'), [a]), ERRNO(4));
  });

  it('conditional rules are tried in order, the first match decides, else the default', () => {
    const c = compileSeccomp(allow([
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 0, value: 10, op: 'SCMP_CMP_GT' }] },
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 4, args: [{ index: 0, value: 5, op: 'SCMP_CMP_GT' }] },
    ]));
    assert.equal(run(c, nr('getpid'), [11n]), ERRNO(3));
    assert.equal(run(c, nr('getpid'), [6n]), ERRNO(4));
    assert.equal(run(c, nr('getpid'), [5n]), ALLOW);
  });

  it('skips rules whose action equals the default action (they do not shadow later rules)', () => {
    const p: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['getpid'], action: 'SCMP_ACT_ERRNO' }, // == default (EPERM): skipped
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }, // == default: skipped
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 },
      ],
    };
    const c = compileSeccomp(p, { enosysStub: false });
    assert.equal(run(c, nr('getpid'), [0n]), ALLOW);
    assert.equal(run(c, nr('getpid'), [1n]), ERRNO(1));
    assert.equal(run(c, nr('getppid')), ERRNO(2));
    // KILL and KILL_THREAD are the same action
    const k = compileSeccomp({ defaultAction: 'SCMP_ACT_KILL', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_KILL_THREAD' }] }, { enosysStub: false });
    assert.equal(decodeProgram(k.program).length, decodeProgram(compileSeccomp({ defaultAction: 'SCMP_ACT_KILL' }, { enosysStub: false }).program).length);
  });
});

describe('architectures', () => {
  const p = (architectures?: SeccompArch[]): CompiledSeccomp => {
    const prof = allow([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }]);
    if (architectures) prof.architectures = architectures;
    return compileSeccomp(prof);
  };

  it('an architecture that is not in the filter gets KILL_THREAD (libseccomp\'s bad-arch action)', () => {
    assert.equal(BAD_ARCH_RETURN, 0);
    const c = p(['SCMP_ARCH_X86_64']);
    assert.equal(run(c, nr('mkdir', 'x86'), [], I386), 0);
    assert.equal(run(c, 0, [], AARCH64), 0);
    assert.equal(run(c, 0, [], 0), 0);
    assert.equal(run(c, nr('mkdir')), ERRNO(13));
  });

  it('x86_64 is always in the filter, as libseccomp adds the native arch', () => {
    for (const c of [p(), p([]), p(['SCMP_ARCH_X86']), p(['SCMP_ARCH_AARCH64'])]) {
      assert.equal(run(c, nr('mkdir')), ERRNO(13));
      assert.equal(run(c, nr('rmdir')), ALLOW);
    }
    assert.equal(run(p(['SCMP_ARCH_AARCH64']), 0, [], AARCH64), 0, 'foreign arches cannot occur here: no section for them');
  });

  it('i386 rules use i386 numbers', () => {
    const c = p(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    assert.equal(run(c, nr('mkdir', 'x86'), [], I386), ERRNO(13));
    assert.equal(run(c, nr('mkdir'), [], I386), ALLOW, 'i386 83 is symlink');
    assert.equal(run(c, 0xffffffff, [], I386), ALLOW);
  });

  it('without x32 in the list, the x32 bit is the bad-arch action (nr -1 the default)', () => {
    const c = p(['SCMP_ARCH_X86_64']);
    assert.equal(run(c, X32 | nr('mkdir')), 0);
    assert.equal(run(c, X32 | nr('rmdir')), 0);
    assert.equal(run(c, 0x7fffffff), 0);
    assert.equal(run(c, 0x80000000 + nr('mkdir')), 0, 'bit 31 is no way around either');
    assert.equal(run(c, 0xc0000000 + nr('mkdir')), 0);
    assert.equal(run(c, 0xffffffff), ALLOW, 'nr -1 (skipped by a tracer) gets the default action');
  });

  it('with x32 in the list, x32 numbers get the x32 rules', () => {
    const c = p(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32']);
    assert.equal(run(c, X32 | 83), ERRNO(13));
    assert.equal(run(c, X32 | 84), ALLOW);
    assert.equal(run(c, 83), ERRNO(13));
    const rt = compileSeccomp(allow([{ names: ['rt_sigaction'], action: 'SCMP_ACT_ERRNO' }], { architectures: ['SCMP_ARCH_X32'] }));
    assert.equal(run(rt, X32 | 512), ERRNO(1), 'x32 rt_sigaction is 512');
    assert.equal(run(rt, X32 | 13), ALLOW, '13 is not an x32 syscall');
    assert.equal(run(rt, 13), ERRNO(1));
  });

  it('a name of one ABI only applies there', () => {
    const c = compileSeccomp(allow([
      { names: ['chown32', 'epoll_ctl_old', 'riscv_hwprobe', 'arm_fadvise64_64'], action: 'SCMP_ACT_ERRNO', errnoRet: 22 },
    ], { architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }));
    assert.equal(run(c, nr('chown32', 'x86'), [], I386), ERRNO(22));
    assert.equal(run(c, nr('epoll_ctl_old')), ERRNO(22));
    assert.equal(run(c, X32 | nr('epoll_ctl_old')), ALLOW, 'epoll_ctl_old is a "64" entry');
    assert.equal(run(c, 212), ALLOW, 'x86_64 212 is lookup_dcookie');
  });

  it('i386 socket and SysV IPC calls also match socketcall(2)/ipc(2) with arg0 == the call', () => {
    const c = compileSeccomp(allow([
      { names: ['socket', 'recv'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['shmget', 'semop'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ], { architectures: ['SCMP_ARCH_X86'] }));
    // socketcall: arg0 is the call number (SYS_SOCKET=1, SYS_RECV=10); the rule's arg0 test is replaced
    assert.equal(run(c, 102, [1n], I386), ERRNO(97));
    assert.equal(run(c, 102, [10n, 5n], I386), ERRNO(97));
    assert.equal(run(c, 102, [2n], I386), ALLOW);
    // direct socket(2) keeps the rule's own condition
    assert.equal(run(c, 359, [1n], I386), ERRNO(97));
    assert.equal(run(c, 359, [2n], I386), ALLOW);
    assert.equal(run(c, nr('socket'), [1n]), ERRNO(97));
    assert.equal(run(c, nr('socket'), [2n]), ALLOW);
    // ipc: SHMGET=23, SEMOP=1; direct shmget is 395, semop has none on i386
    assert.equal(run(c, 117, [23n], I386), ERRNO(38));
    assert.equal(run(c, 117, [1n], I386), ERRNO(38));
    assert.equal(run(c, 117, [2n], I386), ALLOW);
    assert.equal(run(c, 395, [], I386), ERRNO(38));
    assert.equal(run(c, nr('shmget'), []), ERRNO(38));
  });
});

describe('the -ENOSYS stub (runc)', () => {
  const p: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write', 'personality'], action: 'SCMP_ACT_ALLOW' },
      { names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }, // redundant, but it still counts
    ],
  };

  it('returns ENOSYS above the largest syscall the profile names, per ABI', () => {
    const c = compileSeccomp(p);
    assert.equal(ENOSYS_RETURN, ERRNO(38));
    assert.equal(run(c, 0), ALLOW);
    assert.equal(run(c, 200), ERRNO(1));
    assert.equal(run(c, 250), ERRNO(1), 'keyctl is the largest');
    assert.equal(run(c, 251), ERRNO(38));
    assert.equal(run(c, 0x3fffffff), ERRNO(38));
    assert.equal(run(c, 0x80000000), ERRNO(38));
    assert.equal(run(c, X32 | 250), ERRNO(1));
    assert.equal(run(c, X32 | 251), ERRNO(38));
    assert.equal(run(c, 0xffffffff), ERRNO(38));
    assert.equal(run(c, nr('keyctl', 'x86'), [], I386), ERRNO(1));
    assert.equal(run(c, nr('keyctl', 'x86') + 1, [], I386), ERRNO(38));
  });

  it('is left out for an ABI whose largest named syscall is 0, as runc does', () => {
    const c = compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    assert.equal(run(c, 0), ALLOW);
    assert.equal(run(c, 1), ERRNO(1));
    assert.equal(run(c, 1000), ERRNO(1));
  });

  it('is left out with enosysStub: false, and for ALLOW/LOG/TRACE defaults', () => {
    assert.equal(run(compileSeccomp(p, { enosysStub: false }), 251), ERRNO(1));
    for (const d of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'] as const) {
      const c = compileSeccomp({ ...p, defaultAction: d });
      assert.notEqual(run(c, 251), ERRNO(38), d);
    }
    assert.equal(run(compileSeccomp({ ...p, defaultAction: 'SCMP_ACT_KILL_PROCESS' }), 251), ERRNO(38));
  });
});

describe('long programs', () => {
  it('jumps farther than 255 instructions go through trampolines; every rule still holds', () => {
    const names = [...SYSCALL_NUMBERS.x86_64.keys()].slice(0, 340);
    const c = compileSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: names.map((n, i) => ({ names: [n], action: 'SCMP_ACT_ERRNO', errnoRet: i + 1 })),
    });
    const ins = decodeProgram(c.program);
    assert.ok(ins.length > 700, `${ins.length} instructions`);
    const rets = ins.filter((x) => x.code === OP_RET_K);
    assert.ok(rets.length > new Set(rets.map((x) => x.k)).size, 'far rets are reached through copies');
    checkFilter(c.program);
    names.forEach((n, i) => {
      assert.equal(run(c, nr(n)), ERRNO(i + 1), n);
      const n86 = SYSCALL_NUMBERS.x86.get(n);
      if (n86 !== undefined) assert.equal(run(c, n86, [], I386), ERRNO(i + 1), `i386 ${n}`);
    });
  });

  it('a long chain of conditional rules on one syscall', () => {
    const rules: LinuxSyscall[] = [];
    for (let i = 0; i < 300; i++) {
      rules.push({ names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 + (i % 200), args: [{ index: 0, value: BigInt(i) << 32n | 7n, op: 'SCMP_CMP_EQ' }] });
    }
    const c = compileSeccomp(allow(rules));
    assert.ok(decodeProgram(c.program).length > 1200);
    for (let i = 0; i < 300; i++) {
      assert.equal(run(c, nr('personality'), [BigInt(i) << 32n | 7n]), ERRNO(1 + (i % 200)));
      assert.equal(run(c, nr('personality'), [BigInt(i) << 32n | 8n]), ALLOW);
    }
  });

  it('far jumps to rule blocks go through ja', () => {
    const names = [...SYSCALL_NUMBERS.x86_64.keys()].slice(0, 250);
    const c = compileSeccomp(allow(names.map((n, i) => ({
      names: [n], action: 'SCMP_ACT_ERRNO', errnoRet: 1 + (i % 3), args: [{ index: i % 6, value: BigInt(i) << 31n, op: 'SCMP_CMP_LE' }],
    }))));
    const ins = decodeProgram(c.program);
    assert.ok(ins.some((x) => x.code === OP_JA && x.k > 255), 'a ja with a 32-bit offset');
    names.forEach((n, i) => {
      const args = [0n, 0n, 0n, 0n, 0n, 0n];
      args[i % 6] = (BigInt(i) << 31n) + 1n;
      assert.equal(run(c, nr(n), args), ALLOW, n);
      args[i % 6] = BigInt(i) << 31n;
      assert.equal(run(c, nr(n), args), ERRNO(1 + (i % 3)), n);
    });
  });

  it('refuses a profile that needs more than 4096 instructions', () => {
    const rules: LinuxSyscall[] = [];
    for (let i = 0; i < 1100; i++) rules.push({ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' }] });
    assert.throws(() => compileSeccomp(allow(rules)), (e: Error) => e instanceof SeccompError &&
      /^linux\.seccomp: compiles to \d+ BPF instructions; the kernel accepts at most 4096$/.test(e.message));
  });
});

describe('determinism', () => {
  it('the same profile gives the same bytes, whatever its key order or number types', () => {
    const p: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['read', 'personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }],
    };
    const q = JSON.parse(JSON.stringify({ syscalls: [{ args: [{ op: 'SCMP_CMP_EQ', value: 8n.toString(), index: 0 }], action: 'SCMP_ACT_ALLOW', names: ['read', 'personality'] }], architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'], defaultAction: 'SCMP_ACT_ERRNO' }));
    q.syscalls[0].args[0].value = 8n;
    const a = compileSeccomp(p).program;
    assert.deepEqual(compileSeccomp(p).program, a);
    assert.deepEqual(compileSeccomp(q).program, a);
  });
});

describe('errors name the field', () => {
  const bad = (p: unknown, message: string | RegExp): void => {
    assert.throws(() => compileSeccomp(p as LinuxSeccomp), (e: Error) => {
      assert.ok(e instanceof SeccompError, String(e));
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  };
  const rule = (r: Record<string, unknown>): unknown => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }, r] });

  it('unknown syscall names', () => {
    bad({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [0, 1, 2].map(() => ({ names: ['read'], action: 'SCMP_ACT_ALLOW' })).concat([{ names: ['read', 'foo'], action: 'SCMP_ACT_ERRNO' }]),
    }, 'linux.seccomp.syscalls[3].names[1]: unknown syscall "foo"');
    bad(rule({ names: [], action: 'SCMP_ACT_ERRNO' }), 'linux.seccomp.syscalls[1].names: must be a non-empty array of syscall names');
    bad(rule({ names: [''], action: 'SCMP_ACT_ERRNO' }), /^linux\.seccomp\.syscalls\[1\]\.names\[0\]: must be a syscall name/);
    bad(rule({ action: 'SCMP_ACT_ERRNO' }), /^linux\.seccomp\.syscalls\[1\]\.names: must be/);
  });

  it('bad actions, operators, indexes and values', () => {
    bad({ defaultAction: 'SCMP_ACT_NOPE' }, /^linux\.seccomp\.defaultAction: unknown seccomp action "SCMP_ACT_NOPE" \(expected one of: SCMP_ACT_KILL, /);
    bad(rule({ names: ['read'], action: 'allow' }), /^linux\.seccomp\.syscalls\[1\]\.action: unknown seccomp action "allow"/);
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_XX' }] }),
      /^linux\.seccomp\.syscalls\[1\]\.args\[0\]\.op: unknown seccomp operator "SCMP_CMP_XX"/);
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }),
      'linux.seccomp.syscalls[1].args[0].index: must be an argument index from 0 to 5 (got 6)');
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: -1, value: 1, op: 'SCMP_CMP_EQ' }] }), /args\[0\]\.index: must be/);
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }),
      'linux.seccomp.syscalls[1].args[0].value: must be an unsigned 64-bit integer (got -1)');
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1n << 64n, op: 'SCMP_CMP_EQ' }] }), /args\[0\]\.value: must be an unsigned 64-bit/);
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, valueTwo: 1.5, op: 'SCMP_CMP_MASKED_EQ' }] }), /args\[0\]\.valueTwo: must be/);
    bad({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /^linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_Z80"/);
    bad({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE'] }, /^linux\.seccomp\.flags\[0\]: unknown seccomp flag/);
    bad(null, /^linux\.seccomp: must be an object/);
  });

  it('errnoRet only with ERRNO or TRACE', () => {
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }),
      'linux.seccomp.syscalls[1].errnoRet: can only be used when action is SCMP_ACT_ERRNO or SCMP_ACT_TRACE (it is SCMP_ACT_ALLOW)');
    bad({ defaultAction: 'SCMP_ACT_KILL', defaultErrnoRet: 1 },
      'linux.seccomp.defaultErrnoRet: can only be used when defaultAction is SCMP_ACT_ERRNO or SCMP_ACT_TRACE (it is SCMP_ACT_KILL)');
    bad(rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 65536 }), /errnoRet: must be an errno number from 0 to 65535/);
  });

  it('NOTIFY needs listenerPath, is not a default action, not for write', () => {
    bad(rule({ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }), 'linux.seccomp.listenerPath: is required: linux.seccomp.syscalls[1] uses SCMP_ACT_NOTIFY');
    bad({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' }, /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/);
    bad({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/x', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }] },
      /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: SCMP_ACT_NOTIFY cannot be used for write/);
    bad({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/x', syscalls: [{ names: ['sendmsg'], action: 'SCMP_ACT_NOTIFY' }] },
      /^linux\.seccomp\.syscalls\[0\]\.names\[0\]: SCMP_ACT_NOTIFY cannot be used for sendmsg/);
    bad({ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }, 'linux.seccomp.listenerMetadata: must not be set without listenerPath');
    bad({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] },
      /^linux\.seccomp\.flags\[0\]: needs a rule with SCMP_ACT_NOTIFY/);
  });

  it('uses the path it is given', () => {
    assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['nope'], action: 'SCMP_ACT_ERRNO' }] }, { path: 'seccomp' }),
      { message: 'seccomp.syscalls[0].names[0]: unknown syscall "nope"' });
  });
});

// ---- differential: random profiles against the reference evaluator ----------------------

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

describe('compiled filters agree with the reference evaluator', () => {
  const POOL = ['read', 'open', 'write', 'sendmsg', 'mkdir', 'getpid', 'personality', 'clone', 'socket', 'recv', 'send', 'shmget', 'semop',
    'ipc', 'socketcall', 'chown32', 'epoll_ctl_old', 'rt_sigaction', 'ioctl', 'uselib', 'keyctl', 'mseal', 'rseq_slice_yield',
    'riscv_hwprobe', 'pwritev2', 'accept4', 'recvmmsg', '_llseek'];
  const ACTIONS: SeccompAction[] = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE',
    'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_KILL_THREAD'];
  const ARCHES: SeccompArch[] = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'];
  const SMALL = [0n, 1n, 2n, 3n, 8n, 0xffffffffn, 0x100000000n, 1n << 63n, U64];

  it('on 300 random profiles and 200 queries each', () => {
    const r = rng(0x5ecc0);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const allNames = [...SYSCALL_NUMBERS.x86_64.keys(), ...SYSCALL_NUMBERS.x86.keys()];
    let queries = 0;
    for (let iter = 0; iter < 300; iter++) {
      const p: LinuxSeccomp = { defaultAction: pick(ACTIONS.filter((a) => a !== 'SCMP_ACT_NOTIFY')), listenerPath: '/run/s.sock' };
      if ((p.defaultAction === 'SCMP_ACT_ERRNO' || p.defaultAction === 'SCMP_ACT_TRACE') && r() < 0.5) p.defaultErrnoRet = pick([1, 2, 38]);
      p.architectures = ARCHES.filter(() => r() < 0.5);
      p.syscalls = [];
      const n = Math.floor(r() * (iter % 10 === 0 ? 200 : 25));
      for (let i = 0; i < n; i++) {
        const names = Array.from({ length: 1 + Math.floor(r() * 3) }, () => (r() < 0.8 ? pick(POOL) : pick(allNames)));
        const s: LinuxSyscall = { names, action: pick(ACTIONS) };
        if ((s.action === 'SCMP_ACT_ERRNO' || s.action === 'SCMP_ACT_TRACE') && r() < 0.6) s.errnoRet = pick([1, 2, 5, 38]);
        const k = Math.floor(r() * 4);
        if (k > 0) {
          s.args = Array.from({ length: k }, () => {
            const a: LinuxSeccompArg = { index: Math.floor(r() * (r() < 0.5 ? 2 : 6)), op: pick(OPS), value: r() < 0.7 ? pick(SMALL) : pick(EDGES) };
            if (r() < 0.5) a.valueTwo = pick(SMALL);
            return a;
          });
        }
        p.syscalls.push(s);
      }
      if (p.syscalls.some((s) => s.action === 'SCMP_ACT_NOTIFY' && s.names.some((n) => ['write', 'sendmsg', 'socketcall'].includes(n)))) continue;
      const stub = r() < 0.8;
      let c: CompiledSeccomp;
      try {
        c = compileSeccomp(p, { enosysStub: stub });
      } catch (e) {
        if (e instanceof SeccompError && /4096/.test(e.message)) continue;
        throw e;
      }
      const nrs: Array<[number, number]> = [];
      for (const s of p.syscalls) {
        for (const name of s.names) {
          for (const abi of ['x86_64', 'x86', 'x32'] as const) {
            const v = SYSCALL_NUMBERS[abi].get(name);
            if (v !== undefined) nrs.push([v, abi === 'x86' ? I386 : X64], [v + 1, abi === 'x86' ? I386 : X64], [v - 1, abi === 'x86' ? I386 : X64]);
          }
        }
      }
      nrs.push([102, I386], [117, I386], [0xffffffff, X64], [0x40000000, X64], [0x3fffffff, X64], [0x7fffffff, X64],
        [0x80000000, X64], [0xbfffffff, X64], [0xc0000000, X64], [0xffffffff, I386], [0, AARCH64], [1, 0]);
      for (let q = 0; q < 200; q++) {
        const [qn, arch] = r() < 0.85 && nrs.length ? pick(nrs) : [Math.floor(r() * 0x100000000), pick([X64, I386])];
        const args = Array.from({ length: 6 }, () => (r() < 0.7 ? pick(SMALL) : r() < 0.5 ? pick(EDGES) : BigInt(Math.floor(r() * 20))));
        const got = runFilter(c.program, { nr: qn >>> 0, arch, args });
        const want = referenceEval(p, { nr: qn >>> 0, arch, args }, { enosysStub: stub });
        if (got !== want) {
          assert.fail(`profile ${JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}\n` +
            `query nr=${qn >>> 0} arch=0x${arch.toString(16)} args=${args.join(',')} stub=${stub}: ` +
            `filter 0x${got.toString(16)}, reference 0x${want.toString(16)}\n${disassemble(c.program)}`);
        }
        queries++;
      }
    }
    assert.ok(queries > 40000, `${queries} queries`);
  });
});
