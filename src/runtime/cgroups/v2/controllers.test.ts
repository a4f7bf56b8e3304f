// Controller delegation on create(): writes only to cgroup.subtree_control of dirs
// at or below the berth parent, never to the leaf, never above.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../common';
import { createCgroupManager } from '../index';
import { V2CgroupManager } from './manager';
import { ROOT, fakeV2 } from './fake-v2';
import { delegationLevels, enableControllers } from './controllers';

test('delegation levels: from the berth parent to the leaf\'s parent', () => {
  assert.deepEqual(delegationLevels(ROOT, '/berth/c1'), [`${ROOT}/berth`]);
  assert.deepEqual(delegationLevels(ROOT, '/berth/pod/c1'), [`${ROOT}/berth`, `${ROOT}/berth/pod`]);
  assert.deepEqual(delegationLevels(ROOT, '/system.slice/berth-x/pod/c1'), [`${ROOT}/system.slice/berth-x`, `${ROOT}/system.slice/berth-x/pod`]);
  assert.deepEqual(delegationLevels(ROOT, '/nothing/c1'), []);
});

test('create: mkdir, then one subtree_control write per level at/below berth (not the leaf, never above)', () => {
  const k = fakeV2();
  const m = createCgroupManager(k.layout, '/berth/pod/c1', k.fs);
  m.create();
  assert.deepEqual(k.fs.log, [
    { op: 'mkdir', path: `${ROOT}/berth` },
    { op: 'mkdir', path: `${ROOT}/berth/pod` },
    { op: 'mkdir', path: `${ROOT}/berth/pod/c1` },
    { op: 'write', path: `${ROOT}/berth/cgroup.subtree_control`, data: '+cpu +memory +pids +io +cpuset +hugetlb +rdma +misc' },
    { op: 'write', path: `${ROOT}/berth/pod/cgroup.subtree_control`, data: '+cpu +memory +pids +io +cpuset +hugetlb +rdma +misc' },
  ]);
  assert.equal(k.fs.readFile(`${ROOT}/berth/pod/c1/cgroup.controllers`), 'cpu memory pids io cpuset hugetlb rdma misc');
  assert.equal(k.fs.readFile(`${ROOT}/berth/pod/c1/cgroup.subtree_control`), '');
  assert.ok(k.fs.exists(`${ROOT}/berth/pod/c1/memory.max`));
});

test('create again (second container): only what is missing is written', () => {
  const k = fakeV2();
  createCgroupManager(k.layout, '/berth/c1', k.fs).create();
  k.fs.log.length = 0;
  createCgroupManager(k.layout, '/berth/c2', k.fs).create();
  assert.deepEqual(k.fs.log, [{ op: 'mkdir', path: `${ROOT}/berth/c2` }]);
});

test('only the controllers the parent offers; the root is never written', () => {
  const k = fakeV2({ rootControllers: ['cpuset', 'cpu', 'io', 'memory', 'pids', 'perf_event'], rootEnabled: ['cpu', 'memory', 'perf_event'] });
  createCgroupManager(k.layout, '/berth/c1', k.fs).create();
  assert.deepEqual(k.fs.writes(), [[`${ROOT}/berth/cgroup.subtree_control`, '+cpu +memory']]);
});

test('a refused batch falls back to one controller at a time; failures are returned, not thrown', () => {
  const k = fakeV2();
  k.fs.mkdir(`${ROOT}/berth`);
  k.fs.mkdir(`${ROOT}/berth/c1`);
  const base = k.fs.hooks.onWrite!;
  k.fs.hooks.onWrite = (file, data, fake) => {
    if (file.endsWith('subtree_control') && /io|rdma/.test(data)) throw Object.assign(new Error('EOPNOTSUPP'), { code: 'EOPNOTSUPP' });
    return base(file, data, fake);
  };
  k.fs.log.length = 0;
  const failures = enableControllers(k.fs, ROOT, '/berth/c1');
  assert.deepEqual(k.fs.writes().map(([, d]) => d), ['+cpu +memory +pids +io +cpuset +hugetlb +rdma +misc', '+cpu', '+memory', '+pids', '+io', '+cpuset', '+hugetlb', '+rdma', '+misc']);
  assert.deepEqual(failures.map((f) => f.controller), ['io', 'rdma']);
  assert.match(failures[0].reason, /^EOPNOTSUPP \(the cgroup is threaded/);
  assert.equal(k.fs.readFile(`${ROOT}/berth/cgroup.subtree_control`), 'cpu memory pids cpuset hugetlb misc');
});

test('create never fails because a controller cannot be enabled', () => {
  const k = fakeV2();
  k.fs.mkdir(`${ROOT}/berth`);
  k.addProc(`${ROOT}/berth`, 99);
  const m = new V2CgroupManager('/berth/c1', `${ROOT}/berth/c1`, resolveOptions(k.fs));
  m.create();
  assert.ok(k.fs.exists(`${ROOT}/berth/c1`));
});
