// v1 memory controller: limit, soft limit (reservation), memory+swap, swappiness,
// OOM killer switch; and the memory part of the stats.
//
// OCI "swap" is runc's memory+swap total (memory.memsw.limit_in_bytes), -1 = no
// limit. The kernel insists memsw ≥ limit at every moment, so the two writes are
// ordered: memsw first when it grows (or becomes unlimited), limit first when
// memsw shrinks below the current limit. Zero limit/reservation/swap means "not
// set" (runc); kernel/kernelTCP are deprecated and ignored.
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import type { LinuxMemory } from '../../spec/types';
import type { MemoryEntry, MemoryStats } from '../stats';
import { parseCounter, parseKeyValues } from '../units';
import { V1Context, nz, readBig, readOptional, requireDir, writeField } from './util';

export const MEMORY_FILES = {
  limit: 'memory.limit_in_bytes',
  soft: 'memory.soft_limit_in_bytes',
  memsw: 'memory.memsw.limit_in_bytes',
  swappiness: 'memory.swappiness',
  oomControl: 'memory.oom_control',
  usage: 'memory.usage_in_bytes',
  maxUsage: 'memory.max_usage_in_bytes',
  memswUsage: 'memory.memsw.usage_in_bytes',
} as const;

/** True when `m` asks for anything this driver writes. */
export function memoryWanted(m: LinuxMemory | undefined): boolean {
  if (!m) return false;
  return nz(m.limit) !== undefined || nz(m.reservation) !== undefined || nz(m.swap) !== undefined || m.swappiness !== undefined || m.disableOOMKiller !== undefined;
}

function firstField(m: LinuxMemory): string {
  for (const k of ['limit', 'reservation', 'swap', 'swappiness', 'disableOOMKiller'] as const) if (m[k] !== undefined) return `memory.${k}`;
  return 'memory';
}

export function applyMemory(ctx: V1Context, m: LinuxMemory | undefined): void {
  if (!m || !memoryWanted(m)) return;
  const { o } = ctx;
  const dir = requireDir(ctx, 'memory', firstField(m));
  const f = (name: string): string => joinPath(dir, name);
  let limit = nz(m.limit);
  let swap = nz(m.swap);
  const hasMemsw = o.fs.exists(f(MEMORY_FILES.memsw));

  // runc: an unlimited memory limit without a swap value makes memory+swap unlimited too.
  if (limit === -1n && swap === undefined && hasMemsw) swap = -1n;
  if (swap !== undefined && !hasMemsw) {
    if (swap === -1n || (limit !== undefined && swap === limit)) {
      swap = undefined; // nothing to enforce: no swap beyond the memory limit / unlimited
    } else {
      throw new CgroupError(
        'memory.swap',
        `swap accounting is off in this kernel (${f(MEMORY_FILES.memsw)} does not exist; boot with swapaccount=1), so the memory+swap limit ${swap}${limit !== undefined ? ` (above the memory limit ${limit})` : ''} cannot be enforced; set swap equal to the memory limit, or to -1`,
      );
    }
  }

  if (ctx.update && m.checkBeforeUpdate) {
    const usage = readBig(o, f(MEMORY_FILES.usage));
    if (limit !== undefined && limit > 0n && usage !== undefined && limit < usage) {
      throw new CgroupError('memory.limit', `the new limit ${limit} is below the container's current memory usage ${usage} (memory.checkBeforeUpdate is set); free memory first or choose a limit ≥ ${usage}`);
    }
    const swUsage = hasMemsw ? readBig(o, f(MEMORY_FILES.memswUsage)) : undefined;
    if (swap !== undefined && swap > 0n && swUsage !== undefined && swap < swUsage) {
      throw new CgroupError('memory.swap', `the new memory+swap limit ${swap} is below the container's current memory+swap usage ${swUsage} (memory.checkBeforeUpdate is set)`);
    }
  }

  const usageText = (): string => {
    const u = readBig(o, f(MEMORY_FILES.usage));
    const p = readBig(o, f(MEMORY_FILES.maxUsage));
    return `${u ?? '?'} bytes (peak ${p ?? '?'})`;
  };
  const writeLimit = (v: bigint): void =>
    writeField(o, 'memory.limit', f(MEMORY_FILES.limit), v.toString(), (code) => {
      if (code === 'EBUSY') return `the container uses ${usageText()} and the kernel could not reclaim enough memory to go down to ${v} (EBUSY)`;
      if (code === 'EINVAL' && hasMemsw) {
        const sw = readBig(o, f(MEMORY_FILES.memsw));
        return `the kernel refused it (EINVAL): the memory limit may not exceed the memory+swap limit, currently ${sw} (${MEMORY_FILES.memsw}); raise linux.resources.memory.swap too`;
      }
      return undefined;
    });
  const writeSwap = (v: bigint): void =>
    writeField(o, 'memory.swap', f(MEMORY_FILES.memsw), v.toString(), (code) => {
      if (code === 'EBUSY') return `the container uses more memory+swap than ${v} and the kernel could not reclaim it (EBUSY)`;
      if (code === 'EINVAL') return `the kernel refused it (EINVAL): memory+swap may not be below the memory limit, currently ${readBig(o, f(MEMORY_FILES.limit))}`;
      return undefined;
    });

  if (limit !== undefined && swap !== undefined) {
    const current = readBig(o, f(MEMORY_FILES.limit)) ?? 0n;
    // memsw must stay ≥ limit: grow memsw first, shrink it last.
    if (swap === -1n || current < swap) {
      writeSwap(swap);
      writeLimit(limit);
    } else {
      writeLimit(limit);
      writeSwap(swap);
    }
  } else if (limit !== undefined) {
    writeLimit(limit);
  } else if (swap !== undefined) {
    writeSwap(swap);
  }

  const reservation = nz(m.reservation);
  if (reservation !== undefined) writeField(o, 'memory.reservation', f(MEMORY_FILES.soft), reservation.toString());

  if (m.swappiness !== undefined && o.fs.exists(f(MEMORY_FILES.swappiness))) {
    writeField(o, 'memory.swappiness', f(MEMORY_FILES.swappiness), String(m.swappiness));
  }

  if (m.disableOOMKiller === true) {
    writeField(o, 'memory.disableOOMKiller', f(MEMORY_FILES.oomControl), '1');
  } else if (m.disableOOMKiller === false) {
    // Only undo an earlier disable (update); a new cgroup has the killer on.
    const cur = parseKeyValues(readOptional(o, f(MEMORY_FILES.oomControl)) ?? '');
    if (cur.oom_kill_disable === 1) writeField(o, 'memory.disableOOMKiller', f(MEMORY_FILES.oomControl), '0');
  }
}

/** One usage/limit/peak/failcnt group; `prefix` is "memory", "memory.memsw", "memory.kmem", "memory.kmem.tcp". */
function entry(read: (name: string) => string | undefined, prefix: string): MemoryEntry | undefined {
  const limit = read(`${prefix}.limit_in_bytes`);
  const usage = read(`${prefix}.usage_in_bytes`);
  if (limit === undefined && usage === undefined) return undefined;
  const e: MemoryEntry = { limit: limit === undefined ? 0 : parseCounter(limit), failcnt: 0 };
  if (usage !== undefined) e.usage = parseCounter(usage);
  const max = read(`${prefix}.max_usage_in_bytes`);
  if (max !== undefined) e.max = parseCounter(max);
  const failcnt = read(`${prefix}.failcnt`);
  if (failcnt !== undefined) e.failcnt = parseCounter(failcnt);
  return e;
}

/** Fill the memory part of the stats from the v1 memory dir. */
export function memoryStats(ctx: V1Context, into: MemoryStats): void {
  const dir = ctx.dirOf('memory');
  if (dir === undefined) return;
  const read = (name: string): string | undefined => readOptional(ctx.o, joinPath(dir, name));
  for (const [key, prefix] of [['usage', 'memory'], ['swap', 'memory.memsw'], ['kernel', 'memory.kmem'], ['kernelTCP', 'memory.kmem.tcp']] as const) {
    const e = entry(read, prefix);
    if (e) into[key] = e;
  }
  const stat = read('memory.stat');
  if (stat !== undefined) {
    into.raw = parseKeyValues(stat);
    const cache = into.raw.cache ?? into.raw.total_cache;
    if (cache !== undefined) into.cache = cache;
  }
  const oom = read(MEMORY_FILES.oomControl);
  if (oom !== undefined) {
    const kv = parseKeyValues(oom);
    into.event_count = {
      // v1 has no OOM event counter: "oom" is under_oom, 1 while the cgroup sits at its limit with the killer disabled.
      oom: kv.under_oom ?? 0,
      oom_kill: kv.oom_kill ?? 0,
      // failcnt counts the times usage hit the limit, what cgroup2 reports as "max".
      max: into.usage.failcnt,
    };
  }
}

/** memory.oom_control oom_kill (kernel ≥ 4.13); 0 without a memory hierarchy. */
export function memoryOomKills(ctx: V1Context): number {
  const dir = ctx.dirOf('memory');
  if (dir === undefined) return 0;
  const text = readOptional(ctx.o, joinPath(dir, MEMORY_FILES.oomControl));
  return text === undefined ? 0 : (parseKeyValues(text).oom_kill ?? 0);
}
