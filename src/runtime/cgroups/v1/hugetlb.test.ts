import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_HYBRID_SYSTEMD, MOUNTINFO_LEGACY } from '../fake-kernel';
import { kernelSets, setupV1 } from './fake-v1';

const GiB = 1024 ** 3;

test('v1 hugetlb hierarchy: hugetlb.<size>.limit_in_bytes; -1 stays -1', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SYSTEMD);
  await m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 64 * 1024 * 1024 }, { pageSize: '1GB', limit: -1 }] });
  const H = '/sys/fs/cgroup/hugetlb/berth/c1';
  assert.deepEqual(k.fs.writes(), [
    [`${H}/hugetlb.2MB.limit_in_bytes`, '67108864'],
    [`${H}/hugetlb.1GB.limit_in_bytes`, '-1'],
  ]);
});

test('an unsupported page size names the supported ones (reservation files are not sizes)', async () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SYSTEMD);
  await assert.rejects(m.apply({ hugepageLimits: [{ pageSize: '64KB', limit: 0 }] }), /hugepageLimits\[0\]\.pageSize: "64KB" is not a huge page size of this kernel \(no .*hugetlb\.64KB\.limit_in_bytes\); supported: 1GB, 2MB/);
});

test('hybrid with hugetlb only in cgroup2, delegated down to the root: "+hugetlb" in the berth levels, v2 file names', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { unifiedControllers: 'hugetlb' });
  const U = '/sys/fs/cgroup/unified';
  // The host owner enabled it in the root; berth's own levels are berth's to enable.
  kernelSets(k, `${U}/cgroup.subtree_control`, 'hugetlb\n');
  kernelSets(k, `${U}/berth/cgroup.controllers`, 'hugetlb\n');
  await m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 2 * 1024 * 1024 }, { pageSize: '1GB', limit: -1 }] });
  assert.deepEqual(k.fs.writes(), [
    [`${U}/berth/cgroup.subtree_control`, '+hugetlb'],
    [`${U}/berth/c1/hugetlb.2MB.max`, '2097152'],
    [`${U}/berth/c1/hugetlb.1GB.max`, 'max'],
  ]);
});

test('hybrid with hugetlb not delegated by the root (this machine): a clear error, nothing written outside berth', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { unifiedControllers: 'hugetlb' });
  await assert.rejects(m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: GiB }] }), {
    message:
      'linux.resources.hugepageLimits: the hugetlb controller is not a cgroup v1 hierarchy on this host and exists only in the cgroup2 hierarchy, where /sys/fs/cgroup/unified/cgroup.subtree_control does not enable it for /sys/fs/cgroup/unified/berth; berth does not change cgroups it does not own: enable it there (echo +hugetlb > /sys/fs/cgroup/unified/cgroup.subtree_control, and in every level above) or remove the field',
  });
  assert.deepEqual(k.fs.writes(), []);
});

test('no hugetlb anywhere (legacy without the hierarchy)', async () => {
  const { m } = setupV1(MOUNTINFO_LEGACY);
  await assert.rejects(m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: GiB }] }), /hugepageLimits: the hugetlb controller is not mounted as a cgroup v1 hierarchy and this host has no cgroup2 hierarchy/);
  const { m: m2 } = setupV1(MOUNTINFO_HYBRID_SPLIT, { unifiedControllers: '' });
  await assert.rejects(m2.apply({ hugepageLimits: [{ pageSize: '2MB', limit: GiB }] }), /available neither as a cgroup v1 hierarchy nor in the cgroup2 hierarchy/);
});

test('stats: v1 usage/max/failcnt per size; cgroup2 current and events "max" on hybrid', async () => {
  const a = setupV1(MOUNTINFO_HYBRID_SYSTEMD);
  const H = '/sys/fs/cgroup/hugetlb/berth/c1';
  kernelSets(a.k, `${H}/hugetlb.2MB.usage_in_bytes`, '4194304');
  kernelSets(a.k, `${H}/hugetlb.2MB.max_usage_in_bytes`, '6291456');
  kernelSets(a.k, `${H}/hugetlb.2MB.failcnt`, '3');
  assert.deepEqual(a.m.stats().hugetlb, { '2MB': { usage: 4194304, max: 6291456, failcnt: 3 }, '1GB': { usage: 0, max: 0, failcnt: 0 } });

  const b = setupV1(MOUNTINFO_HYBRID_SPLIT, { unifiedControllers: 'hugetlb' });
  assert.deepEqual(b.m.stats().hugetlb, {}, 'not enabled: no files, nothing to report');
  kernelSets(b.k, '/sys/fs/cgroup/unified/cgroup.subtree_control', 'hugetlb\n');
  kernelSets(b.k, '/sys/fs/cgroup/unified/berth/cgroup.controllers', 'hugetlb\n');
  await b.m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: GiB }] });
  const U = '/sys/fs/cgroup/unified/berth/c1';
  kernelSets(b.k, `${U}/hugetlb.2MB.current`, '2097152');
  kernelSets(b.k, `${U}/hugetlb.2MB.events`, 'max 7\n');
  assert.deepEqual(b.m.stats().hugetlb['2MB'], { usage: 2097152, failcnt: 7 });
});
