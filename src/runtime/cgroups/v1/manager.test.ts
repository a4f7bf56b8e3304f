import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCgroupManager } from '../index';
import { ManagerOptions } from '../manager';
import { FakeKernelOptions, MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY, fakeClock, fakeKernel } from '../fake-kernel';
import { V1CgroupManager } from './manager';

const CG = '/sys/fs/cgroup';
const HIER = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'unified'];

function setup(mountinfo = MOUNTINFO_HYBRID_SPLIT, kopts: FakeKernelOptions = {}, mopts: ManagerOptions = {}, rel = '/berth/c1') {
  const k = fakeKernel(mountinfo, kopts);
  const clock = fakeClock();
  const m = createCgroupManager(k.layout, rel, k.fs, { kill: k.kill, sleep: clock.sleep, now: clock.now, ...mopts });
  return { k, m, clock };
}

test('hybrid: dirs for every v1 hierarchy plus unified; named hierarchy skipped', () => {
  const { m } = setup();
  assert.equal(m.version, 1);
  assert.deepEqual(Object.keys(m.dirs), HIER);
  assert.equal(m.dirs.memory, `${CG}/memory/berth/c1`);
  assert.equal(m.dirs.unified, `${CG}/unified/berth/c1`);
  assert.deepEqual(m.procsFiles(), HIER.map((h) => `${CG}/${h}/berth/c1/cgroup.procs`));
});

test('create: mkdir -p in every hierarchy and cpuset inherited top-down; nothing else written', () => {
  const { k, m } = setup(MOUNTINFO_HYBRID_SPLIT, { rootCpus: '0-7', rootMems: '0-1' });
  m.create();
  const expected = HIER.flatMap((h) => {
    const ops: unknown[] = [];
    for (const d of [`${CG}/${h}/berth`, `${CG}/${h}/berth/c1`]) {
      ops.push({ op: 'mkdir', path: d });
      if (h === 'cpuset') {
        ops.push({ op: 'write', path: `${d}/cpuset.cpus`, data: '0-7' }, { op: 'write', path: `${d}/cpuset.mems`, data: '0-1' });
      }
    }
    return ops;
  });
  assert.deepEqual(k.fs.log, expected);
  // joining works now (the fake refuses with ENOSPC while cpuset.cpus is empty)
  for (const f of m.procsFiles()) k.fs.writeFile(f, '4242');
  assert.deepEqual(m.pids(), [4242]);
});

test('create with an existing berth parent: only the leaf is made; set cpusets left alone', () => {
  const first = setup();
  first.m.create();
  const k = first.k;
  k.fs.log.length = 0;
  const m2 = createCgroupManager(k.layout, '/berth/c2', k.fs);
  m2.create();
  assert.deepEqual(k.fs.ops('mkdir').map((o) => o.path), HIER.map((h) => `${CG}/${h}/berth/c2`));
  assert.deepEqual(k.fs.writes(), [
    [`${CG}/cpuset/berth/c2/cpuset.cpus`, '0-3'],
    [`${CG}/cpuset/berth/c2/cpuset.mems`, '0'],
  ]);
});

test('create failure: removes only what it made below the berth parent, error names the dir', () => {
  const { k, m } = setup();
  k.fs.fail('mkdir', `${CG}/pids/berth/c1`, 'EACCES');
  assert.throws(() => m.create(), { message: `cgroups: cannot create ${CG}/pids/berth/c1: EACCES: mkdir ${CG}/pids/berth/c1` });
  const made = HIER.slice(0, HIER.indexOf('pids')).map((h) => `${CG}/${h}/berth/c1`);
  assert.deepEqual(k.fs.ops('rmdir').map((o) => o.path), [...made].reverse());
  for (const d of made) assert.equal(k.fs.exists(d), false);
  assert.equal(k.fs.exists(`${CG}/memory/berth`), true); // shared parent stays
});

test('create: mkdir EEXIST race is tolerated', () => {
  const { k, m } = setup();
  const racy = `${CG}/cpuacct/berth`;
  const mkdir = k.fs.mkdir.bind(k.fs);
  // another runtime creates the parent between our exists() and mkdir()
  k.fs.mkdir = (d: string) => {
    if (d === racy) {
      k.fs.seedDir(racy);
      k.fs.seedFile(`${racy}/cgroup.procs`);
    }
    mkdir(d);
  };
  m.create();
  assert.ok(k.fs.exists(`${racy}/c1`));
});

test('pids: union over hierarchies, recursive into child cgroups, missing dirs ignored', () => {
  const { k, m } = setup();
  assert.deepEqual(m.pids(), []);
  m.create();
  k.fs.mkdir(`${CG}/memory/berth/c1/sub`);
  k.addProc(`${CG}/memory/berth/c1`, 20);
  k.addProc(`${CG}/memory/berth/c1/sub`, 30);
  k.addProc(`${CG}/pids/berth/c1`, 20);
  k.addProc(`${CG}/pids/berth/c1`, 10);
  k.addProc(`${CG}/memory/berth`, 99); // parent: not ours
  assert.deepEqual(m.pids(), [10, 20, 30]);
});

test('freeze/thaw write exactly freezer.state', async () => {
  const { k, m } = setup();
  m.create();
  k.fs.log.length = 0;
  await m.freeze();
  await m.thaw();
  assert.deepEqual(k.fs.writes(), [
    [`${CG}/freezer/berth/c1/freezer.state`, 'FROZEN'],
    [`${CG}/freezer/berth/c1/freezer.state`, 'THAWED'],
  ]);
});

test('freeze stuck in FREEZING: re-nudges, then thaws and throws', async () => {
  const { k, m } = setup(MOUNTINFO_HYBRID_SPLIT, {}, { freezeTimeoutMs: 200 });
  m.create();
  const hook = k.fs.hooks.onWrite!;
  k.fs.hooks.onWrite = (f, d, fs) => (f.endsWith('freezer.state') && d === 'FROZEN' ? 'FREEZING' : hook(f, d, fs));
  k.fs.log.length = 0;
  await assert.rejects(m.freeze(), /freezing .*freezer\/berth\/c1 timed out after 200 ms \(freezer.state is FREEZING\)/);
  const w = k.fs.writes().map(([, d]) => d);
  assert.equal(w[0], 'FROZEN');
  assert.ok(w.filter((d) => d === 'FROZEN').length > 1, 'FROZEN re-written while waiting');
  assert.equal(w.at(-1), 'THAWED');
});

test('killAll(SIGTERM): freeze, signal each pid, thaw; no waiting', async () => {
  const { k, m } = setup();
  m.create();
  k.addProc(m.dirs.freezer, 11);
  k.addProc(m.dirs.freezer, 12);
  k.fs.log.length = 0;
  await m.killAll('SIGTERM');
  assert.deepEqual(k.signals, [[11, 'SIGTERM'], [12, 'SIGTERM']]);
  assert.deepEqual(k.fs.writes().map(([, d]) => d), ['FROZEN', 'THAWED']);
});

test('killAll(SIGKILL): loops until the cgroups are empty', async () => {
  const { k, m } = setup();
  m.create();
  for (const d of Object.values(m.dirs)) k.addProc(d, 11);
  k.fs.mkdir(`${m.dirs.memory}/child`);
  k.addProc(`${m.dirs.memory}/child`, 13);
  k.fs.log.length = 0;
  await m.killAll('SIGKILL');
  assert.deepEqual(k.signals, [[11, 'SIGKILL'], [13, 'SIGKILL']]);
  assert.deepEqual(m.pids(), []);
  assert.deepEqual(k.fs.writes(), [
    [`${CG}/freezer/berth/c1/freezer.state`, 'FROZEN'],
    [`${CG}/freezer/berth/c1/freezer.state`, 'THAWED'],
  ]);
});

test('killAll(SIGKILL) with survivors: bounded, error names them', async () => {
  const { k, m } = setup(MOUNTINFO_HYBRID_SPLIT, {}, { killTimeoutMs: 1200 });
  m.create();
  k.addProc(m.dirs.pids, 11);
  k.immortal.add(11);
  await assert.rejects(m.killAll(9), { message: 'cgroups: processes survived SIGKILL for 1200 ms: 11' });
  assert.ok(k.signals.length >= 2, 're-signalled each round');
});

test('killAll on an empty cgroup writes nothing', async () => {
  const { k, m } = setup();
  m.create();
  k.fs.log.length = 0;
  await m.killAll('SIGKILL');
  assert.deepEqual(k.fs.log, []);
});

test('destroy: deepest first incl. child cgroups, never the berth parent', async () => {
  const { k, m } = setup();
  m.create();
  k.fs.mkdir(`${m.dirs.cpu}/a`);
  k.fs.mkdir(`${m.dirs.cpu}/a/b`);
  k.fs.log.length = 0;
  await m.destroy();
  const rm = k.fs.ops('rmdir').map((o) => o.path);
  assert.deepEqual(rm, [`${m.dirs.cpu}/a/b`, `${m.dirs.cpu}/a`, ...Object.values(m.dirs)]);
  for (const h of HIER) assert.ok(k.fs.exists(`${CG}/${h}/berth`));
  k.fs.log.length = 0;
  await m.destroy(); // ENOENT is success
  assert.deepEqual(k.fs.log, []);
});

test('destroy retries EBUSY with back-off', async () => {
  const { k, m, clock } = setup();
  m.create();
  k.fs.fail('rmdir', m.dirs.memory, 'EBUSY', 3);
  await m.destroy();
  assert.equal(k.fs.exists(m.dirs.memory), false);
  assert.deepEqual(clock.slept, [5, 10, 20]);
});

test('destroy gives up after the timeout and names the busy dir and its processes', async () => {
  const { k, m, clock } = setup();
  m.create();
  k.addProc(m.dirs.memory, 77);
  await assert.rejects(m.destroy(), { message: `cgroups: cannot remove ${m.dirs.memory}: still busy after 2000 ms (processes: 77)` });
  assert.ok(clock.now() >= 2000 && clock.now() < 2200);
});

test('destroy: other errors fail immediately', async () => {
  const { k, m } = setup();
  m.create();
  k.fs.fail('rmdir', m.dirs.cpu, 'EPERM');
  await assert.rejects(m.destroy(), /cannot remove .*cpu\/berth\/c1: EPERM/);
});

test('legacy with co-mounted cpu,cpuacct: one dir per hierarchy, no unified', () => {
  const { m } = setup(MOUNTINFO_LEGACY);
  assert.deepEqual(Object.keys(m.dirs), ['cpu,cpuacct', 'cpuset', 'memory', 'freezer', 'pids', 'devices']);
  const v1 = m as V1CgroupManager;
  assert.equal(v1.dirOf('cpuacct'), `${CG}/cpu,cpuacct/berth/c1`);
  assert.equal(v1.dirOf('freezer'), `${CG}/freezer/berth/c1`);
  assert.equal(v1.dirOf('hugetlb'), undefined);
});

test('hybrid without a v1 freezer falls back to the cgroup2 freezer', async () => {
  const mi = MOUNTINFO_HYBRID_SPLIT.split('\n').filter((l) => !l.includes('freezer')).join('\n');
  const { k, m } = setup(mi);
  m.create();
  k.fs.log.length = 0;
  await m.freeze();
  await m.thaw();
  assert.deepEqual(k.fs.writes(), [
    [`${CG}/unified/berth/c1/cgroup.freeze`, '1'],
    [`${CG}/unified/berth/c1/cgroup.freeze`, '0'],
  ]);
});

test('legacy without a freezer: freeze throws, killAll still signals', async () => {
  const mi = MOUNTINFO_LEGACY.split('\n').filter((l) => !l.includes('freezer')).join('\n');
  const { k, m } = setup(mi);
  m.create();
  await assert.rejects(m.freeze(), /freezer controller is not mounted/);
  k.addProc(m.dirs.pids, 5);
  k.fs.log.length = 0;
  await m.killAll('SIGKILL');
  assert.deepEqual(k.signals, [[5, 'SIGKILL']]);
  assert.deepEqual(k.fs.log, []);
});

test('save() is plain JSON data', () => {
  const { m } = setup();
  const s = JSON.parse(JSON.stringify(m.save()));
  assert.deepEqual(s, { version: 1, path: '/berth/c1', dirs: { ...m.dirs } });
});
