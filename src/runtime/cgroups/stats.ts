// Container resource statistics, shaped (and JSON-keyed) exactly as `runc events --stats`
// prints them (runc types/events.go), so tools reading runc's output read ours.
// Counters are numbers: nanosecond and byte counters stay below 2^53 in practice.

export interface CgroupStats {
  cpu: CpuStats;
  cpuset?: CpusetStats;
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
  /** Keyed by page size as the kernel names it: "2MB", "1GB". */
  hugetlb: Record<string, HugetlbStats>;
}

export interface HugetlbStats {
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  /** "Read", "Write", "Sync", "Async", "Discard", "Total" (v1 names; v2 is mapped to them). */
  op?: string;
  value?: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  ioQueueRecursive?: BlkioEntry[];
  ioServiceTimeRecursive?: BlkioEntry[];
  ioWaitTimeRecursive?: BlkioEntry[];
  ioMergedRecursive?: BlkioEntry[];
  ioTimeRecursive?: BlkioEntry[];
  sectorsRecursive?: BlkioEntry[];
}

export interface PidsStats {
  current?: number;
  /** 0 when unlimited (runc omits it). */
  limit?: number;
}

export interface Throttling {
  periods?: number;
  throttledPeriods?: number;
  /** Nanoseconds. */
  throttledTime?: number;
}

export interface CpuUsage {
  /** Nanoseconds. */
  total?: number;
  percpu?: number[];
  percpu_kernel?: number[];
  percpu_user?: number[];
  kernel: number;
  user: number;
}

export interface CpuStats {
  usage: CpuUsage;
  throttling: Throttling;
}

export interface CpusetStats {
  cpus?: number[];
  mems?: number[];
}

export interface MemoryEntry {
  /** Bytes. Unlimited is reported as 2^63-1 rounded to a double (9223372036854775807 → 9223372036854776000), what runc prints for v1 "max". */
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface MemoryStats {
  cache?: number;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** memory.stat as name → value. */
  raw?: Record<string, number>;
  /** OOM and limit events (v2 memory.events; v1: oom_kill and under_oom from memory.oom_control). */
  event_count?: { low?: number; high?: number; max?: number; oom?: number; oom_kill?: number };
}

export function emptyStats(): CgroupStats {
  const entry = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
  };
}
