/**
 * `docker stats`: the container's cgroup statistics (the runtime's, as runc reports them) in
 * Docker's ContainerStatsResponse shape, with the host CPU time `docker stats` divides by.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { CgroupStats } from '../runtime/cgroups';

/** Host CPU time in ns, as dockerd's getSystemCPUUsage reads /proc/stat (USER_HZ = 100). */
export function systemCpuUsageNs(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((n, v) => n + Number(v), 0);
  return ticks * 1e7;
}

const UNLIMITED = 2 ** 62;

/** One reading: the cgroup's stats and the host's CPU time, taken together. */
export interface StatsSample {
  stats: CgroupStats;
  systemNs: number;
  at: Date;
}

export function takeSample(stats: CgroupStats): StatsSample {
  return { stats, systemNs: systemCpuUsageNs(), at: new Date() };
}

function cpuStats(sample: StatsSample | undefined, onlineCpus: number): Record<string, unknown> {
  const s = sample?.stats;
  return {
    cpu_usage: {
      total_usage: s?.cpu.usage.total ?? 0,
      ...(s?.cpu.usage.percpu ? { percpu_usage: s.cpu.usage.percpu } : {}),
      usage_in_kernelmode: s?.cpu.usage.kernel ?? 0,
      usage_in_usermode: s?.cpu.usage.user ?? 0,
    },
    system_cpu_usage: sample?.systemNs ?? 0,
    online_cpus: onlineCpus,
    throttling_data: {
      periods: s?.cpu.throttling.periods ?? 0,
      throttled_periods: s?.cpu.throttling.throttledPeriods ?? 0,
      throttled_time: s?.cpu.throttling.throttledTime ?? 0,
    },
  };
}

function blkio(entries: { major?: number; minor?: number; op?: string; value?: number }[] | undefined): unknown {
  if (!entries) return null;
  return entries.map((e) => ({ major: e.major ?? 0, minor: e.minor ?? 0, op: (e.op ?? '').toLowerCase(), value: e.value ?? 0 }));
}

export function dockerStats(c: { id: string; name: string }, sample: StatsSample, prev: StatsSample | undefined): Record<string, unknown> {
  const now = sample.stats;
  const onlineCpus = os.cpus().length;
  const limit = now.memory.usage.limit > 0 && now.memory.usage.limit < UNLIMITED ? Math.min(now.memory.usage.limit, os.totalmem()) : os.totalmem();
  return {
    name: `/${c.name}`,
    id: c.id,
    read: sample.at.toISOString(),
    preread: prev?.at.toISOString() ?? '0001-01-01T00:00:00Z',
    pids_stats: { current: now.pids.current ?? 0, ...(now.pids.limit ? { limit: now.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: blkio(now.blkio.ioServiceBytesRecursive),
      io_serviced_recursive: blkio(now.blkio.ioServicedRecursive),
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(sample, onlineCpus),
    precpu_stats: prev ? cpuStats(prev, onlineCpus) : { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {
      usage: now.memory.usage.usage ?? 0,
      ...(now.memory.usage.max !== undefined ? { max_usage: now.memory.usage.max } : {}),
      stats: now.memory.raw ?? {},
      failcnt: now.memory.usage.failcnt,
      limit,
    },
    networks: {},
  };
}
