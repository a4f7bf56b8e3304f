// Validation of linux.resources (cgroup limits), config-linux.md#control-groups.

import { CGROUP_DEVICE_TYPES } from './constants';
import type {
  LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxInterfacePriority, LinuxMemory,
  LinuxNetwork, LinuxPids, LinuxRdma, LinuxResources, LinuxThrottleDevice, LinuxWeightDevice,
} from './types';
import { cpuList } from './validate-process';
import {
  arr, at, bool, compact, enumStr, fail, got, int, int64, key, obj, opt, req, setOwn, str, strMap,
} from './validate-util';

const u16 = (v: unknown, p: string) => int(v, p, 'uint16');
const u32 = (v: unknown, p: string) => int(v, p, 'uint32');
const u64 = (v: unknown, p: string) => int64(v, p, 'uint64');
const i64 = (v: unknown, p: string) => int64(v, p, 'int64');
/** Device numbers: real ones fit 32 bits; the spec types them int64. */
const devNum = (v: unknown, p: string) => int(v, p, 'uint32');

export function validateResources(raw: unknown, path: string): LinuxResources {
  const o = obj(raw, path);
  return compact({
    devices: opt(o, 'devices', path, deviceRules),
    memory: opt(o, 'memory', path, memory),
    cpu: opt(o, 'cpu', path, cpu),
    pids: opt(o, 'pids', path, pids),
    blockIO: opt(o, 'blockIO', path, blockIO),
    hugepageLimits: opt(o, 'hugepageLimits', path, hugepageLimits),
    network: opt(o, 'network', path, network),
    rdma: opt(o, 'rdma', path, rdma),
    unified: opt(o, 'unified', path, strMap),
  });
}

function deviceRules(v: unknown, path: string): LinuxDeviceCgroup[] {
  return arr(v, path, 'an array of device rules').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    // -1 is the wildcard Docker writes; runc treats it like an absent number.
    const num = (x: unknown, q: string) => int(x, q, [-1, 0xffffffff]);
    const rule: LinuxDeviceCgroup = compact({
      allow: req(o, 'allow', p, bool),
      type: opt(o, 'type', p, (x, q) => enumStr(x, q, CGROUP_DEVICE_TYPES, 'device type')),
      major: opt(o, 'major', p, num),
      minor: opt(o, 'minor', p, num),
      access: opt(o, 'access', p, str),
    });
    if (rule.access !== undefined && !/^[rwm]*$/.test(rule.access)) {
      fail(key(p, 'access'), `must be made of the letters r, w and m (got ${got(rule.access)})`);
    }
    return rule;
  });
}

function memory(v: unknown, path: string): LinuxMemory {
  const o = obj(v, path);
  return compact({
    limit: opt(o, 'limit', path, i64),
    reservation: opt(o, 'reservation', path, i64),
    swap: opt(o, 'swap', path, i64),
    kernel: opt(o, 'kernel', path, i64),
    kernelTCP: opt(o, 'kernelTCP', path, i64),
    // vm.swappiness semantics: 0..100.
    swappiness: opt(o, 'swappiness', path, (x, q) => int(x, q, [0, 100])),
    disableOOMKiller: opt(o, 'disableOOMKiller', path, bool),
    useHierarchy: opt(o, 'useHierarchy', path, bool),
    checkBeforeUpdate: opt(o, 'checkBeforeUpdate', path, bool),
  });
}

function cpu(v: unknown, path: string): LinuxCPU {
  const o = obj(v, path);
  const c: LinuxCPU = compact({
    shares: opt(o, 'shares', path, u64),
    quota: opt(o, 'quota', path, i64),
    burst: opt(o, 'burst', path, u64),
    period: opt(o, 'period', path, u64),
    realtimeRuntime: opt(o, 'realtimeRuntime', path, i64),
    realtimePeriod: opt(o, 'realtimePeriod', path, u64),
    cpus: opt(o, 'cpus', path, cpuList),
    mems: opt(o, 'mems', path, cpuList),
    idle: opt(o, 'idle', path, i64),
  });
  // The spec: burst MUST be no larger than any positive quota.
  if (c.burst !== undefined && c.quota !== undefined && c.quota > 0 && c.burst > c.quota) {
    fail(key(path, 'burst'), `burst ${c.burst} is larger than quota ${c.quota}`);
  }
  return c;
}

function pids(v: unknown, path: string): LinuxPids {
  const o = obj(v, path);
  return { limit: req(o, 'limit', path, i64) };
}

function blockIO(v: unknown, path: string): LinuxBlockIO {
  const o = obj(v, path);
  return compact({
    weight: opt(o, 'weight', path, u16),
    leafWeight: opt(o, 'leafWeight', path, u16),
    weightDevice: opt(o, 'weightDevice', path, weightDevices),
    throttleReadBpsDevice: opt(o, 'throttleReadBpsDevice', path, throttleDevices),
    throttleWriteBpsDevice: opt(o, 'throttleWriteBpsDevice', path, throttleDevices),
    throttleReadIOPSDevice: opt(o, 'throttleReadIOPSDevice', path, throttleDevices),
    throttleWriteIOPSDevice: opt(o, 'throttleWriteIOPSDevice', path, throttleDevices),
  });
}

function weightDevices(v: unknown, path: string): LinuxWeightDevice[] {
  return arr(v, path, 'an array of {major, minor, weight} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const d: LinuxWeightDevice = compact({
      major: req(o, 'major', p, devNum),
      minor: req(o, 'minor', p, devNum),
      weight: opt(o, 'weight', p, u16),
      leafWeight: opt(o, 'leafWeight', p, u16),
    });
    if (d.weight === undefined && d.leafWeight === undefined) fail(p, 'must set weight or leafWeight (or both)');
    return d;
  });
}

function throttleDevices(v: unknown, path: string): LinuxThrottleDevice[] {
  return arr(v, path, 'an array of {major, minor, rate} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    return { major: req(o, 'major', p, devNum), minor: req(o, 'minor', p, devNum), rate: req(o, 'rate', p, u64) };
  });
}

function hugepageLimits(v: unknown, path: string): LinuxHugepageLimit[] {
  return arr(v, path, 'an array of {pageSize, limit} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const pageSize = req(o, 'pageSize', p, str);
    // It names a cgroup file (hugetlb.<pageSize>.max), so only <size><prefix>B.
    if (!/^[1-9]\d*[KMGTPE]?B$/.test(pageSize)) {
      fail(key(p, 'pageSize'), `must look like "2MB" or "1GB" (got ${got(pageSize)})`);
    }
    return { pageSize, limit: req(o, 'limit', p, u64) };
  });
}

function network(v: unknown, path: string): LinuxNetwork {
  const o = obj(v, path);
  return compact({
    classID: opt(o, 'classID', path, u32),
    priorities: opt(o, 'priorities', path, (x, q) =>
      arr(x, q, 'an array of {name, priority} objects').map((e, i): LinuxInterfacePriority => {
        const p = at(q, i);
        const po = obj(e, p);
        return { name: req(po, 'name', p, str), priority: req(po, 'priority', p, u32) };
      }),
    ),
  });
}

function rdma(v: unknown, path: string): Record<string, LinuxRdma> {
  const o = obj(v, path);
  const out: Record<string, LinuxRdma> = {};
  for (const [dev, val] of Object.entries(o)) {
    const p = key(path, dev);
    const r = obj(val, p);
    const limits: LinuxRdma = compact({
      hcaHandles: opt(r, 'hcaHandles', p, u32),
      hcaObjects: opt(r, 'hcaObjects', p, u32),
    });
    if (limits.hcaHandles === undefined && limits.hcaObjects === undefined) {
      fail(p, 'must set hcaHandles or hcaObjects (or both)');
    }
    setOwn(out, dev, limits);
  }
  return out;
}
