// V1CgroupManager.apply as a whole: controller order, validation before any
// write, fields left out left alone; stats() shape (runc events --stats keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY } from '../fake-kernel';
import { loadCgroupManager } from '../index';
import { setupV1 } from './fake-v1';

const CG = '/sys/fs/cgroup';

test('everything at once: runc\'s controller order (cpuset, devices, memory, cpu, pids, blkio), one write per value', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({
    cpu: { cpus: '0', shares: 100, quota: 20000, period: 100000 },
    memory: { limit: 32 << 20, swap: 32 << 20 },
    pids: { limit: 10 },
    blockIO: { throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1048576 }] },
    devices: [{ allow: true, access: 'rwm' }],
  });
  const w = k.fs.writes().map(([f, v]) => `${f.replace(`${CG}/`, '').replace('/berth/c1/', ' ')}=${v}`);
  assert.deepEqual(w.slice(0, 2), ['cpuset cpuset.cpus=0', 'devices devices.allow=a']);
  assert.deepEqual(w.slice(-7), [
    'memory memory.limit_in_bytes=33554432',
    'memory memory.memsw.limit_in_bytes=33554432',
    'cpu cpu.shares=100',
    'cpu cpu.cfs_period_us=100000',
    'cpu cpu.cfs_quota_us=20000',
    'pids pids.max=10',
    'blkio blkio.throttle.read_bps_device=7:0 1048576',
  ]);
  // only files of the container's own cgroups are written
  for (const [f] of k.fs.writes()) assert.match(f, /^\/sys\/fs\/cgroup\/[a-z]+\/berth\/c1\//);
});

test('an empty resources object, or empty sections, write nothing', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({});
  await m.apply({ memory: {}, cpu: {}, blockIO: {}, hugepageLimits: [], network: {}, rdma: {}, unified: {} });
  assert.deepEqual(k.fs.writes(), []);
});

test('a bad value anywhere is refused before the first write', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ memory: { limit: 32 << 20 }, blockIO: { weight: 1 } }), /blockIO\.weight/);
  assert.deepEqual(k.fs.writes(), []);
});

test('a manager loaded from the saved record applies to the same files (update path)', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  const again = loadCgroupManager(JSON.parse(JSON.stringify(m.save())), k.fs);
  await again.apply({ pids: { limit: 5 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[`${CG}/pids/berth/c1/pids.max`, '5']]);
});

test('stats(): runc events --stats shape; JSON keys as runc prints them', () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  const s = m.stats();
  assert.deepEqual(Object.keys(s).sort(), ['blkio', 'cpu', 'cpuset', 'hugetlb', 'memory', 'pids']);
  assert.deepEqual(Object.keys(s.cpu.usage).sort(), ['kernel', 'percpu', 'percpu_kernel', 'percpu_user', 'total', 'user']);
  assert.deepEqual(Object.keys(s.memory).sort(), ['cache', 'event_count', 'kernel', 'kernelTCP', 'raw', 'swap', 'usage']);
  assert.deepEqual(Object.keys(s.cpu.throttling).sort(), ['periods', 'throttledPeriods', 'throttledTime']);
  // legacy host without cpuset or pids: those parts stay at their defaults
  const mi = MOUNTINFO_LEGACY.split('\n').filter((l) => !/cpuset|pids/.test(l)).join('\n');
  const legacy = setupV1(mi).m.stats();
  assert.equal(legacy.cpuset, undefined);
  assert.deepEqual(legacy.pids, {});
  assert.deepEqual(legacy.hugetlb, {});
});
