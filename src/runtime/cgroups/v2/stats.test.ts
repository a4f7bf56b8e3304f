// stats() and oomKillCount() from sample cgroup2 file contents (taken from a 6.1 kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../common';
import { V2CgroupManager } from './manager';
import { ROOT, fakeV2 } from './fake-v2';
import { parseIoStat, parseList } from './stats';

const DIR = `${ROOT}/berth/c1`;
const MAX = 9223372036854775807; // what runc prints for "unlimited" (as a double: 9223372036854776000)

function setup(files: Record<string, string>) {
  const k = fakeV2();
  const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs));
  m.create();
  for (const [n, v] of Object.entries(files)) k.fs.seedFile(`${DIR}/${n}`, v);
  return { k, m };
}

const SAMPLE = {
  'cpu.stat': 'usage_usec 3051204\nuser_usec 2011000\nsystem_usec 1040204\nnr_periods 31\nnr_throttled 27\nthrottled_usec 2301566\nnr_bursts 0\nburst_usec 0\n',
  'memory.current': '33181696\n',
  'memory.max': '33554432\n',
  'memory.peak': '33554432\n',
  'memory.swap.current': '4096\n',
  'memory.swap.max': '0\n',
  'memory.swap.events': 'high 0\nmax 3\nfail 0\n',
  'memory.stat': 'anon 31457280\nfile 1200128\nkernel 524288\nkernel_stack 16384\nsock 0\nshmem 0\npgfault 9001\n',
  'memory.events': 'low 0\nhigh 0\nmax 112\noom 2\noom_kill 1\noom_group_kill 0\n',
  'pids.current': '3\n',
  'pids.max': '10\n',
  'io.stat': '8:0 rbytes=1048576 wbytes=4096 rios=16 wios=1 dbytes=0 dios=0\n253:1 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=8192 dios=2 cost.vrate=100.00\n',
  'cpuset.cpus.effective': '0-1,3\n',
  'cpuset.mems.effective': '0\n',
  'hugetlb.2MB.current': '4194304\n',
  'hugetlb.2MB.events': 'max 5\n',
};

test('stats: every field from sample contents, runc keys and units', () => {
  const { m } = setup(SAMPLE);
  const s = m.stats();
  assert.deepEqual(s.cpu, {
    usage: { total: 3051204000, user: 2011000000, kernel: 1040204000 },
    throttling: { periods: 31, throttledPeriods: 27, throttledTime: 2301566000 },
  });
  assert.deepEqual(s.cpuset, { cpus: [0, 1, 3], mems: [0] });
  assert.deepEqual(s.memory.usage, { usage: 33181696, limit: 33554432, max: 33554432, failcnt: 112 });
  // v1-style memory+swap, as runc reports it on v2
  assert.deepEqual(s.memory.swap, { usage: 33181696 + 4096, limit: 33554432, failcnt: 3 });
  assert.equal(s.memory.cache, 1200128);
  assert.equal(s.memory.raw?.anon, 31457280);
  assert.equal(s.memory.raw?.pgfault, 9001);
  assert.deepEqual(s.memory.event_count, { low: 0, high: 0, max: 112, oom: 2, oom_kill: 1 });
  assert.deepEqual(s.memory.kernel, { limit: 0, failcnt: 0 });
  assert.deepEqual(s.pids, { current: 3, limit: 10 });
  assert.deepEqual(s.blkio.ioServiceBytesRecursive, [
    { major: 8, minor: 0, op: 'Read', value: 1048576 },
    { major: 8, minor: 0, op: 'Write', value: 4096 },
    { major: 8, minor: 0, op: 'Discard', value: 0 },
    { major: 8, minor: 0, op: 'Total', value: 1052672 },
    { major: 253, minor: 1, op: 'Read', value: 512 },
    { major: 253, minor: 1, op: 'Write', value: 0 },
    { major: 253, minor: 1, op: 'Discard', value: 8192 },
    { major: 253, minor: 1, op: 'Total', value: 8704 },
  ]);
  assert.deepEqual(s.blkio.ioServicedRecursive?.filter((e) => e.major === 253), [
    { major: 253, minor: 1, op: 'Read', value: 1 },
    { major: 253, minor: 1, op: 'Write', value: 0 },
    { major: 253, minor: 1, op: 'Discard', value: 2 },
    { major: 253, minor: 1, op: 'Total', value: 3 },
  ]);
  assert.deepEqual(s.hugetlb['2MB'], { usage: 4194304, failcnt: 5 });
  assert.deepEqual(s.hugetlb['1GB'], { usage: 0, failcnt: 0 });
  assert.equal(m.oomKillCount(), 1);
});

test('stats: unlimited values and the JSON runc prints', () => {
  const { m } = setup({ 'memory.current': '8192', 'memory.max': 'max\n', 'memory.swap.current': '0', 'memory.swap.max': 'max', 'pids.current': '1', 'pids.max': 'max\n' });
  const s = m.stats();
  assert.equal(s.memory.usage.limit, MAX);
  assert.equal(s.memory.swap.limit, MAX);
  assert.equal(s.pids.limit, 0, 'runc reports an unlimited pids.max as 0');
  assert.match(JSON.stringify(s.memory.usage), /"limit":9223372036854776000/);
});

test('stats: a memory limit with unlimited swap reports unlimited memory+swap', () => {
  const { m } = setup({ 'memory.current': '10', 'memory.max': '1000', 'memory.swap.current': '5', 'memory.swap.max': 'max' });
  assert.deepEqual(m.stats().memory.swap, { usage: 15, limit: MAX, failcnt: 0 });
});

test('stats: without swap accounting or the io controller those parts stay empty', () => {
  const k = fakeV2({ noSwap: true, rootEnabled: ['cpu', 'memory', 'pids'] });
  const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs));
  m.create();
  const s = m.stats();
  assert.deepEqual(s.memory.swap, { limit: 0, failcnt: 0 });
  assert.deepEqual(s.blkio, {});
  assert.deepEqual(s.hugetlb, {});
  assert.equal(s.cpuset, undefined);
  assert.deepEqual(s.cpu.usage, { total: 0, user: 0, kernel: 0 });
  assert.deepEqual(s.cpu.throttling, {}, 'no nr_periods without the cpu controller');
});

test('stats: no pids controller → count cgroup.procs (runc)', () => {
  const k = fakeV2({ rootEnabled: ['cpu', 'memory'] });
  const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs));
  m.create();
  k.addProc(DIR, 10);
  k.addProc(DIR, 11);
  assert.deepEqual(m.stats().pids, { current: 2, limit: 0 });
});

test('oomKillCount: 0 without the memory controller; a removed cgroup throws in stats()', () => {
  const k = fakeV2({ rootEnabled: ['cpu'] });
  const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs));
  m.create();
  assert.equal(m.oomKillCount(), 0);
  const gone = new V2CgroupManager('/berth/gone', `${ROOT}/berth/gone`, resolveOptions(k.fs));
  assert.throws(() => gone.stats(), /does not exist/);
});

test('parsers', () => {
  assert.deepEqual(parseList(''), []);
  assert.deepEqual(parseList('0'), [0]);
  assert.deepEqual(parseList('0-2,5,7-8\n'), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseIoStat('garbage\n1:2 rbytes=x wbytes=3\n'), { bytes: [{ major: 1, minor: 2, op: 'Write', value: 3 }, { major: 1, minor: 2, op: 'Total', value: 3 }], ios: [] });
});
