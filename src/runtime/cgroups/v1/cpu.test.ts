import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY } from '../fake-kernel';
import { cfsOrder } from './cpu';
import { parseUsageAll } from './cpuacct';
import { kernelSets, setupV1 } from './fake-v1';

const CPU = '/sys/fs/cgroup/cpu/berth/c1';
const PARENT = '/sys/fs/cgroup/cpu/berth';
const P = `${CPU}/cpu.cfs_period_us`;
const Q = `${CPU}/cpu.cfs_quota_us`;
const B = `${CPU}/cpu.cfs_burst_us`;

test('shares → cpu.shares; a kernel clamp on read-back is an error naming both values', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ cpu: { shares: 512 } });
  assert.deepEqual(k.fs.writes(), [[`${CPU}/cpu.shares`, '512']]);
  // A kernel with a lower maximum than ours.
  const hook = k.fs.hooks.onWrite!;
  k.fs.hooks.onWrite = (f, d, fs) => (f.endsWith('cpu.shares') ? '100000' : hook(f, d, fs));
  await assert.rejects(m.apply({ cpu: { shares: 200000 } }), { message: 'linux.resources.cpu.shares: the kernel changed 200000 to 100000: allowed are 2..262144' });
});

test('quota/period on a new cgroup (quota unlimited): period first, then quota', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ cpu: { quota: 20000, period: 100000 } });
  assert.deepEqual(k.fs.writes(), [[P, '100000'], [Q, '20000']]);
  k.fs.log.length = 0;
  await m.apply({ cpu: { quota: 50000 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[Q, '50000']]);
});

test('lowering under a limited parent: quota first (period first would pass through 100% and be refused)', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  kernelSets(k, `${PARENT}/cpu.cfs_quota_us`, '50000'); // the parent allows 50%
  await m.apply({ cpu: { quota: 50000, period: 100000 } });
  k.fs.log.length = 0;
  await m.apply({ cpu: { quota: 10000, period: 50000 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[Q, '10000'], [P, '50000']]);
  // The other order's intermediate state (50000 per 50000) is refused by the kernel model.
  kernelSets(k, Q, '50000');
  kernelSets(k, P, '100000');
  assert.throws(() => k.fs.writeFile(P, '50000'), { code: 'EINVAL' });
});

test('raising under a limited parent: period first', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  kernelSets(k, `${PARENT}/cpu.cfs_quota_us`, '50000');
  await m.apply({ cpu: { quota: 10000, period: 50000 } });
  k.fs.log.length = 0;
  await m.apply({ cpu: { quota: 50000, period: 100000 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[P, '100000'], [Q, '50000']]);
  assert.equal(k.fs.readFile(Q), '50000');
});

test('quota back to -1: quota first (unlimited in between is always accepted)', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ cpu: { quota: 20000, period: 100000 } });
  k.fs.log.length = 0;
  await m.apply({ cpu: { quota: -1, period: 50000 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[Q, '-1'], [P, '50000']]);
});

test('cfsOrder: the order that keeps every intermediate ratio no looser than old or new', () => {
  const cur = (quota: bigint, period: bigint, burst = 0n) => ({ quota, period, burst });
  assert.deepEqual(cfsOrder(cur(-1n, 100000n), { quota: 20000n, period: 100000n }), ['period', 'quota']);
  assert.deepEqual(cfsOrder(cur(50000n, 100000n), { quota: 10000n, period: 50000n }), ['quota', 'period']);
  assert.deepEqual(cfsOrder(cur(10000n, 50000n), { quota: 50000n, period: 100000n }), ['period', 'quota']);
  assert.deepEqual(cfsOrder(cur(20000n, 100000n), { quota: -1n, period: 50000n }), ['quota', 'period']);
  assert.deepEqual(cfsOrder(cur(-1n, 100000n), { period: 50000n }), ['period']);
  // burst before the quota when it fits under the old one, else after the new one
  assert.deepEqual(cfsOrder(cur(-1n, 100000n), { quota: 20000n, burst: 10000n }), ['burst', 'quota']);
  assert.deepEqual(cfsOrder(cur(20000n, 100000n, 10000n), { quota: 50000n, burst: 40000n }), ['quota', 'burst']);
  assert.deepEqual(cfsOrder(cur(50000n, 100000n, 40000n), { quota: 20000n, burst: 10000n }), ['burst', 'quota']);
  assert.deepEqual(cfsOrder(cur(50000n, 100000n), { burst: 10000n }), ['burst']);
});

test('burst: raising past the old quota goes after the quota, lowering the quota below the old burst goes before', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ cpu: { quota: 20000, burst: 10000 } });
  assert.deepEqual(k.fs.writes(), [[B, '10000'], [Q, '20000']]);
  k.fs.log.length = 0;
  await m.apply({ cpu: { quota: 50000, burst: 40000 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[Q, '50000'], [B, '40000']]);
  k.fs.log.length = 0;
  await m.apply({ cpu: { quota: 20000, burst: 10000 } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[B, '10000'], [Q, '20000']]);
  await assert.rejects(m.apply({ cpu: { burst: 30000 } }, { update: true }), /cpu\.burst: cannot write "30000" to .*cfs_burst_us: the kernel refused it \(EINVAL\): burst may not exceed the quota \(currently 20000\)/);
});

test('burst without cpu.cfs_burst_us: an error unless 0', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['cpu.cfs_burst_us'] });
  await assert.rejects(m.apply({ cpu: { quota: 20000, burst: 10000 } }), /cpu\.burst: .*cpu\.cfs_burst_us does not exist: this kernel has no CFS burst \(needs Linux 5\.14 or later\)/);
  assert.deepEqual(k.fs.writes(), []);
  await m.apply({ cpu: { quota: 20000, burst: 0 } });
  assert.deepEqual(k.fs.writes(), [[Q, '20000']]);
});

test('a write the kernel refuses with EINVAL is retried after the rest (runc): rt period then runtime', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  kernelSets(k, `${PARENT}/cpu.rt_runtime_us`, '950000');
  kernelSets(k, `${CPU}/cpu.rt_runtime_us`, '500000');
  await m.apply({ cpu: { realtimePeriod: 100000, realtimeRuntime: 50000 } });
  // the period (100000 < the current runtime 500000) is refused, the runtime goes in, the period is retried
  assert.deepEqual(k.fs.writes(), [[`${CPU}/cpu.rt_period_us`, '100000'], [`${CPU}/cpu.rt_runtime_us`, '50000'], [`${CPU}/cpu.rt_period_us`, '100000']]);
  assert.equal(k.fs.readFile(`${CPU}/cpu.rt_period_us`), '100000');
});

test('realtime runtime beyond the parent budget: the error names the parent and its budget', async () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ cpu: { realtimeRuntime: 10000 } }), {
    message: `linux.resources.cpu.realtimeRuntime: cannot write "10000" to ${CPU}/cpu.rt_runtime_us: the kernel refused it (EINVAL): a cgroup's real-time runtime must fit in its parent's, and ${PARENT} has 0 µs per 1000000 µs (cpu.rt_runtime_us/cpu.rt_period_us); give the parent a real-time budget first, or drop the realtime fields`,
  });
});

test('realtime without RT group scheduling is a clear error', async () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['cpu.rt_runtime_us', 'cpu.rt_period_us'] });
  await assert.rejects(m.apply({ cpu: { realtimeRuntime: 10000, realtimePeriod: 100000 } }), /cpu\.realtimeRuntime: .*cpu\.rt_runtime_us does not exist: this kernel has no real-time group scheduling \(CONFIG_RT_GROUP_SCHED\)/);
});

test('idle → cpu.idle; without the file only 0 is accepted', async () => {
  const a = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await a.m.apply({ cpu: { idle: 1 } });
  assert.deepEqual(a.k.fs.writes(), [[`${CPU}/cpu.idle`, '1']]);
  const b = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['cpu.idle'] });
  await b.m.apply({ cpu: { idle: 0 } });
  assert.deepEqual(b.k.fs.writes(), []);
  await assert.rejects(b.m.apply({ cpu: { idle: 1 } }), /cpu\.idle: .*cpu\.idle does not exist/);
  await assert.rejects(b.m.apply({ cpu: { idle: 2 } }), /cpu\.idle: must be 0 or 1/);
});

test('period and quota outside the kernel range are refused before any write', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ cpu: { period: 999 } }), /cpu\.period: must be 1000\.\.1000000 µs \(1 ms to 1 s\) \(got 999\)/);
  await assert.rejects(m.apply({ cpu: { quota: 500 } }), /cpu\.quota: must be 1000\.\.17592186044415 µs of CPU time per period, or -1 for no limit \(got 500\)/);
  await assert.rejects(m.apply({ cpu: { shares: 1 } }), /cpu\.shares: must be 2\.\.262144/);
  assert.deepEqual(k.fs.writes(), []);
});

test('cpuset: cpus and mems written as given; empty strings leave the inherited sets', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { rootCpus: '0-3', rootMems: '0-1' });
  await m.apply({ cpu: { cpus: '1,3', mems: '1' } });
  const CS = '/sys/fs/cgroup/cpuset/berth/c1';
  assert.deepEqual(k.fs.writes(), [[`${CS}/cpuset.cpus`, '1,3'], [`${CS}/cpuset.mems`, '1']]);
  k.fs.log.length = 0;
  await m.apply({ cpu: { cpus: '', mems: '' } });
  assert.deepEqual(k.fs.writes(), []);
  await assert.rejects(m.apply({ cpu: { cpus: '2-5' } }), {
    message: `linux.resources.cpu.cpus: cannot write "2-5" to ${CS}/cpuset.cpus: the kernel refused it (EINVAL): a cgroup's CPUs must be a subset of its parent's, and /sys/fs/cgroup/cpuset/berth has "0-3"`,
  });
  await assert.rejects(m.apply({ cpu: { cpus: '3-1' } }), /cpu\.cpus: "3-1" is not a valid CPU list: range "3-1" is backwards/);
});

test('no cpu hierarchy: CgroupError; cpu and cpuacct co-mounted: one dir serves both', async () => {
  const mi = MOUNTINFO_HYBRID_SPLIT.split('\n').filter((l) => !l.includes('/cpu rw')).join('\n');
  const { m } = setupV1(mi);
  await assert.rejects(m.apply({ cpu: { shares: 100 } }), /cpu\.shares: the cpu controller is not mounted on this host/);
  const legacy = setupV1(MOUNTINFO_LEGACY);
  await legacy.m.apply({ cpu: { shares: 100 } });
  assert.deepEqual(legacy.k.fs.writes(), [['/sys/fs/cgroup/cpu,cpuacct/berth/c1/cpu.shares', '100']]);
});

test('stats: cpu.stat throttling, cpuacct usage (usage_all split, USER_HZ ticks → ns), cpuset lists', () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { rootCpus: '0-3', rootMems: '0' });
  const ACCT = '/sys/fs/cgroup/cpuacct/berth/c1';
  kernelSets(k, `${CPU}/cpu.stat`, 'nr_periods 30\nnr_throttled 29\nthrottled_time 2400000000\nnr_bursts 0\nburst_time 0\n');
  kernelSets(k, `${ACCT}/cpuacct.usage`, '600123456');
  kernelSets(k, `${ACCT}/cpuacct.usage_percpu`, '400000000 200123456 ');
  kernelSets(k, `${ACCT}/cpuacct.usage_all`, 'cpu user system\n0 390000000 10000000\n1 200000000 123456\n');
  kernelSets(k, `${ACCT}/cpuacct.stat`, 'user 59\nsystem 1\n');
  kernelSets(k, '/sys/fs/cgroup/cpuset/berth/c1/cpuset.cpus', '1-2,0');
  const s = m.stats();
  assert.deepEqual(s.cpu.throttling, { periods: 30, throttledPeriods: 29, throttledTime: 2400000000 });
  assert.deepEqual(s.cpu.usage, {
    total: 600123456,
    percpu: [400000000, 200123456],
    percpu_kernel: [10000000, 123456],
    percpu_user: [390000000, 200000000],
    user: 590000000,
    kernel: 10000000,
  });
  assert.deepEqual(s.cpuset, { cpus: [0, 1, 2], mems: [0] });
});

test('stats: cpuacct without usage_all falls back to usage_percpu_sys/_user', () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['cpuacct.usage_all'] });
  const ACCT = '/sys/fs/cgroup/cpuacct/berth/c1';
  kernelSets(k, `${ACCT}/cpuacct.usage_percpu_sys`, '5 6');
  kernelSets(k, `${ACCT}/cpuacct.usage_percpu_user`, '7 8');
  const u = m.stats().cpu.usage;
  assert.deepEqual([u.percpu_kernel, u.percpu_user], [[5, 6], [7, 8]]);
  assert.equal(parseUsageAll('garbage'), undefined);
  assert.deepEqual(parseUsageAll('cpu user system\n1 3 4\n'), { user: [0, 3], kernel: [0, 4] });
});
