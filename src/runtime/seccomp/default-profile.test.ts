import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LinuxSeccomp } from '../spec/types';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, decodeProgram } from './bpf';
import { compileSeccomp, type CompiledSeccomp } from './compile';
import { DOCKER_DEFAULT_CAPABILITIES, DOCKER_DEFAULT_PROFILE, dockerDefaultProfile, UNCONFINED } from './default-profile';
import { runFilter } from './interp';
import { referenceEval } from './reference';
import { SYSCALL_NUMBERS, type X86Abi } from './syscalls';

const DOCKER_DEFAULT_CAPS = [...DOCKER_DEFAULT_CAPABILITIES];

const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const ALLOW = 0x7fff0000;
const X32 = 0x40000000;

const profile = (caps: string[] = DOCKER_DEFAULT_CAPS, kernelRelease = '6.18.0'): LinuxSeccomp =>
  dockerDefaultProfile({ capabilities: caps, kernelRelease });
const names = (p: LinuxSeccomp): Set<string> => new Set((p.syscalls ?? []).flatMap((s) => s.names));
const uncond = (p: LinuxSeccomp, action = 'SCMP_ACT_ALLOW'): Set<string> =>
  new Set((p.syscalls ?? []).filter((s) => !s.args && s.action === action).flatMap((s) => s.names));

function verdict(c: CompiledSeccomp, name: string, args: bigint[] = [], abi: X86Abi = 'x86_64'): number {
  const nr = SYSCALL_NUMBERS[abi].get(name);
  assert.ok(nr !== undefined, `${name} on ${abi}`);
  return runFilter(c.program, { nr, arch: abi === 'x86' ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64, args });
}

describe('dockerDefaultProfile', () => {
  it('is Docker\'s default: ERRNO(EPERM) by default, x86_64 with its sub-architectures', () => {
    const p = profile();
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.equal(p.flags, undefined);
    assert.equal(DOCKER_DEFAULT_PROFILE.syscalls[0]!.names.length, 361);
    for (const n of ['read', 'write', 'execve', 'mkdir', 'openat', 'clone3', 'ptrace', 'arch_prctl', 'modify_ldt']) {
      assert.ok(names(p).has(n), n);
    }
  });

  it('"unconfined" is no linux.seccomp at all', () => {
    assert.equal(UNCONFINED, undefined);
  });

  it('includes rules by capability only when the container has all of them', () => {
    const base = uncond(profile());
    for (const n of ['mount', 'umount2', 'unshare', 'setns', 'bpf', 'perf_event_open', 'reboot', 'open_by_handle_at', 'clock_settime',
      'settimeofday', 'kcmp', 'pidfd_getfd', 'init_module', 'acct', 'iopl', 'vhangup', 'mbind', 'syslog', 'sethostname', 'io_uring_setup']) {
      assert.ok(!base.has(n), n);
    }
    assert.ok(profile().syscalls!.some((s) => s.names.includes('chroot')), 'CAP_SYS_CHROOT is a default cap');
    const with_ = (cap: string): Set<string> => uncond(profile([...DOCKER_DEFAULT_CAPS, cap]));
    assert.ok(with_('CAP_SYS_ADMIN').has('mount') && with_('CAP_SYS_ADMIN').has('unshare') && with_('CAP_SYS_ADMIN').has('clone'));
    assert.ok(with_('CAP_SYS_BOOT').has('reboot'));
    assert.ok(with_('CAP_DAC_READ_SEARCH').has('open_by_handle_at'));
    assert.ok(with_('CAP_SYS_TIME').has('clock_settime'));
    assert.ok(with_('CAP_BPF').has('bpf') && !with_('CAP_BPF').has('perf_event_open'));
    assert.ok(with_('CAP_PERFMON').has('perf_event_open'));
    assert.ok(with_('CAP_SYS_PTRACE').has('kcmp') && with_('CAP_SYS_PTRACE').has('pidfd_getfd'));
    assert.ok(with_('CAP_SYS_MODULE').has('finit_module'));
    assert.ok(with_('CAP_SYSLOG').has('syslog'));
  });

  it('excludes rules when the container has any listed capability', () => {
    const clone = (p: LinuxSeccomp) => p.syscalls!.filter((s) => s.names.includes('clone') || s.names.includes('clone3'));
    const plain = clone(profile());
    assert.deepEqual(plain.map((s) => [s.names, s.action, s.errnoRet, s.args]), [
      [['clone'], 'SCMP_ACT_ALLOW', undefined, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]],
      [['clone3'], 'SCMP_ACT_ERRNO', 38, undefined],
    ]);
    const admin = clone(profile([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN']));
    assert.equal(admin.length, 1);
    assert.ok(admin[0]!.names.includes('clone') && admin[0]!.names.includes('clone3') && !admin[0]!.args);
  });

  it('keeps the rules of this architecture only (amd64, x32, x86)', () => {
    const n = names(profile());
    assert.ok(n.has('arch_prctl') && n.has('modify_ldt'));
    for (const other of ['arm_fadvise64_64', 'breakpoint', 's390_pci_mmio_read', 'riscv_flush_icache', 'swapcontext']) assert.ok(!n.has(other), other);
    // the s390 clone rule (arg 1) is gone, the generic one (arg 0) stays
    assert.ok(!profile().syscalls!.some((s) => s.args?.some((a) => a.index === 1)));
  });

  it('honours minKernel against the kernel release (only <kernel>.<major> counts)', () => {
    const ptraceRule = (rel: string) => profile(DOCKER_DEFAULT_CAPS, rel).syscalls!.some((s) => s.names.includes('ptrace'));
    assert.equal(ptraceRule('4.4.0-generic'), false);
    assert.equal(ptraceRule('4.8'), true);
    assert.equal(ptraceRule('4.8.0-1-amd64'), true);
    assert.equal(ptraceRule('5.0.0'), true);
    assert.equal(ptraceRule('3.19'), false);
    assert.equal(ptraceRule('6.18.44-fc-v595'), true);
    assert.throws(() => profile(DOCKER_DEFAULT_CAPS, 'garbage'), /kernel release/);
    assert.equal(typeof dockerDefaultProfile({ capabilities: [] }).defaultAction, 'string', 'defaults to os.release()');
  });

  it('returns a fresh object each time', () => {
    const a = profile();
    a.syscalls![0]!.names.push('keyctl');
    a.architectures!.pop();
    assert.ok(!names(profile()).has('keyctl'));
    assert.equal(profile().architectures!.length, 3);
    assert.ok(Object.isFrozen(DOCKER_DEFAULT_PROFILE.syscalls[0]!.names));
  });
});

describe('the compiled default profile', () => {
  const c = compileSeccomp(profile());

  it('allows what a shell session needs, on x86_64, i386 and x32', () => {
    for (const n of ['read', 'write', 'openat', 'close', 'mmap', 'execve', 'mkdir', 'mkdirat', 'getdents64', 'wait4', 'exit_group',
      'rt_sigaction', 'fstat', 'newfstatat', 'statx', 'fchmodat2', 'chroot']) {
      assert.equal(verdict(c, n), ALLOW, n);
    }
    for (const n of ['read', 'write', 'execve', 'mkdir', 'socketcall', 'ipc', '_llseek', 'chown32']) assert.equal(verdict(c, n, [], 'x86'), ALLOW, `i386 ${n}`);
    for (const n of ['read', 'mkdir', 'rt_sigaction', 'ioctl']) assert.equal(verdict(c, n, [], 'x32'), ALLOW, `x32 ${n}`);
  });

  it('denies keyctl, bpf, perf_event_open, userfaultfd, reboot, mount, unshare, open_by_handle_at, clock_settime with EPERM', () => {
    for (const n of ['keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'reboot', 'mount', 'umount2', 'unshare',
      'setns', 'open_by_handle_at', 'clock_settime', 'settimeofday', 'init_module', 'kexec_load', 'swapon', 'pivot_root', 'iopl',
      'io_uring_setup']) {
      assert.equal(verdict(c, n), EPERM, n);
      if (SYSCALL_NUMBERS.x32.has(n)) assert.equal(verdict(c, n, [], 'x32'), EPERM, `x32 ${n}`);
      if (SYSCALL_NUMBERS.x86.has(n)) assert.equal(verdict(c, n, [], 'x86'), EPERM, `i386 ${n}`);
    }
  });

  it('personality: only 0, 8, 0x20000, 0x20008 and 0xffffffff (64-bit exact)', () => {
    for (const a of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.equal(verdict(c, 'personality', [a]), ALLOW, `${a}`);
    for (const a of [1n, 9n, 0x100000000n, 0xffffffff00000000n, 0x1ffffffffn, (1n << 64n) - 1n]) assert.equal(verdict(c, 'personality', [a]), EPERM, `${a}`);
    assert.equal(verdict(c, 'personality', [0x100000008n], 'x86'), ALLOW, 'i386 compares 32 bits');
  });

  it('clone without namespace flags only; clone3 gets ENOSYS so libc falls back to clone', () => {
    assert.equal(verdict(c, 'clone', [0x11n]), ALLOW, 'fork-like');
    assert.equal(verdict(c, 'clone', [0x3d0f00n]), ALLOW, 'pthread_create flags');
    for (const f of [0x10000000n /* NEWUSER */, 0x20000n /* NEWNS */, 0x40000000n /* NEWNET */, 0x20000000n /* NEWPID */, 0x08000000n /* NEWUTS */, 0x04000000n /* NEWIPC */, 0x02000000n /* NEWCGROUP */]) {
      assert.equal(verdict(c, 'clone', [f | 0x11n]), EPERM, `flags 0x${f.toString(16)}`);
      assert.equal(verdict(c, 'clone', [f | 0x11n], 'x86'), EPERM, `i386 0x${f.toString(16)}`);
    }
    assert.equal(verdict(c, 'clone3'), ENOSYS);
  });

  it('socket: everything but AF_ALG (38) and AF_VSOCK (40)', () => {
    for (const d of [1n, 2n, 10n, 16n, 17n, 37n, 39n, 41n, 45n]) assert.equal(verdict(c, 'socket', [d]), ALLOW, `${d}`);
    for (const d of [38n, 40n]) {
      assert.equal(verdict(c, 'socket', [d]), EPERM, `${d}`);
      assert.equal(verdict(c, 'socket', [d], 'x86'), EPERM, `i386 ${d}`);
    }
  });

  it('syscalls newer than the profile get ENOSYS; the x32 bit is no way around a denial', () => {
    assert.equal(runFilter(c.program, { nr: 1000, arch: AUDIT_ARCH_X86_64 }), ENOSYS);
    assert.equal(runFilter(c.program, { nr: 1000, arch: AUDIT_ARCH_I386 }), ENOSYS);
    assert.equal(runFilter(c.program, { nr: X32 | 1000, arch: AUDIT_ARCH_X86_64 }), ENOSYS);
    assert.equal(runFilter(c.program, { nr: X32 | 250, arch: AUDIT_ARCH_X86_64 }), EPERM, 'x32 keyctl');
    assert.equal(runFilter(c.program, { nr: X32 | 165, arch: AUDIT_ARCH_X86_64 }), EPERM, 'x32 mount');
    assert.equal(runFilter(c.program, { nr: 0, arch: 0xc00000b7 }), 0, 'aarch64: bad arch');
  });

  it('with CAP_SYS_ADMIN: mount, unshare, clone with namespaces, clone3', () => {
    const a = compileSeccomp(profile([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN']));
    assert.equal(verdict(a, 'mount'), ALLOW);
    assert.equal(verdict(a, 'unshare', [0x10000000n]), ALLOW);
    assert.equal(verdict(a, 'clone', [0x10000011n]), ALLOW);
    assert.equal(verdict(a, 'clone3'), ALLOW);
    assert.equal(verdict(a, 'keyctl'), EPERM);
  });

  it('agrees with the reference evaluator on every syscall number of each ABI', () => {
    for (const caps of [DOCKER_DEFAULT_CAPS, [...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], []]) {
      const p = profile(caps);
      const f = compileSeccomp(p);
      const argSets: bigint[][] = [[], [0n], [8n], [0xffffffffn], [38n], [0x10000011n], [0x100000000n], [40n, 1n]];
      for (const [arch, base] of [[AUDIT_ARCH_X86_64, 0], [AUDIT_ARCH_X86_64, X32], [AUDIT_ARCH_I386, 0]] as const) {
        for (let n = 0; n < 600; n++) {
          for (const args of argSets) {
            const q = { nr: (base | n) >>> 0, arch, args };
            assert.equal(runFilter(f.program, q), referenceEval(p, q), `nr ${q.nr} arch ${arch.toString(16)} args ${args}`);
          }
        }
      }
    }
  });

  it('is small: one filter for three ABIs', () => {
    const n = decodeProgram(c.program).length;
    assert.ok(n > 100 && n < 1000, `${n} instructions`);
  });
});
