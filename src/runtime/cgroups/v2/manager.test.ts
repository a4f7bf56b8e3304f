import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCgroupManager } from '../index';
import { ManagerOptions } from '../manager';
import { FakeKernelOptions, MOUNTINFO_UNIFIED, fakeClock, fakeKernel } from '../fake-kernel';

const DIR = '/sys/fs/cgroup/berth/c1';

function setup(kopts: FakeKernelOptions = {}, mopts: ManagerOptions = {}) {
  const k = fakeKernel(MOUNTINFO_UNIFIED, kopts);
  const clock = fakeClock();
  const m = createCgroupManager(k.layout, '/berth/c1', k.fs, { kill: k.kill, sleep: clock.sleep, now: clock.now, ...mopts });
  return { k, m, clock };
}

test('unified: one dir, one procs file', () => {
  const { m } = setup();
  assert.equal(m.version, 2);
  assert.deepEqual(m.dirs, { unified: DIR });
  assert.deepEqual(m.procsFiles(), [`${DIR}/cgroup.procs`]);
  assert.deepEqual(m.save(), { version: 2, path: '/berth/c1', dirs: { unified: DIR } });
});

test('create: mkdir -p only, no writes', () => {
  const { k, m } = setup();
  m.create();
  assert.deepEqual(k.fs.log, [
    { op: 'mkdir', path: '/sys/fs/cgroup/berth' },
    { op: 'mkdir', path: DIR },
  ]);
});

test('create failure: leaf failure keeps the shared parent, error names the dir', () => {
  const { k, m } = setup();
  k.fs.fail('mkdir', DIR, 'ENOSPC');
  assert.throws(() => m.create(), new RegExp(`^Error: cgroups: cannot create ${DIR}: ENOSPC`));
  assert.deepEqual(k.fs.ops('rmdir'), []);
  assert.ok(k.fs.exists('/sys/fs/cgroup/berth'));
});

test('create failure deeper down removes the intermediate dirs it made', () => {
  const k = fakeKernel(MOUNTINFO_UNIFIED);
  const m = createCgroupManager(k.layout, '/berth/pod/c1', k.fs);
  k.fs.fail('mkdir', '/sys/fs/cgroup/berth/pod/c1', 'EACCES');
  assert.throws(() => m.create(), /cannot create \/sys\/fs\/cgroup\/berth\/pod\/c1/);
  assert.deepEqual(k.fs.ops('rmdir').map((o) => o.path), ['/sys/fs/cgroup/berth/pod']);
});

test('freeze/thaw: cgroup.freeze then wait for cgroup.events', async () => {
  const { k, m } = setup();
  m.create();
  k.fs.log.length = 0;
  await m.freeze();
  assert.match(k.fs.readFile(`${DIR}/cgroup.events`), /^frozen 1$/m);
  await m.thaw();
  assert.deepEqual(k.fs.writes(), [
    [`${DIR}/cgroup.freeze`, '1'],
    [`${DIR}/cgroup.freeze`, '0'],
  ]);
});

test('freeze that never completes: undone and reported', async () => {
  const { k, m } = setup({}, { freezeTimeoutMs: 100 });
  m.create();
  k.fs.hooks.onWrite = () => undefined; // kernel never reports frozen
  k.fs.log.length = 0;
  await assert.rejects(m.freeze(), /freezing \/sys\/fs\/cgroup\/berth\/c1 timed out after 100 ms/);
  assert.deepEqual(k.fs.writes().map(([, d]) => d), ['1', '0']);
});

test('killAll(SIGKILL) uses cgroup.kill when present', async () => {
  const { k, m } = setup();
  m.create();
  k.fs.mkdir(`${DIR}/sub`);
  k.addProc(DIR, 11);
  k.addProc(`${DIR}/sub`, 12);
  k.fs.log.length = 0;
  await m.killAll('SIGKILL');
  assert.deepEqual(k.fs.writes(), [[`${DIR}/cgroup.kill`, '1']]);
  assert.deepEqual(k.signals, []);
  assert.deepEqual(m.pids(), []);
});

test('killAll(SIGKILL) without cgroup.kill: freeze, kill each pid, thaw', async () => {
  const { k, m } = setup({ cgroupKill: false });
  m.create();
  k.addProc(DIR, 11);
  k.fs.log.length = 0;
  await m.killAll(9);
  assert.deepEqual(k.signals, [[11, 9]]);
  assert.deepEqual(k.fs.writes(), [
    [`${DIR}/cgroup.freeze`, '1'],
    [`${DIR}/cgroup.freeze`, '0'],
  ]);
});

test('killAll(SIGTERM) never uses cgroup.kill', async () => {
  const { k, m } = setup();
  m.create();
  k.addProc(DIR, 11);
  k.fs.log.length = 0;
  await m.killAll('SIGTERM');
  assert.deepEqual(k.signals, [[11, 'SIGTERM']]);
  assert.deepEqual(k.fs.writes().map(([f, d]) => [f.split('/').pop(), d]), [['cgroup.freeze', '1'], ['cgroup.freeze', '0']]);
  assert.deepEqual(m.pids(), [11]);
});

test('killAll(SIGKILL) with a survivor of cgroup.kill: bounded error', async () => {
  const { k, m } = setup({}, { killTimeoutMs: 1000 });
  m.create();
  k.addProc(DIR, 11);
  k.immortal.add(11);
  await assert.rejects(m.killAll('SIGKILL'), { message: 'cgroups: processes survived SIGKILL for 1000 ms: 11' });
});

test('destroy: child cgroups first, EBUSY retried, berth parent kept', async () => {
  const { k, m, clock } = setup();
  m.create();
  k.fs.mkdir(`${DIR}/sub`);
  k.fs.fail('rmdir', DIR, 'EBUSY', 2);
  k.fs.log.length = 0;
  await m.destroy();
  assert.deepEqual(k.fs.ops('rmdir').map((o) => o.path), [`${DIR}/sub`, DIR]);
  assert.deepEqual(clock.slept, [5, 10]);
  assert.ok(k.fs.exists('/sys/fs/cgroup/berth'));
});
