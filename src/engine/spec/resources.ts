// HostConfig resources -> linux.resources, with dockerd's create-time checks and defaults
// (daemon_unix.go adaptContainerSettings, verifyPlatformContainerResources, runconfig
// validateResources / validateQoS) and its conversions (getMemoryResources,
// getCPUResources, getBlkioWeightDevices, getBlkioThrottleDevices, getPidsLimit).
// Ulimits -> process.rlimits (withRlimits).

import * as fs from 'node:fs';
import { RLIMITS } from '../../runtime/spec/constants';
import type {
  LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxPids, LinuxResources, LinuxThrottleDevice, LinuxWeightDevice, POSIXRlimit,
} from '../../runtime/spec/types';
import type { Resources, ThrottleDevice, Ulimit, WeightDevice } from './docker-types';
import { SpecInputError, q } from './errors';
import type { HostInfo } from './host-info';

/** dockerd's minimum: room for the container's start-up. */
export const MIN_MEMORY = 6 * 1024 * 1024;
const CFS_PERIOD = 100_000;

function int(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new SpecInputError(`HostConfig.${field}: must be a whole number (got ${q(v)})`);
  return v;
}

/** Memory fields after dockerd's adaptation and checks (the input is not modified). */
function memory(r: Resources, host: HostInfo, warnings: string[]): LinuxMemory | undefined {
  const mem = int(r.Memory, 'Memory');
  let swap = int(r.MemorySwap, 'MemorySwap');
  const reservation = int(r.MemoryReservation, 'MemoryReservation');
  let swappiness = r.MemorySwappiness ?? undefined;
  if (swappiness !== undefined) swappiness = int(swappiness, 'MemorySwappiness');
  if (swappiness === -1) swappiness = undefined;
  if (mem > 0 && swap === 0) swap = mem * 2;
  if (mem !== 0 && mem < MIN_MEMORY) throw new SpecInputError(`Minimum memory limit allowed is 6MB (HostConfig.Memory ${mem})`);
  if (mem > 0 && swap !== -1 && !host.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    swap = -1;
  }
  if (mem > 0 && swap > 0 && swap < mem) {
    throw new SpecInputError(`Minimum memoryswap limit should be larger than memory limit, see usage (HostConfig.MemorySwap ${swap} < Memory ${mem})`);
  }
  if (mem === 0 && swap > 0) {
    throw new SpecInputError(`You should always set the Memory limit when using Memoryswap limit, see usage (HostConfig.MemorySwap ${swap})`);
  }
  if (swappiness !== undefined && !host.memorySwappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    swappiness = undefined;
  }
  if (swappiness !== undefined && (swappiness < 0 || swappiness > 100)) {
    throw new SpecInputError(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100 (HostConfig.MemorySwappiness)`);
  }
  if (reservation > 0 && reservation < MIN_MEMORY) throw new SpecInputError(`Minimum memory reservation allowed is 6MB (HostConfig.MemoryReservation ${reservation})`);
  if (mem > 0 && reservation > 0 && mem < reservation) {
    throw new SpecInputError(`Minimum memory limit can not be less than memory reservation limit, see usage (HostConfig.Memory ${mem} < MemoryReservation ${reservation})`);
  }
  // dockerd defaults OomKillDisable to false; cgroup v2 has no such switch, and then it is dropped.
  let oomKillDisable: boolean | undefined = r.OomKillDisable ?? false;
  if (!host.oomKillDisable) {
    if (oomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    oomKillDisable = undefined;
  }
  if (oomKillDisable && mem === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  if (int(r.KernelMemory, 'KernelMemory') !== 0 || int(r.KernelMemoryTCP, 'KernelMemoryTCP') !== 0) {
    warnings.push('Kernel memory limits (KernelMemory, KernelMemoryTCP) are no longer supported and were ignored');
  }
  const out: LinuxMemory = {};
  if (mem > 0) out.limit = mem;
  if (reservation > 0) out.reservation = reservation;
  if (swap > 0) out.swap = swap;
  if (swappiness !== undefined) out.swappiness = swappiness;
  if (oomKillDisable !== undefined) out.disableOOMKiller = oomKillDisable;
  return Object.keys(out).length ? out : undefined;
}

/** The cpuset list syntax ("0-3,7"), as a set of numbers. */
export function parseCpuList(list: string): Set<number> | undefined {
  const out = new Set<number>();
  if (list.trim() === '') return out;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 65536) return undefined;
    for (let i = a; i <= b; i++) out.add(i);
  }
  return out;
}

function cpuset(value: string, available: string, what: 'cpus' | 'mems'): void {
  const field = what === 'cpus' ? 'CpusetCpus' : 'CpusetMems';
  const want = parseCpuList(value);
  if (!want) throw new SpecInputError(`Invalid value ${value} for cpuset ${what}: invalid format: ${value} (HostConfig.${field}, e.g. "0-3,7")`);
  const have = parseCpuList(available) ?? new Set<number>();
  for (const n of want) {
    if (!have.has(n)) {
      throw new SpecInputError(`Requested ${what === 'cpus' ? 'CPUs' : 'memory nodes'} are not available - requested ${value}, available: ${available} (HostConfig.${field})`);
    }
  }
}

function cpu(r: Resources, host: HostInfo, warnings: string[]): LinuxCPU | undefined {
  const nano = int(r.NanoCpus, 'NanoCpus');
  const period = int(r.CpuPeriod, 'CpuPeriod');
  const quota = int(r.CpuQuota, 'CpuQuota');
  const shares = int(r.CpuShares, 'CpuShares');
  const rtPeriod = int(r.CpuRealtimePeriod, 'CpuRealtimePeriod');
  const rtRuntime = int(r.CpuRealtimeRuntime, 'CpuRealtimeRuntime');
  if (nano > 0 && period > 0) throw new SpecInputError('Conflicting options: Nano CPUs and CPU Period cannot both be set (HostConfig.NanoCpus, HostConfig.CpuPeriod)');
  if (nano > 0 && quota > 0) throw new SpecInputError('Conflicting options: Nano CPUs and CPU Quota cannot both be set (HostConfig.NanoCpus, HostConfig.CpuQuota)');
  if (nano !== 0 && (nano < 0 || nano > host.numCpus * 1e9)) {
    throw new SpecInputError(`range of CPUs is from 0.01 to ${host.numCpus}.00, as there are only ${host.numCpus} CPUs available (HostConfig.NanoCpus ${nano})`);
  }
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw new SpecInputError(`CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000) (HostConfig.CpuPeriod ${period})`);
  }
  if (quota > 0 && quota < 1000) throw new SpecInputError(`CPU cfs quota can not be less than 1ms (i.e. 1000) (HostConfig.CpuQuota ${quota})`);
  if (shares < 0) throw new SpecInputError(`invalid CPU shares (${shares}): value must be a positive integer (HostConfig.CpuShares)`);
  if ((rtPeriod !== 0 || rtRuntime !== 0) && !host.cpuRealtime) {
    throw new SpecInputError('kernel does not support CPU real-time scheduler (HostConfig.CpuRealtimePeriod/CpuRealtimeRuntime)');
  }
  if (rtPeriod !== 0 && rtRuntime !== 0 && rtRuntime > rtPeriod) {
    throw new SpecInputError(`cpu real-time runtime cannot be higher than cpu real-time period (HostConfig.CpuRealtimeRuntime ${rtRuntime} > CpuRealtimePeriod ${rtPeriod})`);
  }
  if (int(r.CpuPercent, 'CpuPercent') > 0) warnings.push('linux does not support CPU percent. Percent discarded.');
  if (r.CpusetCpus) cpuset(r.CpusetCpus, host.cpus, 'cpus');
  if (r.CpusetMems) cpuset(r.CpusetMems, host.mems, 'mems');

  const out: LinuxCPU = {};
  if (shares !== 0) out.shares = shares;
  if (r.CpusetCpus) out.cpus = r.CpusetCpus;
  if (r.CpusetMems) out.mems = r.CpusetMems;
  if (nano > 0) {
    out.period = CFS_PERIOD;
    out.quota = Math.trunc((nano * CFS_PERIOD) / 1e9);
  }
  if (period !== 0) out.period = period;
  if (quota !== 0) out.quota = quota;
  if (rtPeriod !== 0) out.realtimePeriod = rtPeriod;
  if (rtRuntime !== 0) out.realtimeRuntime = rtRuntime;
  return Object.keys(out).length ? out : undefined;
}

export type StatDevice = (path: string) => { major: number; minor: number };

/** unix.Stat of a device path: its major:minor. */
export const statDevice: StatDevice = (p) => {
  const st = fs.statSync(p, { bigint: true });
  // glibc's gnu_dev_major/minor.
  const rdev = st.rdev;
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
};

function devNumbers(path: string | undefined, field: string, stat: StatDevice): { major: number; minor: number } {
  if (!path) throw new SpecInputError(`HostConfig.${field}: Path must be a device path on the host (got ${q(path)})`);
  try {
    return stat(path);
  } catch (e) {
    throw new SpecInputError(`HostConfig.${field}: stat ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function blockIO(r: Resources, host: HostInfo, warnings: string[], stat: StatDevice): LinuxBlockIO | undefined {
  const out: LinuxBlockIO = {};
  const weight = int(r.BlkioWeight, 'BlkioWeight');
  if (weight > 0 && !host.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
  } else if (weight !== 0) {
    if (weight < 10 || weight > 1000) throw new SpecInputError(`Range of blkio weight is from 10 to 1000 (HostConfig.BlkioWeight ${weight})`);
    out.weight = weight;
  }
  if (int(r.IOMaximumBandwidth, 'IOMaximumBandwidth') !== 0) throw new SpecInputError('invalid option: QoS maximum bandwidth configuration is not supported on linux (HostConfig.IOMaximumBandwidth)');
  if (int(r.IOMaximumIOps, 'IOMaximumIOps') !== 0) throw new SpecInputError('invalid option: QoS maximum IOPs configuration is not supported on linux (HostConfig.IOMaximumIOps)');
  const weights = (r.BlkioWeightDevice ?? []) as WeightDevice[];
  if (weights.length && !host.blkioWeightDevice) {
    warnings.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
  } else if (weights.length) {
    out.weightDevice = weights.map((d, i): LinuxWeightDevice => {
      const w = int(d?.Weight, `BlkioWeightDevice[${i}].Weight`);
      if (w < 10 || w > 1000) throw new SpecInputError(`HostConfig.BlkioWeightDevice[${i}].Weight: must be 10..1000 (got ${w})`);
      return { ...devNumbers(d?.Path, `BlkioWeightDevice[${i}]`, stat), weight: w };
    });
  }
  const throttles: [keyof Resources, keyof LinuxBlockIO, string][] = [
    ['BlkioDeviceReadBps', 'throttleReadBpsDevice', 'BPS Block I/O read limit'],
    ['BlkioDeviceWriteBps', 'throttleWriteBpsDevice', 'BPS Block I/O write limit'],
    ['BlkioDeviceReadIOps', 'throttleReadIOPSDevice', 'IOPS Block read limit'],
    ['BlkioDeviceWriteIOps', 'throttleWriteIOPSDevice', 'IOPS Block write limit'],
  ];
  for (const [field, key, what] of throttles) {
    const list = (r[field] ?? []) as ThrottleDevice[];
    if (!list.length) continue;
    if (!host.blkioThrottle) {
      warnings.push(`Your kernel does not support ${what} or the cgroup is not mounted. ${what} discarded.`);
      continue;
    }
    (out[key] as LinuxThrottleDevice[]) = list.map((d, i) => {
      const rate = int(d?.Rate, `${field}[${i}].Rate`);
      if (rate < 0) throw new SpecInputError(`HostConfig.${field}[${i}].Rate: must not be negative (got ${rate})`);
      return { ...devNumbers(d?.Path, `${field}[${i}]`, stat), rate };
    });
  }
  return Object.keys(out).length ? out : undefined;
}

function pids(r: Resources): LinuxPids | undefined {
  if (r.PidsLimit === undefined || r.PidsLimit === null) return undefined;
  const n = int(r.PidsLimit, 'PidsLimit');
  // The API takes 0 and negative values as "unlimited"; the runtime wants -1.
  return { limit: n <= 0 ? -1 : n };
}

/** linux.resources without the device rules (devices.ts adds those). */
export function buildResources(r: Resources, host: HostInfo, warnings: string[], stat: StatDevice = statDevice): LinuxResources {
  const out: LinuxResources = {};
  const m = memory(r, host, warnings);
  const c = cpu(r, host, warnings);
  const b = blockIO(r, host, warnings, stat);
  const p = pids(r);
  if (m) out.memory = m;
  if (c) out.cpu = c;
  if (p) out.pids = p;
  if (b) out.blockIO = b;
  return out;
}

/** RLIM_INFINITY, what -1 becomes as Go's uint64(-1). */
const RLIM_INFINITY = 2n ** 64n - 1n;

/** Ulimits (the daemon's default-ulimits first filling what the request leaves out) -> rlimits. */
export function buildRlimits(ulimits: readonly Ulimit[], defaults: readonly Ulimit[] = []): POSIXRlimit[] | undefined {
  const names = new Set(ulimits.map((u) => u?.Name));
  const all = [...ulimits, ...defaults.filter((d) => !names.has(d.Name))];
  if (all.length === 0) return undefined;
  const seen = new Set<string>();
  return all.map((u, i) => {
    const where = `HostConfig.Ulimits[${i}]`;
    const name = u?.Name ?? '';
    const type = 'RLIMIT_' + name.toUpperCase();
    if (!name || !(type in RLIMITS)) {
      const known = Object.keys(RLIMITS).map((k) => k.slice(7).toLowerCase()).join(', ');
      throw new SpecInputError(`${where}: invalid ulimit type: ${name} (known: ${known})`);
    }
    if (seen.has(type)) throw new SpecInputError(`${where}: ulimit ${name} is given twice`);
    seen.add(type);
    const soft = int(u.Soft, `Ulimits[${i}].Soft`);
    const hard = int(u.Hard, `Ulimits[${i}].Hard`);
    const conv = (v: number, which: string) => {
      if (v === -1) return RLIM_INFINITY;
      if (v < 0) throw new SpecInputError(`${where}.${which}: must be -1 (unlimited) or a non-negative number (got ${v})`);
      return v;
    };
    const s = conv(soft, 'Soft');
    const h = conv(hard, 'Hard');
    if (s > h) throw new SpecInputError(`${where}: ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard} (${name})`);
    return { type, hard: h, soft: s };
  });
}
