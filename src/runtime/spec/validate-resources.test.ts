import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, rejects } from './fixtures';

const res = (r: object) => (s: any) => (s.linux.resources = r);
const P = 'linux.resources';

describe('linux.resources', () => {
  it('accepts every controller from the spec examples', () => {
    const r = {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
        { allow: true, type: 'b', major: 8, minor: -1, access: 'r' },
      ],
      memory: { limit: 536870912, reservation: 536870912, swap: -1, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
      cpu: { shares: 1024, quota: 1000000, burst: 1000000, period: 500000, realtimeRuntime: 950000, realtimePeriod: 1000000, cpus: '2-3', mems: '0-7', idle: 0 },
      pids: { limit: 32771 },
      blockIO: {
        weight: 10, leafWeight: 10,
        weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }, { major: 8, minor: 16, weight: 500 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }, { pageSize: '64KB', limit: 1000000 }],
      network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 } },
      unified: { 'io.max': '259:0 rbps=2097152', 'hugetlb.1GB.max': '1073741824' },
    };
    assert.deepEqual(check(res(r)).linux?.resources, r);
  });

  it('device rules', () => {
    rejects(res({ devices: [{ access: 'rwm' }] }), `${P}.devices[0].allow`, 'is required');
    rejects(res({ devices: [{ allow: 'no' }] }), `${P}.devices[0].allow`, /must be a boolean/);
    rejects(res({ devices: [{ allow: true, type: 'p' }] }), `${P}.devices[0].type`, 'unknown device type "p" (expected one of: a, c, b)');
    rejects(res({ devices: [{ allow: true, access: 'rx' }] }), `${P}.devices[0].access`, /letters r, w and m/);
    rejects(res({ devices: [{ allow: true, major: -2 }] }), `${P}.devices[0].major`, /between -1 and/);
  });

  it('memory', () => {
    rejects(res({ memory: { limit: '1g' } }), `${P}.memory.limit`, /must be an integer between -9223372036854775808 and 9223372036854775807 \(got string "1g"\)/);
    rejects(res({ memory: { swappiness: 101 } }), `${P}.memory.swappiness`, /between 0 and 100/);
    rejects(res({ memory: { disableOOMKiller: 1 } }), `${P}.memory.disableOOMKiller`, /must be a boolean/);
  });

  it('cpu', () => {
    rejects(res({ cpu: { shares: -1 } }), `${P}.cpu.shares`, /between 0 and/);
    rejects(res({ cpu: { quota: 1000, burst: 2000 } }), `${P}.cpu.burst`, 'burst 2000 is larger than quota 1000');
    check(res({ cpu: { quota: -1, burst: 2000 } }));
    rejects(res({ cpu: { cpus: '0-3;7' } }), `${P}.cpu.cpus`, /list like/);
    rejects(res({ cpu: { mems: 0 } }), `${P}.cpu.mems`, /must be a string/);
  });

  it('pids', () => {
    assert.deepEqual(check(res({ pids: { limit: -1 } })).linux?.resources?.pids, { limit: -1 });
    rejects(res({ pids: {} }), `${P}.pids.limit`, 'is required');
  });

  it('blockIO', () => {
    rejects(res({ blockIO: { weight: 70000 } }), `${P}.blockIO.weight`, /between 0 and 65535/);
    rejects(res({ blockIO: { weightDevice: [{ major: 8, minor: 0 }] } }), `${P}.blockIO.weightDevice[0]`, /weight or leafWeight/);
    rejects(res({ blockIO: { weightDevice: [{ minor: 0, weight: 1 }] } }), `${P}.blockIO.weightDevice[0].major`, 'is required');
    rejects(res({ blockIO: { throttleWriteIOPSDevice: [{ major: 8, minor: 0 }] } }), `${P}.blockIO.throttleWriteIOPSDevice[0].rate`, 'is required');
  });

  it('hugepageLimits, network, rdma, unified', () => {
    rejects(res({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }), `${P}.hugepageLimits[0].pageSize`, /"2MB" or "1GB"/);
    rejects(res({ hugepageLimits: [{ pageSize: '2MB' }] }), `${P}.hugepageLimits[0].limit`, 'is required');
    rejects(res({ network: { classID: -1 } }), `${P}.network.classID`, /between 0 and 4294967295/);
    rejects(res({ network: { priorities: [{ name: 'eth0' }] } }), `${P}.network.priorities[0].priority`, 'is required');
    rejects(res({ rdma: { mlx5_1: {} } }), `${P}.rdma.mlx5_1`, /hcaHandles or hcaObjects/);
    rejects(res({ unified: { 'memory.max': 1 } }), `${P}.unified["memory.max"]`, 'must be a string (got 1)');
  });
});
