// Resources with moby's numbers: memory/swap/swappiness/OOM, CPU (NanoCpus -> quota/period),
// cpusets, blkio with device numbers, pids, ulimits, devices and device cgroup rules.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { HostConfig } from './docker-types';
import { parseDeviceCgroupRule } from './devices';
import { parseCpuList } from './resources';
import { build, refuses, type Opts } from './testing';

const MiB = 1024 * 1024;
const res = (hostConfig: HostConfig, o: Opts = {}) => build({ ...o, hostConfig }).spec.linux!.resources!;

describe('memory', () => {
  const cases: [string, HostConfig, object | undefined][] = [
    ['nothing: only the OOM killer flag dockerd always sets (cgroup v1)', {}, { disableOOMKiller: false }],
    ['Memory alone: swap defaults to twice the memory', { Memory: 64 * MiB }, { limit: 64 * MiB, swap: 128 * MiB, disableOOMKiller: false }],
    ['MemorySwap -1: unlimited swap (no swap limit written)', { Memory: 64 * MiB, MemorySwap: -1 }, { limit: 64 * MiB, disableOOMKiller: false }],
    ['explicit swap', { Memory: 64 * MiB, MemorySwap: 100 * MiB }, { limit: 64 * MiB, swap: 100 * MiB, disableOOMKiller: false }],
    ['reservation', { Memory: 64 * MiB, MemoryReservation: 32 * MiB }, { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, disableOOMKiller: false }],
    ['swappiness', { MemorySwappiness: 10 }, { swappiness: 10, disableOOMKiller: false }],
    ['swappiness -1 is the default', { MemorySwappiness: -1 }, { disableOOMKiller: false }],
    ['OomKillDisable', { Memory: 64 * MiB, MemorySwap: -1, OomKillDisable: true }, { limit: 64 * MiB, disableOOMKiller: true }],
  ];
  for (const [name, hc, want] of cases) test(name, () => assert.deepEqual(res(hc).memory, want));
  test('cgroup v2: no swappiness, no OOM-killer switch (warned), swap kept', () => {
    const r = build({ host: { cgroupV2: true, memorySwappiness: false, oomKillDisable: false }, hostConfig: { Memory: 64 * MiB, MemorySwappiness: 5, OomKillDisable: true } });
    assert.deepEqual(r.spec.linux!.resources!.memory, { limit: 64 * MiB, swap: 128 * MiB });
    assert.ok(r.warnings.some((w) => w.includes('Memory swappiness discarded')));
    assert.ok(r.warnings.some((w) => w.includes('OomKillDisable discarded')));
  });
  test('no swap accounting: memory limited without swap, warned', () => {
    const r = build({ host: { swapLimit: false }, hostConfig: { Memory: 64 * MiB } });
    assert.deepEqual(r.spec.linux!.resources!.memory, { limit: 64 * MiB, disableOOMKiller: false });
    assert.ok(r.warnings.some((w) => w.includes('Memory limited without swap')));
  });
  test('OOM killer off without a memory limit is a warning', () => {
    assert.ok(build({ hostConfig: { OomKillDisable: true } }).warnings.some((w) => w.includes('OOM killer is disabled')));
  });
  const refusals: [HostConfig, string][] = [
    [{ Memory: 1024 }, 'Minimum memory limit allowed is 6MB'],
    [{ Memory: -5 }, 'Minimum memory limit allowed is 6MB'],
    [{ Memory: 64 * MiB, MemorySwap: 32 * MiB }, 'Minimum memoryswap limit should be larger than memory limit'],
    [{ MemorySwap: 64 * MiB }, 'You should always set the Memory limit when using Memoryswap limit'],
    [{ MemorySwappiness: 101 }, 'valid memory swappiness range is 0-100'],
    [{ MemoryReservation: MiB }, 'Minimum memory reservation allowed is 6MB'],
    [{ Memory: 10 * MiB, MemoryReservation: 20 * MiB }, 'Minimum memory limit can not be less than memory reservation limit'],
    [{ Memory: 1.5 * MiB * 10 + 0.5 }, 'must be a whole number'],
  ];
  for (const [hc, msg] of refusals) test(`refused: ${JSON.stringify(hc)}`, () => void refuses({ hostConfig: hc }, msg));
  test('KernelMemory is ignored with a warning', () => {
    const r = build({ hostConfig: { KernelMemory: 64 * MiB } });
    assert.ok(r.warnings.some((w) => w.includes('Kernel memory limits')));
  });
});

describe('cpu', () => {
  const cases: [string, HostConfig, object | undefined][] = [
    ['nothing', {}, undefined],
    ['NanoCpus 1.5 CPUs -> quota 150000 / period 100000', { NanoCpus: 1.5e9 }, { period: 100000, quota: 150000 }],
    ['NanoCpus 0.01', { NanoCpus: 1e7 }, { period: 100000, quota: 1000 }],
    ['shares', { CpuShares: 512 }, { shares: 512 }],
    ['period and quota', { CpuPeriod: 50000, CpuQuota: 25000 }, { period: 50000, quota: 25000 }],
    ['quota -1 (unlimited)', { CpuQuota: -1 }, { quota: -1 }],
    ['cpuset', { CpusetCpus: '0-1,3', CpusetMems: '0' }, { cpus: '0-1,3', mems: '0' }],
    ['realtime', { CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 950000 }, { realtimePeriod: 1000000, realtimeRuntime: 950000 }],
  ];
  for (const [name, hc, want] of cases) test(name, () => assert.deepEqual(res(hc).cpu, want));
  const refusals: [HostConfig, string][] = [
    [{ NanoCpus: 1e9, CpuPeriod: 100000 }, 'Nano CPUs and CPU Period cannot both be set'],
    [{ NanoCpus: 1e9, CpuQuota: 100000 }, 'Nano CPUs and CPU Quota cannot both be set'],
    [{ NanoCpus: 5e9 }, 'range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available'],
    [{ NanoCpus: -1 }, 'range of CPUs is from 0.01'],
    [{ CpuPeriod: 999 }, 'CPU cfs period can not be less than 1ms'],
    [{ CpuPeriod: 1000001 }, 'or larger than 1s'],
    [{ CpuQuota: 999 }, 'CPU cfs quota can not be less than 1ms'],
    [{ CpuShares: -2 }, 'invalid CPU shares (-2): value must be a positive integer'],
    [{ CpusetCpus: '0-7' }, 'Requested CPUs are not available - requested 0-7, available: 0-3'],
    [{ CpusetCpus: 'a-b' }, 'Invalid value a-b for cpuset cpus'],
    [{ CpusetMems: '1' }, 'Requested memory nodes are not available'],
    [{ CpuRealtimeRuntime: 2000, CpuRealtimePeriod: 1000 }, 'cpu real-time runtime cannot be higher than cpu real-time period'],
  ];
  for (const [hc, msg] of refusals) test(`refused: ${JSON.stringify(hc)}`, () => void refuses({ hostConfig: hc }, msg));
  test('realtime without kernel support is refused', () => {
    refuses({ host: { cpuRealtime: false }, hostConfig: { CpuRealtimeRuntime: 1000 } }, 'kernel does not support CPU real-time scheduler');
  });
  test('CpuPercent is discarded with a warning', () => {
    assert.ok(build({ hostConfig: { CpuPercent: 50 } }).warnings.some((w) => w.includes('does not support CPU percent')));
  });
  test('cpu list syntax', () => {
    assert.deepEqual([...parseCpuList('0-2,5')!], [0, 1, 2, 5]);
    assert.equal(parseCpuList('3-1'), undefined);
    assert.equal(parseCpuList('1,,2'), undefined);
  });
});

describe('block IO', () => {
  test('weight and device throttles with major:minor from the device', () => {
    const b = res({
      BlkioWeight: 300,
      BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 200 }],
      BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }],
      BlkioDeviceWriteBps: [{ Path: '/dev/sda', Rate: 2097152 }],
      BlkioDeviceReadIOps: [{ Path: '/dev/sda', Rate: 100 }],
      BlkioDeviceWriteIOps: [{ Path: '/dev/sda', Rate: 200 }],
    }).blockIO;
    assert.deepEqual(b, {
      weight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
    });
  });
  test('the real stat: /dev/null is 1:3', () => {
    const b = build({ hostConfig: { BlkioDeviceReadBps: [{ Path: '/dev/null', Rate: 1 }] }, statDevice: undefined }).spec.linux!.resources!.blockIO;
    assert.deepEqual(b!.throttleReadBpsDevice, [{ major: 1, minor: 3, rate: 1 }]);
  });
  test('refusals and warnings', () => {
    refuses({ hostConfig: { BlkioWeight: 5 } }, 'Range of blkio weight is from 10 to 1000');
    refuses({ hostConfig: { BlkioDeviceReadBps: [{ Path: '/dev/nope', Rate: 1 }] } }, 'HostConfig.BlkioDeviceReadBps[0]: stat /dev/nope: ENOENT');
    refuses({ hostConfig: { IOMaximumBandwidth: 10 } }, 'QoS maximum bandwidth configuration is not supported on linux');
    const r = build({ host: { blkioWeight: false }, hostConfig: { BlkioWeight: 300 } });
    assert.equal(r.spec.linux!.resources!.blockIO, undefined);
    assert.ok(r.warnings.some((w) => w.includes('Block I/O weight')));
  });
});

describe('pids', () => {
  const cases: [number | null | undefined, object | undefined][] = [[undefined, undefined], [null, undefined], [100, { limit: 100 }], [0, { limit: -1 }], [-1, { limit: -1 }]];
  for (const [PidsLimit, want] of cases) test(`PidsLimit ${PidsLimit}`, () => assert.deepEqual(res({ PidsLimit }).pids, want));
});

describe('ulimits', () => {
  test('names -> RLIMIT_*, -1 -> RLIM_INFINITY', () => {
    const r = build({ hostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }, { Name: 'core', Soft: -1, Hard: -1 }] } });
    assert.deepEqual(r.spec.process!.rlimits, [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
      { type: 'RLIMIT_CORE', soft: 2n ** 64n - 1n, hard: 2n ** 64n - 1n },
    ]);
  });
  test("the daemon's default-ulimits fill in what the request leaves out", () => {
    const r = build({ defaultUlimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }, { Name: 'nproc', Soft: 50, Hard: 60 }], hostConfig: { Ulimits: [{ Name: 'nofile', Soft: 5, Hard: 5 }] } });
    assert.deepEqual(r.spec.process!.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 5, hard: 5 }, { type: 'RLIMIT_NPROC', soft: 50, hard: 60 }]);
  });
  test('refusals', () => {
    refuses({ hostConfig: { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] } }, 'invalid ulimit type: bogus');
    refuses({ hostConfig: { Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] } }, 'soft limit must be less than or equal to hard limit: 10 > 5');
    refuses({ hostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }, { Name: 'NOFILE', Soft: 2, Hard: 2 }] } }, 'is given twice');
  });
});

describe('devices', () => {
  test('--device /dev/null:/dev/mynull:rw: the device and its allow rule after the defaults', () => {
    const l = build({ hostConfig: { Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }] } }).spec.linux!;
    assert.deepEqual(l.devices, [{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.equal(l.resources!.devices!.length, 9);
    assert.deepEqual(l.resources!.devices![8], { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
  });
  test('PathInContainer defaults to PathOnHost', () => {
    assert.equal(build({ hostConfig: { Devices: [{ PathOnHost: '/dev/zero' }] } }).spec.linux!.devices![0]!.path, '/dev/zero');
  });
  test('refusals', () => {
    refuses({ hostConfig: { Devices: [{ PathOnHost: '/dev/nope' }] } }, 'error gathering device information while adding custom device "/dev/nope"');
    refuses({ hostConfig: { Devices: [{ PathOnHost: '/etc/hostname' }] } }, 'not a device node');
    refuses({ hostConfig: { Devices: [{ PathOnHost: '/dev/null', CgroupPermissions: 'rwx' }] } }, 'CgroupPermissions');
  });
  test('DeviceCgroupRules', () => {
    const cases: [string, object][] = [
      ['c 1:3 rwm', { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
      ['a *:* m', { allow: true, type: 'a', major: -1, minor: -1, access: 'm' }],
      ['b 8:* r', { allow: true, type: 'b', major: 8, minor: -1, access: 'r' }],
    ];
    for (const [rule, want] of cases) assert.deepEqual(parseDeviceCgroupRule(rule, 'x'), want);
    const rules = res({ DeviceCgroupRules: ['c 42:* rmw'] }).devices!;
    assert.deepEqual(rules[rules.length - 1], { allow: true, type: 'c', major: 42, minor: -1, access: 'rmw' });
    for (const bad of ['c 1:3', 'x 1:3 rwm', 'c 1:3 rwx', 'c a:3 r', 'c 1:3  r']) {
      refuses({ hostConfig: { DeviceCgroupRules: [bad] } }, `invalid device cgroup rule format: '${bad}'`);
    }
  });
  test('privileged: custom permissions are warned about; same-path devices skipped', () => {
    const r = build({ hostConfig: { Privileged: true, Devices: [{ PathOnHost: '/dev/null', CgroupPermissions: 'r' }] }, hostDevDir: '/dev' });
    assert.ok(r.warnings.some((w) => w.includes('custom r permissions for device /dev/null are ignored')));
    assert.ok(r.warnings.some((w) => w.includes('already exists in privileged mode')));
  });
});
