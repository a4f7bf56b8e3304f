// The compiled filters in the real kernel: native/build/test-tools/seccomp-run loads a program
// (no_new_privs + seccomp(SECCOMP_SET_MODE_FILTER)) and execs busybox or syscall-probe, which
// makes one raw system call and prints its result. Every process here is one the test starts;
// spawnSync reaps (and on a timeout kills) only that child.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { LinuxSeccomp, LinuxSeccompArg, SeccompOperator } from '../spec/types';
import { compileSeccomp } from './compile';
import { DOCKER_DEFAULT_CAPABILITIES, dockerDefaultProfile } from './default-profile';

function repoRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).name === 'berth') return d;
    } catch {
      // keep looking
    }
  }
  throw new Error(`no berth package.json above ${__dirname}`);
}
const TOOLS = path.join(repoRoot(), 'native', 'build', 'test-tools');
const SECCOMP_RUN = path.join(TOOLS, 'seccomp-run');
const PROBE = path.join(TOOLS, 'syscall-probe');
const BUSYBOX = '/bin/busybox';
for (const f of [SECCOMP_RUN, PROBE]) {
  if (!fs.existsSync(f)) throw new Error(`${f} is missing: build it with make -C native`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-kernel-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `cmd` under the filter compiled from `profile` (no filter when profile is null). */
function under(profile: LinuxSeccomp | null, cmd: string[]): Outcome {
  let argv = cmd;
  if (profile) {
    const c = compileSeccomp(profile);
    const file = path.join(tmp, `p${seq++}.bpf`);
    fs.writeFileSync(file, c.program);
    argv = [SECCOMP_RUN, file, String(c.flags), ...cmd];
  }
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  if (r.error) throw r.error;
  if (r.status === 125) throw new Error(`seccomp-run could not load the filter: ${r.stderr}`);
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

type Probe = { errno: number; ret: bigint } | { signal: NodeJS.Signals } | { trapped: string };

/** syscall-probe [flags] nr args... under `profile`. */
function probe(profile: LinuxSeccomp | null, nr: number | bigint, args: Array<number | bigint> = [], flags: string[] = []): Probe {
  const o = under(profile, [PROBE, ...flags, `0x${nr.toString(16)}`, ...args.map((a) => `0x${a.toString(16)}`)]);
  if (o.signal) return { signal: o.signal };
  assert.equal(o.status, 0, `probe failed: ${o.stderr}`);
  const trap = /^SIGSYS (.*)$/m.exec(o.stdout);
  if (trap) return { trapped: trap[1]! };
  const m = /^ret=(-?\d+) errno=(\d+)$/m.exec(o.stdout);
  assert.ok(m, `probe said: ${o.stdout} ${o.stderr}`);
  return { ret: BigInt(m[1]!), errno: Number(m[2]) };
}
const errnoOf = (p: Probe): number => {
  if (!('errno' in p)) assert.fail(`expected the call to return, got ${JSON.stringify(p)}`);
  return p.errno;
};

const NR = { getpid: 39, getppid: 110, mkdir: 83, clone: 56, personality: 135, keyctl: 250, bpf: 321, perf_event_open: 298,
  userfaultfd: 323, reboot: 169, unshare: 272, mount: 165, open_by_handle_at: 304, clock_settime: 227, clone3: 435 };
const I386 = { getpid: 20, mkdir: 39, keyctl: 288, socketcall: 102 };
const X32 = 0x40000000;
const EPERM = 1;
const EACCES = 13;
const EFAULT = 14;
const ENOSYS = 38;

const allow = (syscalls: LinuxSeccomp['syscalls'], extra: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW', syscalls, ...extra,
});
const docker = (caps: readonly string[] = DOCKER_DEFAULT_CAPABILITIES): LinuxSeccomp => dockerDefaultProfile({ capabilities: caps });

describe('seccomp filters in the kernel: actions', () => {
  it('ERRNO returns exactly errnoRet (mkdir → EACCES 13)', () => {
    assert.equal(errnoOf(probe(null, NR.mkdir, [0])), EFAULT, 'control: mkdir(NULL) is EFAULT');
    const p = allow([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: EACCES }]);
    assert.equal(errnoOf(probe(p, NR.mkdir, [0])), EACCES);
    const dir = path.join(tmp, 'not-made');
    const o = under(p, [BUSYBOX, 'mkdir', dir]);
    assert.notEqual(o.status, 0);
    assert.match(o.stderr, /Permission denied/);
    assert.equal(fs.existsSync(dir), false);
    assert.equal(errnoOf(probe(allow([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }]), NR.mkdir, [0])), EPERM, 'EPERM by default');
  });

  it('an ALLOW default lets everything through', () => {
    const o = under(allow([]), [BUSYBOX, 'sh', '-c', 'echo ok']);
    assert.equal(o.status, 0, o.stderr);
    assert.equal(o.stdout, 'ok\n');
    assert.equal(errnoOf(probe(allow([]), NR.getpid)), 0);
  });

  it('KILL_PROCESS kills with SIGSYS, even with a SIGSYS handler', () => {
    const p = allow([{ names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' }]);
    assert.deepEqual(probe(p, NR.getppid, [], ['-t']), { signal: 'SIGSYS' });
    assert.equal(errnoOf(probe(p, NR.getpid, [], ['-t'])), 0, 'other calls pass');
  });

  it('KILL (KILL_THREAD) kills the single-threaded probe with SIGSYS', () => {
    assert.deepEqual(probe(allow([{ names: ['getppid'], action: 'SCMP_ACT_KILL' }]), NR.getppid, [], ['-t']), { signal: 'SIGSYS' });
    assert.deepEqual(probe(allow([{ names: ['getppid'], action: 'SCMP_ACT_KILL_THREAD' }]), NR.getppid), { signal: 'SIGSYS' });
  });

  it('TRAP delivers a catchable SIGSYS naming the call', () => {
    const p = allow([{ names: ['getppid'], action: 'SCMP_ACT_TRAP' }]);
    assert.deepEqual(probe(p, NR.getppid, [], ['-t']), { trapped: 'nr=110 arch=0xc000003e data=0' });
    assert.deepEqual(probe(p, NR.getppid), { signal: 'SIGSYS' }, 'uncaught, SIGSYS kills');
  });

  it('LOG allows; TRACE without a tracer is ENOSYS; NOTIFY without a listener is ENOSYS', () => {
    assert.equal(errnoOf(probe(allow([{ names: ['getppid'], action: 'SCMP_ACT_LOG' }]), NR.getppid)), 0);
    assert.equal(errnoOf(probe(allow([{ names: ['getppid'], action: 'SCMP_ACT_TRACE', errnoRet: 5 }]), NR.getppid)), ENOSYS);
    const n = allow([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: '/nonexistent/agent.sock' });
    assert.equal(compileSeccomp(n).flags, 8);
    assert.equal(errnoOf(probe(n, NR.mkdir, [0])), ENOSYS);
  });

  it('the kernel takes the flags: TSYNC, LOG, SPEC_ALLOW', () => {
    const p = allow([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: EACCES }], {
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    });
    assert.equal(compileSeccomp(p).flags, 7);
    assert.equal(errnoOf(probe(p, NR.mkdir, [0])), EACCES);
  });
});

describe('seccomp filters in the kernel: arguments', () => {
  const U64 = (1n << 64n) - 1n;
  const cases: Array<[SeccompOperator, bigint, bigint, boolean]> = [
    ['SCMP_CMP_EQ', 0xffffffffn, 0xffffffffn, true],
    ['SCMP_CMP_EQ', 0xffffffffn, 0x1ffffffffn, false],
    ['SCMP_CMP_EQ', 1n << 63n, 1n << 63n, true],
    ['SCMP_CMP_NE', 0x100000000n, 0n, true],
    ['SCMP_CMP_NE', 0x100000000n, 0x100000000n, false],
    ['SCMP_CMP_GT', 0xffffffffn, 0x100000000n, true],
    ['SCMP_CMP_GT', 0x100000000n, 0xffffffffn, false],
    ['SCMP_CMP_GT', 0x100000000n, 0x100000001n, true],
    ['SCMP_CMP_GE', 0x100000000n, 0x100000000n, true],
    ['SCMP_CMP_GE', 1n << 63n, (1n << 63n) - 1n, false],
    ['SCMP_CMP_LT', 0x100000000n, 0xffffffffn, true],
    ['SCMP_CMP_LT', 0x100000000n, 0x100000000n, false],
    ['SCMP_CMP_LT', U64, U64 - 1n, true],
    ['SCMP_CMP_LE', 0n, 0n, true],
    ['SCMP_CMP_LE', 0xffffffffn, 0x100000000n, false],
    ['SCMP_CMP_MASKED_EQ', 0xff00000000n, 0x1334567800n, false],
    ['SCMP_CMP_MASKED_EQ', 0xff00000000n, 0x12ffffffffn, true],
    ['SCMP_CMP_MASKED_EQ', 0xff000000ffn, 0x12000000ffn, true],
  ];

  it('compare 64-bit values exactly as compiled (getpid ignores its arguments, the filter does not)', () => {
    for (const [op, value, arg, match] of cases) {
      const a: LinuxSeccompArg = { index: 2, value, op };
      if (op === 'SCMP_CMP_MASKED_EQ') a.valueTwo = 0x12000000ffn;
      const p = allow([{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 77, args: [a] }]);
      assert.equal(errnoOf(probe(p, NR.getpid, [0, 0, arg])), match ? 77 : 0, `${op} ${value} vs ${arg}`);
    }
  });

  it('Docker\'s personality rules: 0xffffffff and 0 allowed, 1 and 0x100000000 denied', () => {
    const p = docker();
    const ok = probe(p, NR.personality, [0xffffffff]);
    assert.equal(errnoOf(ok), 0, 'personality(0xffffffff) queries the persona');
    assert.equal(errnoOf(probe(p, NR.personality, [0])), 0);
    assert.equal(errnoOf(probe(p, NR.personality, [8])), 0);
    assert.equal(errnoOf(probe(p, NR.personality, [1])), EPERM);
    assert.equal(errnoOf(probe(p, NR.personality, [0x100000000n])), EPERM, 'the high word counts');
  });

  it('MASKED_EQ on clone flags: CLONE_NEWUSER denied, a plain fork allowed; unshare -U is EPERM', () => {
    const p = docker();
    const fork = probe(p, NR.clone, [17]); // SIGCHLD
    assert.equal(errnoOf(fork), 0);
    assert.ok((fork as { ret: bigint }).ret > 0n, 'the parent sees the child pid');
    assert.equal(errnoOf(probe(p, NR.clone, [0x10000000 | 17])), EPERM);
    assert.equal(errnoOf(probe(p, NR.clone, [0x20000 | 17])), EPERM, 'CLONE_NEWNS');
    const o = under(p, [BUSYBOX, 'unshare', '-U', 'true']);
    assert.notEqual(o.status, 0);
    assert.match(o.stderr, /Operation not permitted/);
    assert.equal(errnoOf(probe(p, NR.unshare, [0x10000000])), EPERM);
  });
});

describe('seccomp filters in the kernel: architectures', () => {
  const mkdirDenied = (architectures: LinuxSeccomp['architectures']): LinuxSeccomp =>
    allow([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: EACCES }], { architectures });

  it('the x32 bit is no way around an x86_64 denial', () => {
    const control = errnoOf(probe(null, X32 | NR.mkdir, [0]));
    assert.ok(control === ENOSYS || control === EFAULT, `control: ENOSYS without the x32 ABI, else EFAULT (got ${control})`);
    // x32 not in the filter: the bad-arch action kills
    assert.deepEqual(probe(mkdirDenied(['SCMP_ARCH_X86_64']), X32 | NR.mkdir, [0]), { signal: 'SIGSYS' });
    assert.deepEqual(probe(mkdirDenied(['SCMP_ARCH_X86_64']), X32 | NR.getpid), { signal: 'SIGSYS' });
    // x32 in the filter: the same rule by name
    assert.equal(errnoOf(probe(mkdirDenied(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32']), X32 | NR.mkdir, [0])), EACCES);
    // Docker's profile lists x32: keyctl is denied there too
    assert.equal(errnoOf(probe(docker(), X32 | NR.keyctl)), EPERM);
    assert.equal(errnoOf(probe(docker(), X32 | NR.mount)), EPERM);
  });

  it('i386 calls (int $0x80) are the bad arch unless SCMP_ARCH_X86 is listed, then use i386 numbers', (t) => {
    const control = probe(null, I386.getpid, [], ['-32']);
    if (!('errno' in control) || control.errno !== 0) {
      t.skip('this kernel runs no i386 system calls (IA32 emulation off)');
      return;
    }
    assert.deepEqual(probe(mkdirDenied(['SCMP_ARCH_X86_64']), I386.mkdir, [0], ['-32']), { signal: 'SIGSYS' });
    assert.equal(errnoOf(probe(mkdirDenied(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']), I386.mkdir, [0], ['-32'])), EACCES);
    assert.equal(errnoOf(probe(mkdirDenied(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']), I386.getpid, [], ['-32'])), 0);
    assert.equal(errnoOf(probe(docker(), I386.getpid, [], ['-32'])), 0);
    assert.equal(errnoOf(probe(docker(), I386.keyctl, [], ['-32'])), EPERM);
  });
});

describe('seccomp filters in the kernel: Docker\'s default profile', () => {
  it('allows a busybox shell session', () => {
    const work = fs.mkdtempSync(path.join(tmp, 'sh-'));
    const script = [
      'set -e',
      `cd ${work}`,
      'mkdir sub',
      'echo hello > sub/file',
      'cat sub/file',
      'ls',
      'ls / > /dev/null',
      'sh -c "echo nested"',
      'cat /proc/self/status | grep -q Seccomp',
      'rm -r sub',
      'echo done',
    ].join('\n');
    const o = under(docker(), [BUSYBOX, 'sh', '-c', script]);
    assert.equal(o.status, 0, o.stderr);
    assert.equal(o.stdout, 'hello\nsub\nnested\ndone\n');
    const st = under(docker(), [BUSYBOX, 'grep', '^Seccomp:', '/proc/self/status']);
    assert.match(st.stdout, /^Seccomp:\s+2$/m, 'filter mode');
  });

  it('denies keyctl, bpf, perf_event_open, userfaultfd, reboot, unshare(CLONE_NEWUSER), mount, open_by_handle_at, clock_settime', () => {
    const p = docker();
    for (const [name, args] of [
      ['keyctl', [0]], ['bpf', [0, 0, 0]], ['perf_event_open', [0, 0, -1, -1, 0]], ['userfaultfd', [0]],
      ['reboot', [0, 0, 0, 0]], ['unshare', [0x10000000]], ['mount', [0, 0, 0, 0, 0]], ['open_by_handle_at', [0, 0, 0]],
      ['clock_settime', [0, 0]],
    ] as const) {
      const a = args.map((x) => BigInt.asUintN(64, BigInt(x)));
      assert.equal(errnoOf(probe(p, NR[name], a)), EPERM, name);
    }
  });

  it('gives clone3 and syscalls newer than the profile ENOSYS', () => {
    const p = docker();
    assert.equal(errnoOf(probe(p, NR.clone3, [0, 0])), ENOSYS);
    assert.equal(errnoOf(probe(p, 1000)), ENOSYS);
  });

  it('with CAP_SYS_ADMIN, mount reaches the kernel (EFAULT for NULL arguments)', () => {
    assert.equal(errnoOf(probe(docker([...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']), NR.mount, [0, 0, 0, 0, 0])), EFAULT);
  });
});
