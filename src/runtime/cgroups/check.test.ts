import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkResourceValues, checkResources, hostResources } from './check';
import { FakeCgroupFs } from './fake-fs';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_UNIFIED } from './fake-kernel';
import { detectLayout } from './layout';
import { CgroupError } from './manager';
import type { LinuxResources } from '../spec/types';

const hybrid = detectLayout(MOUNTINFO_HYBRID_SPLIT);

/** A host with CPUs 0-1, one memory node, 2 MB and 1 GB huge pages (like this build machine). */
function host(): FakeCgroupFs {
  return new FakeCgroupFs()
    .seedFile('/sys/fs/cgroup/cpuset/cpuset.effective_cpus', '0-1\n')
    .seedFile('/sys/fs/cgroup/cpuset/cpuset.effective_mems', '0\n')
    .seedDir('/sys/kernel/mm/hugepages/hugepages-2048kB')
    .seedDir('/sys/kernel/mm/hugepages/hugepages-1048576kB');
}

function rejects(r: LinuxResources, field: string, message: string | RegExp): void {
  assert.throws(() => checkResources(r, hybrid, host()), (e: Error) => {
    assert.ok(e instanceof CgroupError, `${e}`);
    assert.equal(e.field, field);
    if (typeof message === 'string') assert.equal(e.message, `linux.resources.${field}: ${message}`);
    else assert.match(e.message, message);
    return true;
  });
}

test('sane resources pass; nothing is written', () => {
  const fs = host();
  checkResources(
    {
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 60, kernel: -5 },
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, cpus: '0-1', mems: '0', idle: 0, realtimeRuntime: 1000, realtimePeriod: 100000 },
      pids: { limit: 0 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 0 }], throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 0 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: -1 }],
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: -1, minor: 3, access: 'm' }],
      network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 1 }] },
      unified: { 'memory.high': '1G' },
    },
    hybrid,
    fs,
  );
  assert.deepEqual(fs.log, []);
  checkResources({ memory: { limit: -1, swap: -1 }, cpu: { quota: -1, shares: 0, period: 0 }, pids: { limit: -1 } }, hybrid, fs);
  checkResources({ memory: { limit: 2n ** 62n, swap: 2n ** 62n } }, hybrid, fs);
});

test('memory: negative other than -1, swap below limit, finite swap with unlimited memory, swappiness > 100', () => {
  rejects({ memory: { limit: -2 } }, 'memory.limit', 'must be a number of bytes, or -1 for no limit (got -2)');
  rejects({ memory: { reservation: -100 } }, 'memory.reservation', 'must be a number of bytes, or -1 for no limit (got -100)');
  rejects({ memory: { swap: -3n } }, 'memory.swap', 'must be a number of bytes, or -1 for no limit (got -3)');
  rejects({ memory: { limit: 64 << 20, swap: 32 << 20 } }, 'memory.swap', 'is the memory+swap total and must be ≥ memory.limit 67108864 (got 33554432); use swap = limit for no swap, or -1 for unlimited swap');
  rejects({ memory: { limit: -1, swap: 32 << 20 } }, 'memory.swap', /memory\+swap limit 33554432 cannot be finite while memory\.limit is -1/);
  rejects({ memory: { swappiness: 101 } }, 'memory.swappiness', 'must be 0..100 (got 101)');
  rejects({ memory: { limit: 1.5 } }, 'memory.limit', 'must be an integer (got 1.5)');
});

test('cpu: shares outside the kernel clamp, period outside 1 ms..1 s, quota < 1 ms, burst > quota, rt runtime > period, idle', () => {
  rejects({ cpu: { shares: 1 } }, 'cpu.shares', 'must be 2..262144 (the kernel would silently clamp 1 to 2); got 1');
  rejects({ cpu: { shares: 300000 } }, 'cpu.shares', 'must be 2..262144 (the kernel would silently clamp 300000 to 262144); got 300000');
  rejects({ cpu: { period: 999 } }, 'cpu.period', 'must be 1000..1000000 µs (1 ms to 1 s) (got 999)');
  rejects({ cpu: { period: 1000001 } }, 'cpu.period', 'must be 1000..1000000 µs (1 ms to 1 s) (got 1000001)');
  rejects({ cpu: { quota: 999 } }, 'cpu.quota', 'must be 1000..17592186044415 µs of CPU time per period, or -1 for no limit (got 999)');
  rejects({ cpu: { quota: -2 } }, 'cpu.quota', /or -1 for no limit \(got -2\)/);
  rejects({ cpu: { quota: 2n ** 50n } }, 'cpu.quota', /got 1125899906842624/);
  rejects({ cpu: { quota: 20000, burst: 30000 } }, 'cpu.burst', 'must not exceed cpu.quota 20000 (got 30000)');
  rejects({ cpu: { burst: -1 } }, 'cpu.burst', 'must be ≥ 0 µs (got -1)');
  rejects({ cpu: { realtimeRuntime: 200000, realtimePeriod: 100000 } }, 'cpu.realtimeRuntime', 'must not exceed cpu.realtimePeriod 100000 (got 200000)');
  rejects({ cpu: { realtimeRuntime: -2 } }, 'cpu.realtimeRuntime', 'must be ≥ 0 µs, or -1 for no limit (got -2)');
  rejects({ cpu: { realtimePeriod: -5 } }, 'cpu.realtimePeriod', 'must be a positive number of µs (got -5)');
  rejects({ cpu: { idle: 2 } }, 'cpu.idle', 'must be 0 or 1 (1 runs the cgroup as SCHED_IDLE) (got 2)');
});

test('cpuset: strings that do not parse, CPUs and memory nodes the host does not have', () => {
  rejects({ cpu: { cpus: '0-' } }, 'cpu.cpus', '"0-" is not a valid CPU list: "0-" is not a number or a range like "0-3"; write e.g. "0-3,7"');
  rejects({ cpu: { cpus: 'a' } }, 'cpu.cpus', /"a" is not a valid CPU list: "a" is not a number/);
  rejects({ cpu: { cpus: '3-1' } }, 'cpu.cpus', /"3-1" is not a valid CPU list: range "3-1" is backwards/);
  rejects({ cpu: { mems: '0,,1' } }, 'cpu.mems', /is not a valid memory node list/);
  rejects({ cpu: { cpus: '0-3' } }, 'cpu.cpus', '"0-3" names CPU(s) 2-3 that this host does not have; available: 0-1');
  rejects({ cpu: { mems: '1' } }, 'cpu.mems', '"1" names memory node(s) 1 that this host does not have; available: 0');
});

test('host CPUs: the v1 root cpuset first, then cgroup2 root, then /sys/devices/system/cpu/online', () => {
  const fs = new FakeCgroupFs().seedFile('/sys/devices/system/cpu/online', '0-7\n');
  assert.deepEqual(hostResources(hybrid, fs, { cpus: true }).cpus, [0, 1, 2, 3, 4, 5, 6, 7]);
  fs.seedFile('/sys/fs/cgroup/cpuset/cpuset.cpus', '0-3\n');
  assert.deepEqual(hostResources(hybrid, fs, { cpus: true }).cpus, [0, 1, 2, 3]);
  const v2 = new FakeCgroupFs().seedFile('/sys/fs/cgroup/cpuset.cpus.effective', '0,2\n').seedFile('/sys/fs/cgroup/cpuset.mems.effective', '0-1\n');
  const h = hostResources(detectLayout(MOUNTINFO_UNIFIED), v2, { cpus: true, mems: true });
  assert.deepEqual([h.cpus, h.mems], [[0, 2], [0, 1]]);
  // no NUMA information at all: node 0 only
  assert.deepEqual(hostResources(hybrid, new FakeCgroupFs(), { mems: true }).mems, [0]);
  // unknown CPUs: the kernel decides
  checkResources({ cpu: { cpus: '0-63' } }, hybrid, new FakeCgroupFs());
});

test('pids above the kernel maximum', () => {
  rejects({ pids: { limit: 4194305 } }, 'pids.limit', "must be at most 4194304 (the kernel's PID_MAX_LIMIT); use 0 or -1 for no limit (got 4194305)");
});

test('blkio weights outside 10..1000, negative rates', () => {
  rejects({ blockIO: { weight: 9 } }, 'blockIO.weight', 'must be 10..1000 (got 9)');
  rejects({ blockIO: { leafWeight: 1001 } }, 'blockIO.leafWeight', 'must be 10..1000 (got 1001)');
  rejects({ blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 5 }] } }, 'blockIO.weightDevice[0].weight', "must be 10..1000, or 0 to drop the device's own weight (got 5)");
  rejects({ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: -1 }] } }, 'blockIO.throttleReadBpsDevice[0].rate', 'must be ≥ 0 bytes per second (0 removes the limit) (got -1)');
  rejects({ blockIO: { throttleWriteIOPSDevice: [{ major: -8, minor: 0, rate: 1 }] } }, 'blockIO.throttleWriteIOPSDevice[0].major', 'must be a device number 0..4294967295 (got -8)');
});

test('huge pages: malformed or unsupported page sizes, negative limits', () => {
  rejects({ hugepageLimits: [{ pageSize: '2M', limit: 0 }] }, 'hugepageLimits[0].pageSize', 'must name a huge page size like "2MB" or "1GB" (got "2M")');
  rejects({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }, { pageSize: '16MB', limit: 0 }] }, 'hugepageLimits[1].pageSize', '"16MB" is not a huge page size this kernel supports; supported: 1GB, 2MB');
  rejects({ hugepageLimits: [{ pageSize: '2MB', limit: -2 }] }, 'hugepageLimits[0].limit', 'must be a number of bytes, or -1 for no limit (got -2)');
  assert.throws(() => checkResources({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }, hybrid, new FakeCgroupFs()), /supported: none \(no huge page support\)/);
});

test('device rules: type, access letters, numbers', () => {
  rejects({ devices: [{ allow: true, type: 'p' as 'c' }] }, 'devices[0].type', 'must be "a" (all), "b" (block) or "c" (char) (got "p")');
  rejects({ devices: [{ allow: true, type: 'c', access: 'rwx' }] }, 'devices[0].access', 'must be made of the letters r (read), w (write) and m (mknod), e.g. "rwm" (got "rwx")');
  rejects({ devices: [{ allow: true, type: 'c', access: '' }] }, 'devices[0].access', /got ""/);
  rejects({ devices: [{ allow: true }, { allow: true, type: 'b', minor: -7 }] }, 'devices[1].minor', 'must be a device number 0..4294967295, or -1 for any (got -7)');
});

test('network, rdma and unified names', () => {
  rejects({ network: { classID: -1 } }, 'network.classID', /must be 0\.\.4294967295/);
  rejects({ network: { priorities: [{ name: '', priority: 1 }] } }, 'network.priorities[0].name', 'must be a network interface name (no spaces or "/"; got "")');
  rejects({ network: { priorities: [{ name: 'eth0', priority: -1 }] } }, 'network.priorities[0].priority', 'must be 0..4294967295 (got -1)');
  rejects({ rdma: { 'mlx 0': { hcaHandles: 1 } } }, 'rdma["mlx 0"]', 'must be an RDMA device name (no spaces or "=")');
  rejects({ rdma: { mlx5_0: { hcaObjects: -1 } } }, 'rdma["mlx5_0"].hcaObjects', 'must be 0..2147483647 (got -1)');
  rejects({ unified: { 'memory/high': '1' } }, 'unified["memory/high"]', 'must be a cgroup2 interface file name such as "memory.high" (no "/")');
  rejects({ unified: { 'cgroup.kill': '1' } }, 'unified["cgroup.kill"]', 'cgroup.kill moves, kills or freezes processes or changes the cgroup tree; it is not a resource setting');
});

test('checkResourceValues needs no host', () => {
  checkResourceValues({ cpu: { cpus: '0-1023' } });
  assert.throws(() => checkResourceValues({ cpu: { cpus: '1-0' } }), CgroupError);
});
