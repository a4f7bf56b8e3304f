// CgroupStats from a cgroup2 dir, mapped to runc's (v1-shaped) schema as runc's
// fs2 driver does:
//   cpu.stat          usage_usec/user_usec/system_usec → usage.total/user/kernel (ns);
//                     nr_periods, nr_throttled, throttled_usec (→ ns) → throttling
//   memory.current/.max/.peak        → memory.usage (usage, limit, max); failcnt = memory.events "max"
//   memory.swap.current/.max         → memory.swap as memory+swap, like v1's memsw (runc does the
//                                      same): usage = swap + memory, limit = swap.max + memory.max
//                                      unless either is unlimited; failcnt = memory.swap.events "max"
//   memory.stat       → memory.raw; memory.cache = its "file"
//   memory.events     → memory.event_count (low, high, max, oom, oom_kill)
//   pids.current/.max → pids.current/limit (limit 0 = unlimited, runc's convention)
//   io.stat           → blkio.ioServiceBytesRecursive (rbytes/wbytes/dbytes as Read/Write/Discard,
//                       plus Total) and blkio.ioServicedRecursive (rios/wios/dios, plus Total)
//   hugetlb.<size>.current, .events "max" → hugetlb[size].usage, failcnt. hugetlb[size].max is the
//                     peak usage in runc's schema (v1 max_usage_in_bytes), which v2 does not
//                     track, so it is left out (as runc does), not filled with the limit.
//   cpuset.cpus.effective / cpuset.mems.effective → cpuset.cpus/mems
// "max" (unlimited) is reported as 2^63-1, the value runc prints for v1's unlimited.
// A file a disabled controller does not provide leaves its part at the defaults.
import { CgroupFs, joinPath } from '../fs';
import { BlkioEntry, CgroupStats, MemoryEntry, emptyStats } from '../stats';
import { errCode } from '../common';
import { parseKeyValues } from './util';

export const UNLIMITED = 9223372036854775807n;

function reader(fs: CgroupFs, dir: string): (name: string) => string | undefined {
  return (name) => {
    try {
      return fs.readFile(joinPath(dir, name));
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  };
}

/** "max" → 2^63-1, a number → itself. */
function limitValue(text: string | undefined): bigint | undefined {
  const t = text?.trim();
  if (t === undefined || t === '') return undefined;
  if (t === 'max') return UNLIMITED;
  return /^\d+$/.test(t) ? BigInt(t) : undefined;
}

const num = (v: bigint | undefined): number => (v === undefined ? 0 : Number(v));

/** "0-3,7" → [0, 1, 2, 3, 7]. */
export function parseList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let i = lo; i <= hi && i - lo < 65536; i++) out.push(i);
  }
  return out;
}

/** io.stat lines "maj:min rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" → runc's blkio tables. */
export function parseIoStat(text: string): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  const OPS: Record<string, [BlkioEntry[], string]> = {
    rbytes: [bytes, 'Read'], wbytes: [bytes, 'Write'], dbytes: [bytes, 'Discard'],
    rios: [ios, 'Read'], wios: [ios, 'Write'], dios: [ios, 'Discard'],
  };
  for (const line of text.split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const totals = new Map<BlkioEntry[], number>();
    for (const kv of kvs) {
      const [k, v] = kv.split('=');
      const op = OPS[k];
      if (!op || v === undefined || !/^\d+$/.test(v)) continue; // e.g. cost.* and latency keys
      const value = Number(v);
      op[0].push({ major, minor, op: op[1], value });
      totals.set(op[0], (totals.get(op[0]) ?? 0) + value);
    }
    for (const [table, value] of totals) table.push({ major, minor, op: 'Total', value });
  }
  return { bytes, ios };
}

export function readStatsV2(fs: CgroupFs, dir: string): CgroupStats {
  const read = reader(fs, dir);
  const s = emptyStats();
  if (!fs.exists(dir)) throw new Error(`cgroups: ${dir} does not exist`);

  const cpu = parseKeyValues(read('cpu.stat') ?? '');
  const ns = (k: string): number | undefined => (cpu.has(k) ? Number(cpu.get(k)! * 1000n) : undefined);
  if (cpu.has('usage_usec')) s.cpu.usage.total = ns('usage_usec');
  s.cpu.usage.user = ns('user_usec') ?? 0;
  s.cpu.usage.kernel = ns('system_usec') ?? 0;
  if (cpu.has('nr_periods')) {
    s.cpu.throttling = { periods: num(cpu.get('nr_periods')), throttledPeriods: num(cpu.get('nr_throttled')), throttledTime: ns('throttled_usec') ?? 0 };
  }

  const cpus = read('cpuset.cpus.effective');
  const mems = read('cpuset.mems.effective');
  if (cpus !== undefined || mems !== undefined) s.cpuset = { cpus: parseList(cpus ?? ''), mems: parseList(mems ?? '') };

  const usage = limitValue(read('memory.current'));
  if (usage !== undefined) {
    const events = parseKeyValues(read('memory.events') ?? '');
    const limit = limitValue(read('memory.max')) ?? UNLIMITED;
    const mem: MemoryEntry = { usage: Number(usage), limit: Number(limit), failcnt: num(events.get('max')) };
    const peak = limitValue(read('memory.peak'));
    if (peak !== undefined) mem.max = Number(peak);
    s.memory.usage = mem;
    const swapUsage = limitValue(read('memory.swap.current'));
    if (swapUsage !== undefined) {
      const swapLimit = limitValue(read('memory.swap.max')) ?? UNLIMITED;
      const swapEvents = parseKeyValues(read('memory.swap.events') ?? '');
      s.memory.swap = {
        usage: Number(swapUsage + usage),
        limit: Number(swapLimit === UNLIMITED || limit === UNLIMITED ? UNLIMITED : swapLimit + limit),
        failcnt: num(swapEvents.get('max')),
      };
    }
    const stat = parseKeyValues(read('memory.stat') ?? '');
    if (stat.size) {
      s.memory.raw = Object.fromEntries([...stat].map(([k, v]) => [k, Number(v)]));
      s.memory.cache = num(stat.get('file'));
    }
    const ec: NonNullable<CgroupStats['memory']['event_count']> = {};
    for (const k of ['low', 'high', 'max', 'oom', 'oom_kill'] as const) if (events.has(k)) ec[k] = Number(events.get(k));
    if (Object.keys(ec).length) s.memory.event_count = ec;
  }

  const pidsCurrent = limitValue(read('pids.current'));
  if (pidsCurrent !== undefined) {
    const max = limitValue(read('pids.max'));
    s.pids = { current: Number(pidsCurrent), limit: max === undefined || max === UNLIMITED ? 0 : Number(max) };
  } else {
    const procs = read('cgroup.procs');
    if (procs !== undefined) s.pids = { current: procs.split('\n').filter((l) => l.trim()).length, limit: 0 };
  }

  const io = read('io.stat');
  if (io !== undefined) {
    const { bytes, ios } = parseIoStat(io);
    s.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
  }

  for (const d of fs.readdir(dir)) {
    const size = /^hugetlb\.([0-9]+[KMGT]?B)\.current$/.exec(d.name)?.[1];
    if (!size) continue;
    const events = parseKeyValues(read(`hugetlb.${size}.events`) ?? '');
    s.hugetlb[size] = { usage: num(limitValue(read(d.name))), failcnt: num(events.get('max')) };
  }
  return s;
}

/** memory.events "oom_kill" (hierarchical: includes child cgroups); 0 without the memory controller. */
export function readOomKillCount(fs: CgroupFs, dir: string): number {
  try {
    return num(parseKeyValues(fs.readFile(joinPath(dir, 'memory.events'))).get('oom_kill'));
  } catch (e) {
    if (errCode(e) === 'ENOENT') return 0;
    throw e;
  }
}
