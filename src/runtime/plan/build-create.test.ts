import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as proc from '../../kernel/proc';
import { CLONE, MS, S_IF } from '../../kernel/constants';
import { MOUNTINFO_UNIFIED } from '../cgroups/fake-kernel';
import { detectLayout } from '../cgroups/layout';
import { RuntimeError } from '../errors';
import type { Spec } from '../spec/types';
import { CreatePlanInput, buildCreatePlan, hookRecord } from './build-create';
import { capabilityMasks, hex } from './capabilities';
import { PlanRecord, encodePlan } from './encode';
import {
  AT_EMPTY_PATH, AT_RECURSIVE, CloneRequest, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE, ProbeResult, ROOTFS_IDMAP_ANNOTATION,
} from './idmap';

const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-build-create-test-'));
fs.mkdirSync(path.join(bundle, 'data'));
after(() => fs.rmSync(bundle, { recursive: true, force: true }));

const ROOTFS = path.join(bundle, 'rootfs'); // only named in the plan, never touched
const FIFO = '/run/berth/c1/exec.fifo';
const PROCS = '/sys/fs/cgroup/berth/c1/cgroup.procs';
const CAP_SYS_RESOURCE = 1n << 24n;
const HAS_KCORE = fs.existsSync('/proc/kcore');

function baseSpec(): Spec {
  return {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'mount' }] },
  };
}

function input(spec: Spec, over: Partial<CreatePlanInput> = {}): CreatePlanInput {
  return {
    spec,
    bundle,
    rootfs: ROOTFS,
    fifo: FIFO,
    cgroupProcs: [PROCS],
    cgroup: { layout: detectLayout(MOUNTINFO_UNIFIED), dirs: { unified: '/sys/fs/cgroup/berth/c1' }, newCgroupNs: true },
    foreground: false,
    noPivot: false,
    ...over,
  };
}

const build = (spec: Spec, over: Partial<CreatePlanInput> = {}) => buildCreatePlan(input(spec, over));
const kinds = (ops: PlanRecord[]) => ops.map((o) => String(o[0]).slice(3));

function throwsRuntimeError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

/** Pretend berth-runtime holds exactly `caps` (the stage reads /proc/self/status otherwise). */
const holdCaps = (t: TestContext, caps: bigint) => t.mock.method(proc, 'heldCapabilities', () => caps);
const ownHardLimits = (t: TestContext, limits: [string, bigint | 'unlimited'][]) => t.mock.method(proc, 'hardLimits', () => new Map(limits));

describe('buildCreatePlan: header', () => {
  test('a minimal spec: mode, fifo, cgroup file, setsid, unshare of the mount namespace', () => {
    assert.deepEqual(build(baseSpec()).plan.header, [['mode', 'create'], ['fifo', FIFO], ['cgroup', PROCS], ['setsid'], ['unshare', CLONE.NEWNS]]);
  });

  test('no fifo record when no fifo is given (a plan that starts at once)', () => {
    assert.equal(build(baseSpec(), { fifo: undefined }).plan.has('fifo'), false);
  });

  test('one cgroup record per cgroup.procs file, in order', () => {
    const files = ['/sys/fs/cgroup/cpu/c1/cgroup.procs', '/sys/fs/cgroup/memory/c1/cgroup.procs', '/sys/fs/cgroup/unified/c1/cgroup.procs'];
    assert.deepEqual(build(baseSpec(), { cgroupProcs: files }).plan.header.filter((r) => r[0] === 'cgroup'), files.map((f) => ['cgroup', f]));
  });

  test('foreground adds a "foreground" record before setsid', () => {
    assert.deepEqual(build(baseSpec(), { foreground: true }).plan.header.slice(3, 5), [['foreground'], ['setsid']]);
  });

  test('a terminal without a console socket asks for the pty proxy', () => {
    const s = baseSpec();
    s.process!.terminal = true;
    assert.deepEqual(build(s, { foreground: true }).plan.header.slice(3, 6), [['foreground'], ['ptyproxy'], ['setsid']]);
  });

  test('a terminal with a console socket has no pty proxy; the stage parent connects the socket', () => {
    const s = baseSpec();
    s.process!.terminal = true;
    const { plan } = build(s, { consoleSocket: '/tmp/console.sock' });
    assert.equal(plan.has('ptyproxy'), false);
    assert.ok(plan.header.some((r) => r[0] === 'consolesock' && r[1] === '/tmp/console.sock'));
  });

  test('sysctls outside the container\'s own namespaces are refused (they would change the host)', () => {
    const host = baseSpec();
    host.linux!.sysctl = { 'vm.swappiness': '10' };
    throwsRuntimeError(() => build(host), /sysctl "vm.swappiness" is not in a separate kernel namespace/);
    const net = baseSpec();
    net.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    throwsRuntimeError(() => build(net), /needs a network namespace of the container's own/);
  });

  test('no terminal, no pty proxy', () => {
    assert.equal(build(baseSpec(), { foreground: true }).plan.has('ptyproxy'), false);
  });

  test('oomScoreAdj equal to our own is passed as an "oom" record after the cgroup records', () => {
    const s = baseSpec();
    const own = proc.ownOomScoreAdj();
    s.process!.oomScoreAdj = own;
    assert.deepEqual(build(s).plan.header.slice(2, 4), [['cgroup', PROCS], ['oom', own]]);
  });

  test('oomScoreAdj below our own without CAP_SYS_RESOURCE is a RuntimeError', (t) => {
    holdCaps(t, 0n);
    t.mock.method(proc, 'ownOomScoreAdj', () => 0);
    const s = baseSpec();
    s.process!.oomScoreAdj = -500;
    throwsRuntimeError(
      () => build(s),
      "config.json: process: oomScoreAdj -500 is below berth-runtime's own (0); lowering it needs CAP_SYS_RESOURCE, which this host does not grant",
    );
  });

  test('oomScoreAdj below our own is allowed with CAP_SYS_RESOURCE', (t) => {
    holdCaps(t, CAP_SYS_RESOURCE);
    t.mock.method(proc, 'ownOomScoreAdj', () => 0);
    const s = baseSpec();
    s.process!.oomScoreAdj = -500;
    assert.deepEqual(build(s).plan.header[3], ['oom', -500]);
  });

  test('namespaces with a path are joined in JOIN_ORDER: user first, mount last', () => {
    const s = baseSpec();
    s.linux!.namespaces = (['mount', 'time', 'pid', 'network', 'uts', 'ipc', 'cgroup', 'user'] as const).map((type) => ({ type, path: `/proc/99/ns/${type}` }));
    assert.deepEqual(build(s).plan.header.slice(4), [
      ['join', 'user', '/proc/99/ns/user'],
      ['join', 'cgroup', '/proc/99/ns/cgroup'],
      ['join', 'ipc', '/proc/99/ns/ipc'],
      ['join', 'uts', '/proc/99/ns/uts'],
      ['join', 'network', '/proc/99/ns/network'],
      ['join', 'pid', '/proc/99/ns/pid'],
      ['join', 'time', '/proc/99/ns/time'],
      ['join', 'mount', '/proc/99/ns/mount'],
      ['unshare', 0],
    ]);
  });

  test('every new namespace but user goes into the unshare flags', () => {
    const s = baseSpec();
    s.linux!.namespaces = (['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup', 'time'] as const).map((type) => ({ type }));
    assert.deepEqual(build(s).plan.header.at(-1), [
      'unshare',
      CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWTIME,
    ]);
  });

  test('a new user namespace: "userns", uid/gid maps as "container host size\\n" lines, and no CLONE_NEWUSER in unshare', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user' }, { type: 'mount' }, { type: 'pid' }];
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 1000, hostID: 5, size: 1 }];
    assert.deepEqual(build(s).plan.header.slice(4), [
      ['userns'],
      ['uidmap', '0 100000 65536\n'],
      ['gidmap', '0 100000 1000\n1000 5 1\n'],
      ['unshare', CLONE.NEWNS | CLONE.NEWPID],
    ]);
  });

  test('a new user namespace without mappings writes empty maps', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user' }, { type: 'mount' }];
    assert.deepEqual(build(s).plan.header.slice(4, 7), [['userns'], ['uidmap', ''], ['gidmap', '']]);
  });

  test('joining a user namespace is a join record, not "userns"', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user', path: '/proc/7/ns/user' }, { type: 'mount' }];
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    assert.deepEqual(build(s).plan.header.slice(4), [['join', 'user', '/proc/7/ns/user'], ['unshare', CLONE.NEWNS]]);
  });

  test('time offsets: a "timens" record after unshare, clock ids monotonic=1 and boottime=7, missing fields 0', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'time' }];
    s.linux!.timeOffsets = { monotonic: { secs: 5, nanosecs: 10 }, boottime: { secs: -3 } };
    assert.deepEqual(build(s).plan.header.slice(-2), [['unshare', CLONE.NEWNS | CLONE.NEWTIME], ['timens', '1 5 10\n7 -3 0\n']]);
  });

  test('time offsets with 64-bit seconds are written exactly', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'time' }];
    s.linux!.timeOffsets = { boottime: { secs: 9007199254740993n, nanosecs: 1 } };
    assert.deepEqual(build(s).plan.header.at(-1), ['timens', '7 9007199254740993 1\n']);
  });

  test('empty timeOffsets need no time namespace and write nothing', () => {
    const s = baseSpec();
    s.linux!.timeOffsets = {};
    assert.equal(build(s).plan.has('timens'), false);
  });
});

describe('buildCreatePlan: errors', () => {
  test('a spec without process', () => {
    const s = baseSpec();
    delete s.process;
    throwsRuntimeError(() => build(s), 'config.json: process: a container needs a process to run');
  });

  test('no mount namespace', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'pid' }, { type: 'network' }];
    throwsRuntimeError(() => build(s), /^config\.json: linux\.namespaces: berth-runtime needs a mount namespace \(add \{"type": "mount"\}\)/);
  });

  test('no linux section at all (so no mount namespace)', () => {
    const s = baseSpec();
    delete s.linux;
    throwsRuntimeError(() => build(s), /needs a mount namespace/);
  });

  test('a hostname without a UTS namespace', () => {
    const s = baseSpec();
    s.hostname = 'box';
    throwsRuntimeError(() => build(s), 'config.json: hostname: setting a hostname needs a UTS namespace (add {"type": "uts"} to linux.namespaces)');
  });

  test('a domainname without a UTS namespace', () => {
    const s = baseSpec();
    s.domainname = 'example.org';
    throwsRuntimeError(() => build(s), /domainname: setting a domainname needs a UTS namespace/);
  });

  test('time offsets without a time namespace', () => {
    const s = baseSpec();
    s.linux!.timeOffsets = { monotonic: { secs: 1 } };
    throwsRuntimeError(
      () => build(s),
      'config.json: linux.timeOffsets: time offsets need a new time namespace (add {"type": "time"} to linux.namespaces)',
    );
  });

  test('time offsets with a joined (not new) time namespace', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'time', path: '/proc/7/ns/time' }];
    s.linux!.timeOffsets = { monotonic: { secs: 1 } };
    throwsRuntimeError(() => build(s), /time offsets need a new time namespace/);
  });
});

describe('buildCreatePlan: ops', () => {
  test('a minimal spec: private /, rootfs self-bind, rootfs open, default devices, /dev symlinks, pivot_root', () => {
    const { plan } = build(baseSpec());
    assert.deepEqual(plan.ops.slice(0, 3), [
      ['op:mount_abs', '', '/', '', MS.PRIVATE | MS.REC, ''],
      ['op:mount_abs', ROOTFS, ROOTFS, '', MS.BIND | MS.REC, ''],
      ['op:rootfs', ROOTFS],
    ]);
    // The process cwd is created (mkdir) before the devices, as runc does.
    assert.deepEqual(kinds(plan.ops.slice(3)), ['mkdir', ...Array(6).fill('mknod'), ...Array(HAS_KCORE ? 5 : 4).fill('symlink'), 'pivot_root']);
    assert.deepEqual(plan.ops.at(-1), ['op:pivot_root']);
  });

  test('descriptions line up with ops', () => {
    const { plan } = build(baseSpec());
    assert.equal(plan.descriptions.length, plan.ops.length);
    assert.equal(plan.describe(0), 'making the mount namespace private');
    assert.equal(plan.describe(1), `bind-mounting the rootfs ${ROOTFS} onto itself`);
    assert.equal(plan.describe(2), `opening the rootfs ${ROOTFS}`);
    assert.equal(plan.describe(plan.ops.length - 1), `pivot_root into ${ROOTFS}`);
  });

  test('full op order: mounts, devices, symlinks, console, hooks, pivot_root, sysctl, readonly, mask, root ro, hostname, startContainer hooks, rlimits', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'network' }];
    s.hostname = 'box';
    s.domainname = 'example.org';
    s.root!.readonly = true;
    s.mounts = [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts' },
      { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] },
    ];
    s.linux!.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }];
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    s.linux!.readonlyPaths = ['/proc/sys'];
    s.linux!.maskedPaths = ['/proc/kcore', '/proc/keys'];
    s.hooks = {
      prestart: [{ path: '/bin/prestart' }],
      createContainer: [{ path: '/bin/cc' }],
      startContainer: [{ path: '/bin/sc' }],
    };
    s.process!.terminal = true;
    s.process!.rlimits = [{ type: 'RLIMIT_CORE', soft: 0, hard: 0 }];
    const { plan } = build(s, { consoleSocket: '/tmp/c.sock' });
    assert.deepEqual(kinds(plan.ops), [
      'mount_abs', 'mount_abs', 'rootfs',
      'mount', 'mount', 'mount', 'mount', 'mount', 'mkdir',
      ...Array(7).fill('mknod'),
      ...Array(HAS_KCORE ? 6 : 5).fill('symlink'),
      'console', 'hooks_sync', 'hook', 'pivot_root',
      'loopback', 'write', 'readonly', 'mask', 'mask', 'remount_root_ro',
      'hostname', 'domainname', 'hook', 'rlimit',
    ]);
  });

  test('sysctl keys become /proc/sys paths (dots to slashes) written with their value, after pivot_root', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'network' }, { type: 'ipc' }];
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel/shm_rmid_forced': '1 2' };
    const ops = build(s).plan.ops;
    const pivot = ops.findIndex((o) => o[0] === 'op:pivot_root');
    assert.deepEqual(ops.slice(pivot + 1), [
      ['op:loopback'],
      ['op:write', '/proc/sys/net/ipv4/ip_forward', '1'],
      ['op:write', '/proc/sys/kernel/shm_rmid_forced', '1 2'],
    ]);
  });

  test('readonly, mask and remount_root_ro ops carry the container paths', () => {
    const s = baseSpec();
    s.linux!.readonlyPaths = ['/proc/bus', '/proc/fs'];
    s.linux!.maskedPaths = ['/proc/acpi'];
    s.root!.readonly = true;
    assert.deepEqual(build(s).plan.ops.slice(-4), [['op:readonly', '/proc/bus'], ['op:readonly', '/proc/fs'], ['op:mask', '/proc/acpi'], ['op:remount_root_ro']]);
  });

  test('hostname and domainname ops', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }];
    s.hostname = 'box';
    s.domainname = 'example.org';
    assert.deepEqual(build(s).plan.ops.slice(-2), [['op:hostname', 'box'], ['op:domainname', 'example.org']]);
  });

  test('noPivot: chroot instead of pivot_root', () => {
    const ops = build(baseSpec(), { noPivot: true }).plan.ops;
    assert.deepEqual(ops.at(-1), ['op:chroot']);
    assert.equal(ops.some((o) => o[0] === 'op:pivot_root'), false);
  });

  for (const [prop, first, afterPivot] of [
    ['slave', MS.SLAVE | MS.REC, MS.SLAVE],
    ['rslave', MS.SLAVE | MS.REC, MS.SLAVE | MS.REC],
    ['shared', MS.PRIVATE | MS.REC, MS.SHARED],
    ['rshared', MS.PRIVATE | MS.REC, MS.SHARED | MS.REC],
    ['private', MS.PRIVATE | MS.REC, MS.PRIVATE],
    ['unbindable', MS.PRIVATE | MS.REC, MS.UNBINDABLE],
    ['runbindable', MS.PRIVATE | MS.REC, MS.UNBINDABLE | MS.REC],
  ] as const) {
    test(`rootfsPropagation "${prop}": / made 0x${first.toString(16)} first, set to 0x${afterPivot.toString(16)} after pivot_root`, () => {
      const s = baseSpec();
      s.linux!.rootfsPropagation = prop;
      const ops = build(s).plan.ops;
      assert.deepEqual(ops[0], ['op:mount_abs', '', '/', '', first, '']);
      assert.deepEqual(ops.slice(-2), [['op:pivot_root'], ['op:mount_abs', '', '/', '', afterPivot, '']]);
    });
  }

  test('rootfsPropagation "rprivate" adds nothing after pivot_root', () => {
    const s = baseSpec();
    s.linux!.rootfsPropagation = 'rprivate';
    assert.deepEqual(build(s).plan.ops.at(-1), ['op:pivot_root']);
  });

  test('spec devices come after the defaults; a spec device replaces the default of the same path', () => {
    const s = baseSpec();
    s.linux!.devices = [{ type: 'c', path: '/dev/tty', major: 5, minor: 0, fileMode: 0o620, gid: 5 }];
    const mknods = build(s).plan.ops.filter((o) => o[0] === 'op:mknod');
    assert.deepEqual(mknods.map((o) => o[1]), ['dev/null', 'dev/zero', 'dev/full', 'dev/random', 'dev/urandom', 'dev/tty']);
    assert.deepEqual(mknods[5], ['op:mknod', 'dev/tty', S_IF.CHR | 0o620, 5, 0, 0, 5]);
  });

  test('with a new user namespace devices are bind-mounted from the host', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user' }, { type: 'mount' }];
    const ops = build(s).plan.ops;
    assert.equal(ops.some((o) => o[0] === 'op:mknod'), false);
    assert.deepEqual(ops[4], ['op:mount', 'dev/null', '/dev/null', '', MS.BIND, '', 'file', 0]);
  });

  test('a new user namespace sharing the host network binds the host /sys instead of mounting sysfs', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user' }, { type: 'mount' }];
    s.mounts = [{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }];
    assert.deepEqual(build(s).plan.ops[3], ['op:mount', 'sys', '/sys', '', MS.BIND | MS.REC, '', 'dir', 0]);
  });

  test('a new user namespace with a new network namespace mounts sysfs', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user' }, { type: 'mount' }, { type: 'network' }];
    s.mounts = [{ destination: '/sys', type: 'sysfs', source: 'sysfs' }];
    assert.deepEqual(build(s).plan.ops[3], ['op:mount', 'sys', 'sysfs', 'sysfs', 0, '', 'dir', 0]);
  });

  test('without a user namespace sysfs is mounted even when sharing the host network', () => {
    const s = baseSpec();
    s.mounts = [{ destination: '/sys', type: 'sysfs', source: 'sysfs' }];
    assert.deepEqual(build(s).plan.ops[3], ['op:mount', 'sys', 'sysfs', 'sysfs', 0, '', 'dir', 0]);
  });

  test('a /dev/pts mount adds the /dev/ptmx symlink', () => {
    const s = baseSpec();
    s.mounts = [{ destination: '/dev/pts/', type: 'devpts', source: 'devpts' }];
    assert.ok(build(s).plan.ops.some((o) => o[0] === 'op:symlink' && o[1] === 'dev/ptmx' && o[2] === 'pts/ptmx'));
    assert.equal(build(baseSpec()).plan.ops.some((o) => o[1] === 'dev/ptmx'), false);
  });

  test('a bind-mounted /dev (type bind) gets no device nodes and no /dev symlinks', () => {
    const s = baseSpec();
    s.mounts = [{ destination: '/dev', type: 'bind', source: 'data' }];
    assert.deepEqual(kinds(build(s).plan.ops), ['mount_abs', 'mount_abs', 'rootfs', 'mount', 'mkdir', 'pivot_root']);
  });

  test('a /dev mount with an "rbind" option (any type) counts as a bind too', () => {
    const s = baseSpec();
    s.mounts = [{ destination: '/dev/', type: 'none', source: 'data', options: ['rbind'] }];
    assert.deepEqual(kinds(build(s).plan.ops), ['mount_abs', 'mount_abs', 'rootfs', 'mount', 'mkdir', 'pivot_root']);
  });

  test('a joined mount namespace: only the rootfs open, no mounts, devices, pivot or path ops', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount', path: '/proc/7/ns/mnt' }, { type: 'uts' }];
    s.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
    s.linux!.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }];
    s.linux!.readonlyPaths = ['/proc/sys'];
    s.linux!.maskedPaths = ['/proc/kcore'];
    s.linux!.sysctl = { 'kernel.domainname': 'x' };
    s.root!.readonly = true;
    s.hostname = 'box';
    s.process!.terminal = true;
    assert.deepEqual(build(s, { consoleSocket: '/tmp/c.sock' }).plan.ops, [
      ['op:rootfs', ROOTFS],
      ['op:console', '', 0, 0, ''],
      ['op:write', '/proc/sys/kernel/domainname', 'x'],
      ['op:hostname', 'box'],
    ]);
  });

  test('the console op carries the socket, rows, columns and the dev/console target', () => {
    const s = baseSpec();
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 24, width: 80 };
    assert.deepEqual(build(s, { foreground: true }).plan.ops.find((o) => o[0] === 'op:console'), ['op:console', '', 24, 80, 'dev/console']);
  });

  test('no hooks: no hooks_sync op', () => {
    const s = baseSpec();
    s.hooks = { prestart: [], createContainer: [] };
    assert.equal(build(s).plan.ops.some((o) => o[0] === 'op:hooks_sync' || o[0] === 'op:hook'), false);
  });

  test('runtime-side hooks alone (prestart) still need the hooks_sync op, but no hook op', () => {
    const s = baseSpec();
    s.hooks = { prestart: [{ path: '/bin/p' }] };
    const ops = build(s).plan.ops;
    assert.equal(ops.filter((o) => o[0] === 'op:hooks_sync').length, 1);
    assert.equal(ops.some((o) => o[0] === 'op:hook'), false);
  });

  test('poststart/poststop hooks also trigger hooks_sync (any non-empty hook list does)', () => {
    const s = baseSpec();
    s.hooks = { poststop: [{ path: '/bin/p' }] };
    assert.equal(build(s).plan.ops.filter((o) => o[0] === 'op:hooks_sync').length, 1);
  });

  test('createContainer hooks run before pivot_root, startContainer hooks after hostname, each in order', () => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }];
    s.hostname = 'box';
    s.hooks = {
      createContainer: [{ path: '/bin/cc1' }, { path: '/bin/cc2', args: ['cc2', '-x'], env: ['A=1'], timeout: 3 }],
      startContainer: [{ path: '/bin/sc' }],
    };
    const ops = build(s).plan.ops;
    const i = ops.findIndex((o) => o[0] === 'op:pivot_root');
    assert.deepEqual(ops.slice(i - 3, i), [
      ['op:hooks_sync'],
      ['op:hook', 'createContainer', 0, '/bin/cc1', 1, '/bin/cc1'],
      ['op:hook', 'createContainer', 3, '/bin/cc2', 2, 'cc2', '-x', 'A=1'],
    ]);
    assert.deepEqual(ops.slice(-2), [['op:hostname', 'box'], ['op:hook', 'startContainer', 0, '/bin/sc', 1, '/bin/sc']]);
  });

  test('hookRecord: phase, timeout (0 if none), path, argc, argv, then env', () => {
    assert.deepEqual(hookRecord('createRuntime', { path: '/h', args: ['h', 'a'], env: ['X=1', 'Y=2'], timeout: 10 }), ['createRuntime', 10, '/h', 2, 'h', 'a', 'X=1', 'Y=2']);
  });

  test('hookRecord: empty args means argv = [path]', () => {
    assert.deepEqual(hookRecord('prestart', { path: '/h', args: [] }), ['prestart', 0, '/h', 1, '/h']);
  });

  test('rlimits are the last ops: resource number, soft and hard as bigints', () => {
    const s = baseSpec();
    const nofile = proc.hardLimits().get('RLIMIT_NOFILE');
    const n = nofile === undefined || nofile === 'unlimited' || nofile >= 1024n ? 1024n : nofile;
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: Number(n), hard: Number(n) }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }];
    const { plan } = build(s);
    assert.deepEqual(plan.ops.slice(-2), [['op:rlimit', 7, n, n], ['op:rlimit', 4, 0n, 0n]]);
    assert.equal(plan.describe(plan.ops.length - 1), 'setting RLIMIT_CORE to 0/0');
  });

  test('a 64-bit rlimit (RLIM_INFINITY) is carried exactly when allowed', (t) => {
    ownHardLimits(t, [['RLIMIT_CPU', 'unlimited']]);
    const s = baseSpec();
    s.process!.rlimits = [{ type: 'RLIMIT_CPU', soft: 18446744073709551615n, hard: 18446744073709551615n }];
    assert.deepEqual(build(s).plan.ops.at(-1), ['op:rlimit', 0, 18446744073709551615n, 18446744073709551615n]);
  });
});

describe('buildCreatePlan: idmapped rootfs and mounts', () => {
  const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const OWN = [{ containerID: 1000, hostID: 100000, size: 1 }];
  const CLONE_RECURSIVE = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
  const usernsSpec = (annotation?: string): Spec => {
    const s = baseSpec();
    s.linux!.namespaces = [{ type: 'user' }, { type: 'mount' }];
    s.linux!.uidMappings = MAP;
    s.linux!.gidMappings = MAP;
    if (annotation !== undefined) s.annotations = { [ROOTFS_IDMAP_ANNOTATION]: annotation };
    return s;
  };
  const answer = (...steps: ProbeResult[]) => {
    const asked: CloneRequest[][] = [];
    return { asked, idmapProbe: (reqs: readonly CloneRequest[]) => (asked.push([...reqs]), steps) };
  };
  const OK: ProbeResult = { step: 'ok', errno: 0 };

  test('the annotation replaces the rootfs self-bind with attaching clone 0, idmapped to the container\'s maps', () => {
    const probe = answer(OK);
    const { plan } = build(usernsSpec('true'), { idmapProbe: probe.idmapProbe });
    assert.deepEqual(plan.ops.slice(0, 3), [
      ['op:mount_abs', '', '/', '', MS.PRIVATE | MS.REC, ''],
      ['op:attach_clone', 0, ROOTFS, 'abs'],
      ['op:rootfs', ROOTFS],
    ]);
    assert.equal(plan.describe(1), `mounting the rootfs ${ROOTFS} idmapped to the container's IDs`);
    assert.deepEqual(plan.header.slice(-2), [
      ['idmap_userns', 0, '0 100000 65536\n', '0 100000 65536\n'],
      ['mount_clone', 0, ROOTFS, CLONE_RECURSIVE, 0, AT_EMPTY_PATH | AT_RECURSIVE],
    ]);
    assert.equal(probe.asked.length, 1);
  });

  test('"false" or no annotation: the self-bind, and the kernel is not asked', () => {
    for (const s of [usernsSpec('false'), usernsSpec()]) {
      const { plan } = build(s, { idmapProbe: () => assert.fail('asked the kernel') });
      assert.deepEqual(plan.ops[1], ['op:mount_abs', ROOTFS, ROOTFS, '', MS.BIND | MS.REC, '']);
      assert.equal(plan.header.some((r) => r[0] === 'mount_clone' || r[0] === 'idmap_userns'), false);
    }
  });

  test('rootfs and bind mounts share a user namespace when their maps are equal; clones are numbered in op order', () => {
    const s = usernsSpec('true');
    s.mounts = [
      { destination: '/a', type: 'bind', source: 'data', options: ['rbind', 'idmap'] },
      { destination: '/b', type: 'bind', source: 'data', uidMappings: OWN, gidMappings: OWN },
    ];
    const { plan } = build(s, { idmapProbe: answer(OK, OK, OK).idmapProbe });
    const data = path.join(bundle, 'data');
    assert.deepEqual(plan.ops.filter((o) => o[0] === 'op:attach_clone'), [
      ['op:attach_clone', 0, ROOTFS, 'abs'],
      ['op:attach_clone', 1, 'a', 'dir'],
      ['op:attach_clone', 2, 'b', 'dir'],
    ]);
    assert.deepEqual(plan.header.filter((r) => r[0] === 'idmap_userns' || r[0] === 'mount_clone'), [
      ['idmap_userns', 0, '0 100000 65536\n', '0 100000 65536\n'],
      ['idmap_userns', 1, '1000 100000 1\n', '1000 100000 1\n'],
      ['mount_clone', 0, ROOTFS, CLONE_RECURSIVE, 0, AT_EMPTY_PATH | AT_RECURSIVE],
      ['mount_clone', 1, data, CLONE_RECURSIVE, 0, AT_EMPTY_PATH],
      ['mount_clone', 2, data, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, 1, AT_EMPTY_PATH],
    ]);
  });

  test('an idmapped bind mount needs no user namespace of the container when it brings its own maps', () => {
    const s = baseSpec();
    s.mounts = [{ destination: '/b', type: 'bind', source: 'data', uidMappings: OWN, gidMappings: OWN }];
    const { plan } = build(s, { idmapProbe: answer(OK).idmapProbe });
    assert.ok(plan.ops.some((o) => o[0] === 'op:attach_clone' && o[2] === 'b'));
  });

  test('a refused rootfs: the ops stay, the clone is of a chowned copy in the state dir (fifo\'s dir), and a warning says so', (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root (chown)');
    const rootfs = path.join(bundle, 'refused-rootfs');
    fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
    const stateDir = fs.mkdtempSync(path.join(bundle, 'state-'));
    const warnings: string[] = [];
    const { plan } = build(usernsSpec('true'), {
      rootfs, fifo: path.join(stateDir, 'exec.fifo'), warn: (m) => warnings.push(m), idmapProbe: answer({ step: 'mount_setattr', errno: 22 }).idmapProbe,
    });
    const copy = path.join(stateDir, 'idmap-copies', '0');
    assert.deepEqual(plan.ops[1], ['op:attach_clone', 0, rootfs, 'abs']);
    assert.deepEqual(plan.header.filter((r) => r[0] === 'idmap_userns' || r[0] === 'mount_clone'), [['mount_clone', 0, copy, CLONE_RECURSIVE, -1, 0]]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /^the kernel refuses an idmapped mount of the rootfs .*refused-rootfs \(mount_setattr\(MOUNT_ATTR_IDMAP\): EINVAL/);
    assert.equal(fs.statSync(path.join(copy, 'etc')).uid, 100000);
    assert.equal(fs.statSync(path.join(rootfs, 'etc')).uid, 0, 'the original is not chowned');
  });

  test('errors: annotation without a user namespace, a joined mount namespace, or a bad value', () => {
    const noUserns = baseSpec();
    noUserns.annotations = { [ROOTFS_IDMAP_ANNOTATION]: 'true' };
    throwsRuntimeError(() => build(noUserns), /annotations\["org\.berth\.rootfs\.idmap"\]: an idmapped rootfs needs a new user namespace/);
    const joined = usernsSpec('true');
    joined.linux!.namespaces = [{ type: 'user' }, { type: 'mount', path: '/proc/7/ns/mnt' }];
    throwsRuntimeError(() => build(joined), /needs a new mount namespace/);
    throwsRuntimeError(() => build(usernsSpec('1')), /must be "true" or "false" \(got "1"\)/);
  });
});

describe('buildCreatePlan: rlimit checks', () => {
  test('a hard limit above our own finite hard limit is a RuntimeError (real /proc/self/limits)', (t) => {
    if (proc.heldCapabilities() & CAP_SYS_RESOURCE) return t.skip('this process holds CAP_SYS_RESOURCE, which lifts the check');
    const finite = [...proc.hardLimits()].find((e): e is [string, bigint] => e[1] !== 'unlimited');
    if (!finite) return t.skip('every hard limit of this process is unlimited');
    const [type, own] = finite;
    const s = baseSpec();
    s.process!.rlimits = [{ type, soft: 0, hard: own + 1n }];
    throwsRuntimeError(
      () => build(s),
      `config.json: process.rlimits ${type}: hard limit ${own + 1n} exceeds berth-runtime's own hard limit ${own}, ` +
        `and raising it needs CAP_SYS_RESOURCE, which this host does not grant; lower the limit to at most ${own}`,
    );
  });

  test('a hard limit equal to our own finite hard limit is fine (real /proc/self/limits)', (t) => {
    const finite = [...proc.hardLimits()].find((e): e is [string, bigint] => e[1] !== 'unlimited');
    if (!finite) return t.skip('every hard limit of this process is unlimited');
    const [type, own] = finite;
    const s = baseSpec();
    s.process!.rlimits = [{ type, soft: own, hard: own }];
    assert.deepEqual(build(s).plan.ops.at(-1)?.slice(2), [own, own]);
  });

  test('RLIM_INFINITY above a finite own limit is reported as "unlimited"', (t) => {
    holdCaps(t, 0n);
    ownHardLimits(t, [['RLIMIT_NOFILE', 1024n]]);
    const s = baseSpec();
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 18446744073709551615n }];
    throwsRuntimeError(() => build(s), /^config\.json: process\.rlimits RLIMIT_NOFILE: hard limit unlimited exceeds berth-runtime's own hard limit 1024,/);
  });

  test('with CAP_SYS_RESOURCE a hard limit above our own is allowed', (t) => {
    holdCaps(t, CAP_SYS_RESOURCE);
    ownHardLimits(t, [['RLIMIT_NOFILE', 1024n]]);
    const s = baseSpec();
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 }];
    assert.deepEqual(build(s).plan.ops.at(-1), ['op:rlimit', 7, 4096n, 4096n]);
  });

  test('an unlimited own hard limit allows any value', (t) => {
    holdCaps(t, 0n);
    ownHardLimits(t, [['RLIMIT_NOFILE', 'unlimited']]);
    const s = baseSpec();
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 18446744073709551615n }];
    assert.deepEqual(build(s).plan.ops.at(-1), ['op:rlimit', 7, 1n, 18446744073709551615n]);
  });
});

describe('buildCreatePlan: process records', () => {
  test('args, env, cwd, user, groups, umask, caps and nnp, in that order', () => {
    const s = baseSpec();
    s.process = {
      user: { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o077 },
      args: ['sh', '-c', 'echo hi'],
      env: ['PATH=/bin', 'A=1'],
      cwd: '/work',
      capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN'], inheritable: [], permitted: ['CAP_CHOWN'], ambient: [] },
      noNewPrivileges: true,
    };
    const caps = capabilityMasks(s.process.capabilities, proc.heldCapabilities());
    const { plan, unavailableCaps } = build(s);
    assert.deepEqual(plan.process, [
      ['args', 'sh', '-c', 'echo hi'],
      ['env', 'PATH=/bin', 'A=1'],
      ['cwd', '/work'],
      ['user', 1000, 1001],
      ['groups', 10, 20],
      ['umask', 0o077],
      ['caps', hex(caps.bounding), hex(caps.effective), hex(caps.inheritable), hex(caps.permitted), hex(caps.ambient), proc.lastCap()],
      ['nnp'],
    ]);
    assert.deepEqual(unavailableCaps, caps.unavailable);
  });

  test('defaults: empty env and groups, umask 0o022, empty cap sets, no nnp', () => {
    const { plan } = build(baseSpec());
    assert.deepEqual(plan.process, [
      ['args', 'sh'],
      ['env'],
      ['cwd', '/'],
      ['user', 0, 0],
      ['groups'],
      ['umask', 0o022],
      ['caps', '0x0', '0x0', '0x0', '0x0', '0x0', proc.lastCap()],
    ]);
  });

  test('caps are limited to what berth-runtime holds; the rest is returned as unavailableCaps', (t) => {
    holdCaps(t, 1n); // CAP_CHOWN only
    const s = baseSpec();
    s.process!.capabilities = { bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN'], effective: ['CAP_CHOWN', 'CAP_NET_RAW'], permitted: ['CAP_CHOWN'], inheritable: ['CAP_CHOWN'], ambient: ['CAP_CHOWN'] };
    const { plan, unavailableCaps } = build(s);
    assert.deepEqual(plan.process.find((r) => r[0] === 'caps'), ['caps', '0x1', '0x1', '0x1', '0x1', '0x1', proc.lastCap()]);
    assert.deepEqual(unavailableCaps, ['CAP_NET_RAW', 'CAP_SYS_ADMIN']);
  });

  test('the encoded plan is header, then ops, then process records; execOp is the op count', () => {
    const { plan } = build(baseSpec());
    const buf = plan.encode();
    assert.equal(plan.execOp, plan.ops.length);
    assert.deepEqual(buf, encodePlan([...plan.header, ...plan.ops, ...plan.process]));
    assert.equal(plan.describe(plan.execOp), 'starting the container process');
  });
});
