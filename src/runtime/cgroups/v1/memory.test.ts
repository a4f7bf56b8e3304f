import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY } from '../fake-kernel';
import { CgroupError } from '../manager';
import { UNLIMITED } from '../units';
import { V1_UNLIMITED, kernelSets, setupV1 } from './fake-v1';

const MiB = 1024 * 1024;
const MEM = '/sys/fs/cgroup/memory/berth/c1';
const L = `${MEM}/memory.limit_in_bytes`;
const SW = `${MEM}/memory.memsw.limit_in_bytes`;

test('limit only: exactly memory.limit_in_bytes', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 32 * MiB } });
  assert.deepEqual(k.fs.writes(), [[L, String(32 * MiB)]]);
});

test('limit + swap on a new cgroup: limit first (memsw is still unlimited), then memsw', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 32 * MiB, swap: 64 * MiB } });
  assert.deepEqual(k.fs.writes(), [[L, String(32 * MiB)], [SW, String(64 * MiB)]]);
});

test('raising memory+swap: memsw first so it stays ≥ limit (the other order is refused)', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 32 * MiB, swap: 64 * MiB } });
  k.fs.log.length = 0;
  await m.apply({ memory: { limit: 128 * MiB, swap: 256 * MiB } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[SW, String(256 * MiB)], [L, String(128 * MiB)]]);
  // the fake kernel enforces memsw ≥ limit: limit first would have failed
  assert.throws(() => k.fs.writeFile(L, String(512 * MiB)), { code: 'EINVAL' });
});

test('lowering memory+swap: limit first, then memsw', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 128 * MiB, swap: 256 * MiB } });
  k.fs.log.length = 0;
  await m.apply({ memory: { limit: 32 * MiB, swap: 48 * MiB } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[L, String(32 * MiB)], [SW, String(48 * MiB)]]);
  assert.equal(k.fs.readFile(L), String(32 * MiB));
  assert.equal(k.fs.readFile(SW), String(48 * MiB));
});

test('swap -1 (unlimited): memsw first; limit -1 without swap makes memsw unlimited too (runc)', async () => {
  const a = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await a.m.apply({ memory: { limit: 32 * MiB, swap: 64 * MiB } });
  a.k.fs.log.length = 0;
  await a.m.apply({ memory: { limit: 64 * MiB, swap: -1 } }, { update: true });
  assert.deepEqual(a.k.fs.writes(), [[SW, '-1'], [L, String(64 * MiB)]]);

  const b = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await b.m.apply({ memory: { limit: 32 * MiB, swap: 32 * MiB } });
  b.k.fs.log.length = 0;
  await b.m.apply({ memory: { limit: -1 } }, { update: true });
  assert.deepEqual(b.k.fs.writes(), [[SW, '-1'], [L, '-1']]);
  assert.equal(b.k.fs.readFile(L), V1_UNLIMITED);
});

test('bigint values are written in full', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 2n ** 62n, swap: -1n } });
  assert.deepEqual(k.fs.writes(), [[SW, '-1'], [L, '4611686018427387904']]);
});

test('zero means not set; kernel and kernelTCP are ignored', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 0, reservation: 0, swap: 0, kernel: 64 * MiB, kernelTCP: 8 * MiB } });
  assert.deepEqual(k.fs.writes(), []);
});

test('reservation, swappiness, disableOOMKiller', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { reservation: 16 * MiB, swappiness: 0, disableOOMKiller: true } });
  assert.deepEqual(k.fs.writes(), [
    [`${MEM}/memory.soft_limit_in_bytes`, String(16 * MiB)],
    [`${MEM}/memory.swappiness`, '0'],
    [`${MEM}/memory.oom_control`, '1'],
  ]);
  k.fs.log.length = 0;
  await m.apply({ memory: { disableOOMKiller: false } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[`${MEM}/memory.oom_control`, '0']]);
  k.fs.log.length = 0;
  await m.apply({ memory: { disableOOMKiller: false } }, { update: true });
  assert.deepEqual(k.fs.writes(), [], 'already on: nothing to write');
});

test('swappiness is skipped without error when the file is absent', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['memory.swappiness'] });
  await m.apply({ memory: { swappiness: 10, limit: 64 * MiB } });
  assert.deepEqual(k.fs.writes(), [[L, String(64 * MiB)]]);
});

test('no swap accounting: swap = limit or -1 is fine (nothing to enforce), anything else is an error', async () => {
  const opts = { missing: ['memory.memsw.limit_in_bytes', 'memory.memsw.usage_in_bytes'] };
  for (const swap of [32 * MiB, -1]) {
    const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, opts);
    await m.apply({ memory: { limit: 32 * MiB, swap } });
    assert.deepEqual(k.fs.writes(), [[L, String(32 * MiB)]]);
  }
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, opts);
  await assert.rejects(m.apply({ memory: { limit: 32 * MiB, swap: 64 * MiB } }), (e: Error) => {
    assert.ok(e instanceof CgroupError);
    assert.equal(e.field, 'memory.swap');
    assert.match(e.message, /^linux\.resources\.memory\.swap: swap accounting is off in this kernel \(.*memory\.memsw\.limit_in_bytes does not exist; boot with swapaccount=1\), so the memory\+swap limit 67108864 \(above the memory limit 33554432\) cannot be enforced/);
    return true;
  });
  await assert.rejects(m.apply({ memory: { swap: 64 * MiB } }), /memory\.swap: swap accounting is off/);
  assert.deepEqual(k.fs.writes(), [], 'refused before any write');
});

test('checkBeforeUpdate: a limit below current usage is refused on update, nothing written', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  kernelSets(k, `${MEM}/memory.usage_in_bytes`, String(100 * MiB));
  await assert.rejects(m.apply({ memory: { limit: 50 * MiB, checkBeforeUpdate: true } }, { update: true }), {
    message: `linux.resources.memory.limit: the new limit ${50 * MiB} is below the container's current memory usage ${100 * MiB} (memory.checkBeforeUpdate is set); free memory first or choose a limit ≥ ${100 * MiB}`,
  });
  assert.deepEqual(k.fs.writes(), []);
  await m.apply({ memory: { limit: 200 * MiB, checkBeforeUpdate: true } }, { update: true });
  assert.deepEqual(k.fs.writes(), [[L, String(200 * MiB)]]);
});

test('the kernel refusing to reclaim (EBUSY) names usage and peak', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  kernelSets(k, `${MEM}/memory.usage_in_bytes`, String(100 * MiB));
  kernelSets(k, `${MEM}/memory.max_usage_in_bytes`, String(120 * MiB));
  await assert.rejects(m.apply({ memory: { limit: 50 * MiB } }, { update: true }), {
    message: `linux.resources.memory.limit: cannot write "${50 * MiB}" to ${L}: the container uses ${100 * MiB} bytes (peak ${120 * MiB}) and the kernel could not reclaim enough memory to go down to ${50 * MiB} (EBUSY)`,
  });
});

test('a limit above the current memory+swap limit: EINVAL explained', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ memory: { limit: 32 * MiB, swap: 64 * MiB } });
  k.fs.log.length = 0;
  await assert.rejects(m.apply({ memory: { limit: 128 * MiB } }, { update: true }), /memory\.limit: cannot write "134217728" to .*: the kernel refused it \(EINVAL\): the memory limit may not exceed the memory\+swap limit, currently 67108864 .*raise linux\.resources\.memory\.swap too/);
});

test('swap below limit and negative values are refused before any write', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ memory: { limit: 64 * MiB, swap: 32 * MiB } }), /memory\.swap: is the memory\+swap total and must be ≥ memory\.limit 67108864 \(got 33554432\)/);
  await assert.rejects(m.apply({ memory: { limit: -2 } }), /memory\.limit: must be a number of bytes, or -1 for no limit \(got -2\)/);
  assert.deepEqual(k.fs.writes(), []);
});

test('no memory hierarchy: CgroupError naming the field', async () => {
  const mi = MOUNTINFO_LEGACY.split('\n').filter((l) => !l.includes('memory')).join('\n');
  const { m } = setupV1(mi);
  await assert.rejects(m.apply({ memory: { limit: 64 * MiB } }), /^CgroupError: linux\.resources\.memory\.limit: the memory controller is not mounted on this host/);
  await m.apply({ memory: {} }); // nothing asked: fine
});

test('stats: usage/swap/kernel/kernelTCP entries, memory.stat raw and cache, OOM events', () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  const set = (n: string, v: string): void => kernelSets(k, `${MEM}/${n}`, v);
  set('memory.usage_in_bytes', '409600');
  set('memory.max_usage_in_bytes', '33554432');
  set('memory.failcnt', '61');
  set('memory.limit_in_bytes', '33554432');
  set('memory.memsw.usage_in_bytes', '409600');
  set('memory.memsw.max_usage_in_bytes', '33558528');
  set('memory.memsw.failcnt', '0');
  set('memory.kmem.usage_in_bytes', '200704');
  set('memory.stat', 'cache 4096\nrss 151552\nshmem 0\ntotal_cache 8192\nhierarchical_memory_limit 33554432\n');
  set('memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  const s = m.stats().memory;
  assert.deepEqual(s.usage, { limit: 33554432, usage: 409600, max: 33554432, failcnt: 61 });
  assert.deepEqual(s.swap, { limit: UNLIMITED, usage: 409600, max: 33558528, failcnt: 0 });
  assert.deepEqual(s.kernel, { limit: UNLIMITED, usage: 200704, max: 0, failcnt: 0 });
  assert.deepEqual(s.kernelTCP, { limit: UNLIMITED, usage: 0, max: 0, failcnt: 0 });
  assert.equal(s.cache, 4096);
  assert.deepEqual(s.raw, { cache: 4096, rss: 151552, shmem: 0, total_cache: 8192, hierarchical_memory_limit: 33554432 });
  assert.deepEqual(s.event_count, { oom: 0, oom_kill: 1, max: 61 });
  assert.equal(JSON.stringify(s.swap.limit), '9223372036854776000');
  assert.equal(m.oomKillCount(), 1);
  set('memory.oom_control', 'oom_kill_disable 1\nunder_oom 1\noom_kill 0\n');
  set('memory.stat', 'total_cache 8192\n');
  assert.deepEqual(m.stats().memory.event_count, { oom: 1, oom_kill: 0, max: 61 });
  assert.equal(m.stats().memory.cache, 8192, 'total_cache when there is no cache line');
});

test('stats and oomKillCount without memsw/kmem files or without a memory hierarchy', () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['memory.memsw.limit_in_bytes', 'memory.memsw.usage_in_bytes', 'memory.kmem.limit_in_bytes', 'memory.kmem.usage_in_bytes'] });
  const s = m.stats().memory;
  assert.deepEqual(s.swap, { limit: 0, failcnt: 0 });
  assert.deepEqual(s.kernel, { limit: 0, failcnt: 0 });
  const mi = MOUNTINFO_LEGACY.split('\n').filter((l) => !l.includes('memory')).join('\n');
  const none = setupV1(mi).m;
  assert.equal(none.oomKillCount(), 0);
  assert.deepEqual(none.stats().memory.usage, { limit: 0, failcnt: 0 });
});
