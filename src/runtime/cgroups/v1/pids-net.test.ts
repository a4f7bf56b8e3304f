// pids, net_cls, net_prio, rdma and unified on v1/hybrid hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_HYBRID_SYSTEMD, MOUNTINFO_LEGACY } from '../fake-kernel';
import { pidsMaxValue } from './pids';
import { rdmaLine } from './rdma';
import { kernelSets, setupV1 } from './fake-v1';

test('pids.limit → pids.max; ≤ 0 (and -1) is "max"', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  for (const limit of [10, 0, -1, -5]) await m.apply({ pids: { limit } });
  const P = '/sys/fs/cgroup/pids/berth/c1/pids.max';
  assert.deepEqual(k.fs.writes(), [[P, '10'], [P, 'max'], [P, 'max'], [P, 'max']]);
  assert.equal(pidsMaxValue(-1n), 'max');
  assert.equal(pidsMaxValue(4194304n), '4194304');
  await assert.rejects(m.apply({ pids: { limit: 4194305 } }), /pids\.limit: must be at most 4194304 \(the kernel's PID_MAX_LIMIT\); use 0 or -1 for no limit/);
});

test('pids stats: current and limit ("max" → 0, as runc)', () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  assert.deepEqual(m.stats().pids, { current: 0, limit: 0 });
  kernelSets(k, '/sys/fs/cgroup/pids/berth/c1/pids.current', '3\n');
  kernelSets(k, '/sys/fs/cgroup/pids/berth/c1/pids.max', '10\n');
  assert.deepEqual(m.stats().pids, { current: 3, limit: 10 });
});

test('network: classID → net_cls.classid, priorities → one net_prio.ifpriomap write each', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SYSTEMD);
  await m.apply({ network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 2 }] } });
  const N = '/sys/fs/cgroup/net_cls,net_prio/berth/c1';
  assert.deepEqual(k.fs.writes(), [
    [`${N}/net_cls.classid`, '1048577'],
    [`${N}/net_prio.ifpriomap`, 'eth0 5'],
    [`${N}/net_prio.ifpriomap`, 'lo 2'],
  ]);
});

test('network controllers not mounted (this machine): clear errors; classID 0 is "not set"', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ network: { classID: 42 } }), { message: 'linux.resources.network.classID: the net_cls controller is not mounted on this host (no cgroup v1 hierarchy carries it), so this limit cannot be applied; remove the field or mount the controller' });
  await assert.rejects(m.apply({ network: { priorities: [{ name: 'eth0', priority: 1 }] } }), /^CgroupError: linux\.resources\.network\.priorities: the net_prio controller is not mounted on this host/);
  await m.apply({ network: { classID: 0, priorities: [] } });
  assert.deepEqual(k.fs.writes(), []);
  await assert.rejects(m.apply({ network: { priorities: [{ name: 'eth 0', priority: 1 }] } }), /network\.priorities\[0\]\.name: must be a network interface name/);
});

test('rdma: v1 hierarchy, "dev hca_handle=N hca_object=M" per device, only the keys given', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SYSTEMD);
  await m.apply({ rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 1000 }, mlx5_1: { hcaObjects: 10 } } });
  const R = '/sys/fs/cgroup/rdma/berth/c1/rdma.max';
  assert.deepEqual(k.fs.writes(), [[R, 'mlx5_0 hca_handle=3 hca_object=1000'], [R, 'mlx5_1 hca_object=10']]);
  assert.equal(rdmaLine('x', {}), 'x');
});

test('rdma: not a v1 hierarchy and not in cgroup2 (this machine) or no cgroup2 at all: clear errors', async () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ rdma: { mlx5_0: { hcaHandles: 1 } } }), /linux\.resources\.rdma: the rdma controller is available neither as a cgroup v1 hierarchy nor in the cgroup2 hierarchy/);
  const { m: legacy } = setupV1(MOUNTINFO_LEGACY);
  await assert.rejects(legacy.apply({ rdma: { mlx5_0: { hcaHandles: 1 } } }), /rdma: the rdma controller is not mounted on this host \(no cgroup v1 rdma hierarchy and no cgroup2 hierarchy\)/);
});

test('unified on hybrid: written to the cgroup2 dir when the file exists', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  const U = '/sys/fs/cgroup/unified/berth/c1';
  kernelSets(k, `${U}/cpu.weight`, '100');
  await m.apply({ unified: { 'cpu.weight': '50' } });
  assert.deepEqual(k.fs.writes(), [[`${U}/cpu.weight`, '50']]);
});

test('unified: a v1 controller\'s file, a missing file, no cgroup2, or a process-moving file are errors', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ unified: { 'memory.max': '1G' } }), {
    message: 'linux.resources.unified["memory.max"]: /sys/fs/cgroup/unified/berth/c1/memory.max does not exist: memory is a cgroup v1 hierarchy on this host, so set it through the OCI field instead of "unified"',
  });
  await assert.rejects(m.apply({ unified: { 'io.max': '8:0 rbps=1' } }), /unified\["io\.max"\]: .*io\.max does not exist: the cgroup2 side of this host has no such file \(controllers enabled there: none\)/);
  await assert.rejects(m.apply({ unified: { 'cgroup.procs': '1' } }), /unified\["cgroup\.procs"\]: cgroup\.procs moves, kills or freezes processes/);
  await assert.rejects(m.apply({ unified: { '../x.y': '1' } }), /must be a cgroup2 interface file name/);
  assert.deepEqual(k.fs.writes(), []);
  const { m: legacy } = setupV1(MOUNTINFO_LEGACY);
  await assert.rejects(legacy.apply({ unified: { 'memory.high': '1G' } }), /unified\["memory\.high"\]: this host has no cgroup2 hierarchy/);
});
