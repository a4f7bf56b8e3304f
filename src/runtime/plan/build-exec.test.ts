import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as proc from '../../kernel/proc';
import { RuntimeError } from '../errors';
import type { Process, Spec } from '../spec/types';
import { ExecPlanInput, buildExecPlan } from './build-exec';
import { cgroupJoinRecords } from './cgroup-join';

const INIT = 4242;
const PROCS = '/sys/fs/cgroup/berth/c1/cgroup.procs';
const CAP_SYS_RESOURCE = 1n << 24n;

const spec: Spec = { ociVersion: '1.2.0', root: { path: 'rootfs' }, linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] } };

function execProcess(over: Partial<Process> = {}): Process {
  return { user: { uid: 0, gid: 0 }, args: ['ls', '-l'], cwd: '/', ...over };
}

function input(over: Partial<ExecPlanInput> = {}): ExecPlanInput {
  return { spec, initPid: INIT, process: execProcess(), cgroupProcs: [PROCS], detach: false, ...over };
}

/**
 * The init is in its own namespaces of the given types; every other namespace
 * file reads the same as ours. Namespace ids are otherwise read from /proc.
 */
function initNamespaces(t: TestContext, own: string[]): void {
  t.mock.method(proc, 'namespaceId', (pid: number | 'self', file: string) =>
    pid === INIT && own.includes(file) ? `${file}:[${pid}]` : `${file}:[1]`,
  );
}

test('header: mode exec, cgroup files, foreground (not detached)', (t) => {
  initNamespaces(t, []);
  assert.deepEqual(buildExecPlan(input()).plan.header, [['mode', 'exec'], ['cgroup', PROCS], ['foreground']]);
});

test('detach: no foreground record', (t) => {
  initNamespaces(t, []);
  assert.equal(buildExecPlan(input({ detach: true })).plan.has('foreground'), false);
});

test('no setsid, fifo or unshare records: exec joins, it creates nothing', (t) => {
  initNamespaces(t, ['mnt', 'pid']);
  const { plan } = buildExecPlan(input());
  for (const k of ['setsid', 'fifo', 'unshare', 'userns']) assert.equal(plan.has(k), false, k);
});

test('one join record per namespace that differs from ours, by /proc/<pid>/ns path, user first and mount last', (t) => {
  initNamespaces(t, ['mnt', 'time', 'pid', 'net', 'uts', 'ipc', 'cgroup', 'user']);
  assert.deepEqual(buildExecPlan(input()).plan.header.filter((r) => r[0] === 'join'), [
    ['join', 'user', `/proc/${INIT}/ns/user`],
    ['join', 'cgroup', `/proc/${INIT}/ns/cgroup`],
    ['join', 'ipc', `/proc/${INIT}/ns/ipc`],
    ['join', 'uts', `/proc/${INIT}/ns/uts`],
    ['join', 'network', `/proc/${INIT}/ns/net`],
    ['join', 'pid', `/proc/${INIT}/ns/pid`],
    ['join', 'time', `/proc/${INIT}/ns/time`],
    ['join', 'mount', `/proc/${INIT}/ns/mnt`],
  ]);
});

test('namespaces the init shares with us are not joined', (t) => {
  initNamespaces(t, ['mnt', 'pid']);
  assert.deepEqual(buildExecPlan(input()).plan.header.filter((r) => r[0] === 'join').map((r) => r[1]), ['pid', 'mount']);
});

test('an unreadable namespace of the init (e.g. it is gone) is skipped', (t) => {
  t.mock.method(proc, 'namespaceId', (pid: number | 'self', file: string) => (pid === 'self' ? `${file}:[1]` : undefined));
  assert.equal(buildExecPlan(input()).plan.has('join'), false);
});

test('our own pid as the init (real /proc): nothing to join', () => {
  assert.equal(buildExecPlan(input({ initPid: process.pid })).plan.has('join'), false);
});

test('ops: open / as the root, then rlimits', (t) => {
  initNamespaces(t, ['mnt']);
  const { plan } = buildExecPlan(input({ process: execProcess({ rlimits: [{ type: 'RLIMIT_CORE', soft: 0, hard: 0 }] }) }));
  assert.deepEqual(plan.ops, [['op:rootfs', '/'], ['op:rlimit', 4, 0n, 0n]]);
  assert.equal(plan.describe(0), 'opening the container root');
});

test('terminal without a console socket: ptyproxy and a console op with no dev/console target', (t) => {
  initNamespaces(t, ['mnt']);
  const { plan } = buildExecPlan(input({ process: execProcess({ terminal: true, consoleSize: { height: 50, width: 132 } }) }));
  assert.deepEqual(plan.header, [['mode', 'exec'], ['cgroup', PROCS], ['foreground'], ['ptyproxy'], ['join', 'mount', `/proc/${INIT}/ns/mnt`]]);
  assert.deepEqual(plan.ops, [['op:rootfs', '/'], ['op:console', '', 50, 132, '']]);
});

test('terminal with a console socket: no ptyproxy, the stage parent connects the socket before joining', (t) => {
  initNamespaces(t, []);
  const { plan } = buildExecPlan(input({ detach: true, consoleSocket: '/tmp/c.sock', process: execProcess({ terminal: true }) }));
  assert.equal(plan.has('ptyproxy'), false);
  assert.ok(plan.header.some((r) => r[0] === 'consolesock' && r[1] === '/tmp/c.sock'));
  assert.deepEqual(plan.ops[1], ['op:console', '', 0, 0, '']);
});

test('oomScoreAdj: an "oom" record after the cgroup records', (t) => {
  initNamespaces(t, []);
  const own = proc.ownOomScoreAdj();
  assert.deepEqual(buildExecPlan(input({ process: execProcess({ oomScoreAdj: own }) })).plan.header, [['mode', 'exec'], ['cgroup', PROCS], ['oom', own], ['foreground']]);
});

test('oomScoreAdj below our own without CAP_SYS_RESOURCE names the exec process', (t) => {
  initNamespaces(t, []);
  t.mock.method(proc, 'heldCapabilities', () => 0n);
  t.mock.method(proc, 'ownOomScoreAdj', () => 100);
  assert.throws(
    () => buildExecPlan(input({ process: execProcess({ oomScoreAdj: 0 }) })),
    (e: unknown) => e instanceof RuntimeError && e.message.startsWith("exec process: oomScoreAdj 0 is below berth-runtime's own (100)"),
  );
});

test('process records: the exec process, not the spec process', (t) => {
  initNamespaces(t, []);
  t.mock.method(proc, 'heldCapabilities', () => CAP_SYS_RESOURCE | 1n);
  const p = execProcess({ args: ['top'], env: ['TERM=xterm'], cwd: '/tmp', user: { uid: 33, gid: 33, additionalGids: [4] }, noNewPrivileges: true, capabilities: { bounding: ['CAP_CHOWN'] } });
  assert.deepEqual(buildExecPlan(input({ process: p })).plan.process, [
    ['args', 'top'],
    ['env', 'TERM=xterm'],
    ['cwd', '/tmp'],
    ['user', 33, 33],
    ['groups', 4],
    ['umask', 0o022],
    ['caps', '0x1', '0x0', '0x0', '0x0', '0x0', proc.lastCap()],
    ['nnp'],
  ]);
});

test('unavailable capabilities are returned', (t) => {
  initNamespaces(t, []);
  t.mock.method(proc, 'heldCapabilities', () => 0n);
  assert.deepEqual(buildExecPlan(input({ process: execProcess({ capabilities: { effective: ['CAP_SYS_ADMIN'] } }) })).unavailableCaps, ['CAP_SYS_ADMIN']);
});

test('rlimit above our own hard limit is refused for exec too', (t) => {
  initNamespaces(t, []);
  t.mock.method(proc, 'heldCapabilities', () => 0n);
  t.mock.method(proc, 'hardLimits', () => new Map([['RLIMIT_NOFILE', 100n]]));
  assert.throws(
    () => buildExecPlan(input({ process: execProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 101 }] }) })),
    /^RuntimeError: config\.json: process\.rlimits RLIMIT_NOFILE: hard limit 101 exceeds berth-runtime's own hard limit 100/,
  );
});

test('cgroupJoinRecords: v1 hierarchies by their tasks file, cgroup2 by cloning into it', () => {
  assert.deepEqual(cgroupJoinRecords({ memory: '/sys/fs/cgroup/memory/berth/c1', 'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/berth/c1', unified: '/sys/fs/cgroup/unified/berth/c1' }), [
    ['cgroupthread', '/sys/fs/cgroup/memory/berth/c1/tasks'],
    ['cgroupthread', '/sys/fs/cgroup/cpu,cpuacct/berth/c1/tasks'],
    ['cgroupfork', '/sys/fs/cgroup/unified/berth/c1'],
  ]);
  assert.deepEqual(cgroupJoinRecords({ unified: '/sys/fs/cgroup/berth/c1' }), [['cgroupfork', '/sys/fs/cgroup/berth/c1']]);
});
