// Pre-create validation of linux.resources: everything that can be known to be
// wrong before a cgroup exists (nonsense numbers, ranges the kernel would
// silently clamp, CPUs or memory nodes this host does not have). Each error
// names the field, says what is wrong and which values are allowed.
//
// Zero means "not set" for the fields where runc (and Docker's specs) use it so:
// memory limit/reservation/swap, cpu shares/quota/period/realtime*, blkio weights,
// network classID. pids.limit ≤ 0 means no limit.
import { CgroupFs, joinPath, nodeCgroupFs } from './fs';
import type { CgroupLayout } from './layout';
import { CgroupError } from './manager';
import type { Int64, LinuxResources } from '../spec/types';
import { formatCpuList, hugepageDirToName, parseCpuList, pageSizeBytes } from './units';

/** The kernel clamps cpu.shares into this range (sched_group_set_shares). */
export const CPU_SHARES_MIN = 2;
export const CPU_SHARES_MAX = 262144;
/** cpu.cfs_period_us: 1 ms .. 1 s; cpu.cfs_quota_us ≥ 1 ms (kernel/sched/core.c). */
export const CFS_PERIOD_MIN = 1000;
export const CFS_PERIOD_MAX = 1000000;
export const CFS_QUOTA_MIN = 1000;
/** max_cfs_runtime: (2^44 - 1) µs. */
export const CFS_QUOTA_MAX = 2n ** 44n - 1n;
/** Proportional blkio weights (CFQ range; BFQ takes 1..1000, so these always work). */
export const BLKIO_WEIGHT_MIN = 10;
export const BLKIO_WEIGHT_MAX = 1000;
/** pids.max must be below PIDS_MAX = PID_MAX_LIMIT + 1 (4 Mi pids on 64-bit). */
export const PIDS_LIMIT_MAX = 4194304;

/** cgroup2 files `unified` may not write: they move, kill or freeze processes, or reshape the tree. */
const UNIFIED_FORBIDDEN = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.kill', 'cgroup.freeze', 'cgroup.subtree_control', 'cgroup.type']);

/** What the host offers, for the checks that depend on it. */
export interface HostResources {
  /** CPUs a container may be given (the root cpuset's effective CPUs, or the online CPUs). */
  cpus: number[];
  /** Memory nodes likewise. */
  mems: number[];
  /** Huge page sizes the kernel supports, as named in hugetlb files ("2MB", "1GB"). */
  hugepageSizes: string[];
}

function firstReadable(fs: CgroupFs, files: (string | undefined)[]): string | undefined {
  for (const f of files) {
    if (f === undefined) continue;
    try {
      const t = fs.readFile(f).trim();
      if (t !== '') return t;
    } catch {
      /* try the next source */
    }
  }
  return undefined;
}

/** Read what the host offers (only the parts asked for). */
export function hostResources(layout: CgroupLayout, fs: CgroupFs = nodeCgroupFs, want: { cpus?: boolean; mems?: boolean; hugepages?: boolean } = { cpus: true, mems: true, hugepages: true }): HostResources {
  const v1 = layout.v1.get('cpuset');
  const u = layout.unified;
  const at = (dir: string | undefined, f: string): string | undefined => (dir === undefined ? undefined : joinPath(dir, f));
  const host: HostResources = { cpus: [], mems: [], hugepageSizes: [] };
  if (want.cpus) {
    const t = firstReadable(fs, [at(v1, 'cpuset.effective_cpus'), at(v1, 'cpuset.cpus'), at(u, 'cpuset.cpus.effective'), '/sys/devices/system/cpu/online']);
    host.cpus = t === undefined ? [] : parseCpuList(t);
  }
  if (want.mems) {
    const t = firstReadable(fs, [at(v1, 'cpuset.effective_mems'), at(v1, 'cpuset.mems'), at(u, 'cpuset.mems.effective'), '/sys/devices/system/node/online']);
    host.mems = parseCpuList(t ?? '0'); // no NUMA information at all: a single node 0
  }
  if (want.hugepages) {
    try {
      host.hugepageSizes = fs
        .readdir('/sys/kernel/mm/hugepages')
        .map((d) => hugepageDirToName(d.name))
        .filter((n): n is string => n !== undefined);
    } catch {
      host.hugepageSizes = [];
    }
  }
  return host;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** The value as a bigint, or a CgroupError saying it must be an integer. */
function int(field: string, v: Int64 | unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new CgroupError(field, `must be an integer (got ${show(v)})`);
}

/** Byte limit: absent or 0 = not set, -1 = unlimited, else > 0. Returns the value or undefined when not set. */
function byteLimit(field: string, v: Int64 | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  const b = int(field, v);
  if (b === 0n) return undefined;
  if (b < -1n) throw new CgroupError(field, `must be a number of bytes, or -1 for no limit (got ${b})`);
  return b;
}

function range(field: string, v: Int64 | undefined, lo: bigint | number, hi: bigint | number, what: string, unsetZero = false): bigint | undefined {
  if (v === undefined) return undefined;
  const b = int(field, v);
  if (unsetZero && b === 0n) return undefined;
  if (b < BigInt(lo) || b > BigInt(hi)) throw new CgroupError(field, `${what} (got ${b})`);
  return b;
}

function nonNegative(field: string, v: Int64 | undefined, what: string): bigint | undefined {
  if (v === undefined) return undefined;
  const b = int(field, v);
  if (b < 0n) throw new CgroupError(field, `${what} (got ${b})`);
  return b;
}

function list(field: string, v: string, what: string): number[] {
  try {
    return parseCpuList(v);
  } catch (e) {
    throw new CgroupError(field, `${show(v)} is not a valid ${what} list: ${(e as Error).message}; write e.g. "0-3,7"`);
  }
}

function devNum(field: string, v: number | undefined, wildcardOk: boolean): void {
  if (v === undefined) return;
  const b = int(field, v);
  if (wildcardOk && b === -1n) return;
  if (b < 0n || b > 0xffffffffn) throw new CgroupError(field, `must be a device number 0..4294967295${wildcardOk ? ', or -1 for any' : ''} (got ${b})`);
}

/**
 * Checks that need nothing from the host: ranges, formats, and relations between
 * fields (swap ≥ limit, burst ≤ quota, rt runtime ≤ rt period). Drivers call this
 * at the start of apply() too, so `update` is validated the same way.
 */
export function checkResourceValues(r: LinuxResources): void {
  const m = r.memory;
  if (m) {
    const limit = byteLimit('memory.limit', m.limit);
    byteLimit('memory.reservation', m.reservation);
    const swap = byteLimit('memory.swap', m.swap);
    if (swap !== undefined && swap > 0n && limit !== undefined) {
      if (limit === -1n) {
        throw new CgroupError('memory.swap', `memory+swap limit ${swap} cannot be finite while memory.limit is -1 (unlimited): the kernel needs memory+swap ≥ memory; set swap to -1 or give a memory limit`);
      }
      if (swap < limit) {
        throw new CgroupError('memory.swap', `is the memory+swap total and must be ≥ memory.limit ${limit} (got ${swap}); use swap = limit for no swap, or -1 for unlimited swap`);
      }
    }
    if (m.swappiness !== undefined) range('memory.swappiness', m.swappiness, 0, 100, 'must be 0..100');
    // kernel and kernelTCP are deprecated (kernel memory is always charged with the rest): ignored.
  }

  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined) {
      const s = int('cpu.shares', c.shares);
      if (s !== 0n && (s < CPU_SHARES_MIN || s > CPU_SHARES_MAX)) {
        throw new CgroupError('cpu.shares', `must be ${CPU_SHARES_MIN}..${CPU_SHARES_MAX} (the kernel would silently clamp ${s} to ${s < CPU_SHARES_MIN ? CPU_SHARES_MIN : CPU_SHARES_MAX}); got ${s}`);
      }
    }
    range('cpu.period', c.period, CFS_PERIOD_MIN, CFS_PERIOD_MAX, `must be ${CFS_PERIOD_MIN}..${CFS_PERIOD_MAX} µs (1 ms to 1 s)`, true);
    let quota: bigint | undefined;
    if (c.quota !== undefined) {
      quota = int('cpu.quota', c.quota);
      if (quota !== 0n && quota !== -1n && (quota < CFS_QUOTA_MIN || quota > CFS_QUOTA_MAX)) {
        throw new CgroupError('cpu.quota', `must be ${CFS_QUOTA_MIN}..${CFS_QUOTA_MAX} µs of CPU time per period, or -1 for no limit (got ${quota})`);
      }
    }
    const burst = nonNegative('cpu.burst', c.burst, 'must be ≥ 0 µs');
    if (burst !== undefined && quota !== undefined && quota > 0n && burst > quota) {
      throw new CgroupError('cpu.burst', `must not exceed cpu.quota ${quota} (got ${burst})`);
    }
    const rtPeriod = range('cpu.realtimePeriod', c.realtimePeriod, 1, 2n ** 63n / 1000n, 'must be a positive number of µs', true);
    let rtRuntime: bigint | undefined;
    if (c.realtimeRuntime !== undefined) {
      rtRuntime = int('cpu.realtimeRuntime', c.realtimeRuntime);
      if (rtRuntime < -1n) throw new CgroupError('cpu.realtimeRuntime', `must be ≥ 0 µs, or -1 for no limit (got ${rtRuntime})`);
    }
    if (rtRuntime !== undefined && rtRuntime > 0n && rtPeriod !== undefined && rtRuntime > rtPeriod) {
      throw new CgroupError('cpu.realtimeRuntime', `must not exceed cpu.realtimePeriod ${rtPeriod} (got ${rtRuntime})`);
    }
    if (c.cpus !== undefined) list('cpu.cpus', c.cpus, 'CPU');
    if (c.mems !== undefined) list('cpu.mems', c.mems, 'memory node');
    range('cpu.idle', c.idle, 0, 1, 'must be 0 or 1 (1 runs the cgroup as SCHED_IDLE)');
  }

  if (r.pids) {
    const l = int('pids.limit', r.pids.limit);
    if (l > PIDS_LIMIT_MAX) throw new CgroupError('pids.limit', `must be at most ${PIDS_LIMIT_MAX} (the kernel's PID_MAX_LIMIT); use 0 or -1 for no limit (got ${l})`);
  }

  const b = r.blockIO;
  if (b) {
    const w = `must be ${BLKIO_WEIGHT_MIN}..${BLKIO_WEIGHT_MAX}`;
    range('blockIO.weight', b.weight, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, w, true);
    range('blockIO.leafWeight', b.leafWeight, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, w, true);
    (b.weightDevice ?? []).forEach((d, i) => {
      const p = `blockIO.weightDevice[${i}]`;
      devNum(`${p}.major`, d.major, false);
      devNum(`${p}.minor`, d.minor, false);
      range(`${p}.weight`, d.weight, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, `${w}, or 0 to drop the device's own weight`, true);
      range(`${p}.leafWeight`, d.leafWeight, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, `${w}, or 0 to drop the device's own weight`, true);
    });
    for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
      (b[k] ?? []).forEach((d, i) => {
        const p = `blockIO.${k}[${i}]`;
        devNum(`${p}.major`, d.major, false);
        devNum(`${p}.minor`, d.minor, false);
        nonNegative(`${p}.rate`, d.rate, `must be ≥ 0 ${k.includes('Bps') ? 'bytes' : 'operations'} per second (0 removes the limit)`);
      });
    }
  }

  (r.hugepageLimits ?? []).forEach((h, i) => {
    const p = `hugepageLimits[${i}]`;
    if (typeof h.pageSize !== 'string' || pageSizeBytes(h.pageSize) === undefined) {
      throw new CgroupError(`${p}.pageSize`, `must name a huge page size like "2MB" or "1GB" (got ${show(h.pageSize)})`);
    }
    const l = int(`${p}.limit`, h.limit);
    if (l < -1n) throw new CgroupError(`${p}.limit`, `must be a number of bytes, or -1 for no limit (got ${l})`);
  });

  const n = r.network;
  if (n) {
    range('network.classID', n.classID, 0, 0xffffffff, 'must be 0..4294967295 (0xMMMMmmmm: major and minor tc class handle)');
    (n.priorities ?? []).forEach((p, i) => {
      if (typeof p.name !== 'string' || !/^[^\s/]+$/.test(p.name)) {
        throw new CgroupError(`network.priorities[${i}].name`, `must be a network interface name (no spaces or "/"; got ${show(p.name)})`);
      }
      range(`network.priorities[${i}].priority`, p.priority, 0, 0xffffffff, 'must be 0..4294967295');
    });
  }

  for (const [dev, l] of Object.entries(r.rdma ?? {})) {
    if (!/^[^\s=]+$/.test(dev)) throw new CgroupError(`rdma[${JSON.stringify(dev)}]`, 'must be an RDMA device name (no spaces or "=")');
    range(`rdma[${JSON.stringify(dev)}].hcaHandles`, l.hcaHandles, 0, 0x7fffffff, 'must be 0..2147483647');
    range(`rdma[${JSON.stringify(dev)}].hcaObjects`, l.hcaObjects, 0, 0x7fffffff, 'must be 0..2147483647');
  }

  (r.devices ?? []).forEach((d, i) => {
    const p = `devices[${i}]`;
    if (d.type !== undefined && !['a', 'b', 'c'].includes(d.type)) {
      throw new CgroupError(`${p}.type`, `must be "a" (all), "b" (block) or "c" (char) (got ${show(d.type)})`);
    }
    devNum(`${p}.major`, d.major, true);
    devNum(`${p}.minor`, d.minor, true);
    if (d.access !== undefined && (typeof d.access !== 'string' || !/^[rwm]+$/.test(d.access))) {
      throw new CgroupError(`${p}.access`, `must be made of the letters r (read), w (write) and m (mknod), e.g. "rwm" (got ${show(d.access)})`);
    }
  });

  for (const [k, v] of Object.entries(r.unified ?? {})) {
    const p = `unified[${JSON.stringify(k)}]`;
    if (!/^[a-z][a-z0-9_]*\.[A-Za-z0-9_.]+$/.test(k) || k.includes('..')) {
      throw new CgroupError(p, 'must be a cgroup2 interface file name such as "memory.high" (no "/")');
    }
    if (UNIFIED_FORBIDDEN.has(k)) throw new CgroupError(p, `${k} moves, kills or freezes processes or changes the cgroup tree; it is not a resource setting`);
    if (typeof v !== 'string' || v.includes('\0')) throw new CgroupError(p, 'must be a string without NUL');
  }
}

/**
 * Full pre-create check: checkResourceValues plus what depends on this host
 * (CPUs and memory nodes in cpu.cpus/cpu.mems exist, huge page sizes are
 * supported). Throws CgroupError; reads only (nothing is created or written).
 */
export function checkResources(resources: LinuxResources, layout: CgroupLayout, fs: CgroupFs = nodeCgroupFs): void {
  checkResourceValues(resources);
  const c = resources.cpu;
  const wantCpus = c?.cpus !== undefined && c.cpus.trim() !== '';
  const wantMems = c?.mems !== undefined && c.mems.trim() !== '';
  const wantHuge = (resources.hugepageLimits ?? []).length > 0;
  if (!wantCpus && !wantMems && !wantHuge) return;
  const host = hostResources(layout, fs, { cpus: wantCpus, mems: wantMems, hugepages: wantHuge });
  const subset = (field: string, asked: string, have: number[], what: string): void => {
    if (have.length === 0) return; // host did not say: the kernel will decide
    const missing = parseCpuList(asked).filter((x) => !have.includes(x));
    if (missing.length) {
      throw new CgroupError(field, `${show(asked)} names ${what} ${formatCpuList(missing)} that this host does not have; available: ${formatCpuList(have)}`);
    }
  };
  if (wantCpus) subset('cpu.cpus', c!.cpus!, host.cpus, 'CPU(s)');
  if (wantMems) subset('cpu.mems', c!.mems!, host.mems, 'memory node(s)');
  if (wantHuge) {
    (resources.hugepageLimits ?? []).forEach((h, i) => {
      if (!host.hugepageSizes.includes(h.pageSize)) {
        const have = host.hugepageSizes.length ? host.hugepageSizes.join(', ') : 'none (no huge page support)';
        throw new CgroupError(`hugepageLimits[${i}].pageSize`, `${show(h.pageSize)} is not a huge page size this kernel supports; supported: ${have}`);
      }
    });
  }
}
