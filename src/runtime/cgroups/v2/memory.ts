// linux.resources.memory on cgroup v2 (runc fs2/memory.go semantics).
//   limit        → memory.max      (-1: "max"; 0: left alone, as runc)
//   reservation  → memory.low      (-1: "max"; 0: left alone)
//   swap         → memory.swap.max = swap - limit. OCI (like v1's memsw) counts memory+swap,
//                  cgroup v2 counts swap alone. -1: "max"; swap == limit: "0" (no swap);
//                  swap < limit or a swap limit without a memory limit: CgroupError.
//                  limit -1 with no swap also makes swap unlimited (runc). Without swap
//                  accounting (no memory.swap.max) "max" and "0" are no-ops, anything else fails.
//   checkBeforeUpdate (update only): refuse a limit at or below memory.current.
// Not available on cgroup v2, so ignored with a warning (runc ignores them silently;
// Docker drops them with a warning before they reach the runtime):
//   disableOOMKiller (no per-cgroup OOM-killer switch on v2; memory.oom.group is a
//   different thing and is left at its default), swappiness (no per-cgroup knob),
//   kernel / kernelTCP (kernel memory is always charged to memory.max), useHierarchy false.
// Writes happen in runc's order: memory.swap.max, memory.max, memory.low.
import type { LinuxMemory } from '../../spec/types';
import { CgroupError } from '../manager';
import { PlanContext, Write, big, has, maxOrNumber, readOpt, setOrUndefined } from './util';

/** OCI memory+swap (v1 memsw) → the memory.swap.max value; undefined = leave alone. Exported for tests. */
export function swapMaxValue(swap: bigint | undefined, limit: bigint | undefined): string | undefined {
  // limit -1 and no swap: make both unlimited (runc ConvertMemorySwapToCgroupV2Value).
  if (swap === undefined) return limit === -1n ? 'max' : undefined;
  if (swap === -1n) return 'max';
  if (swap < 0n) throw new CgroupError('memory.swap', `${swap} is not valid: expected a memory+swap byte count, or -1 for unlimited swap`);
  if (limit === undefined || limit === -1n) {
    throw new CgroupError('memory.swap', `a memory+swap limit (${swap}) needs a memory limit (memory.limit) to subtract from it on cgroup v2`);
  }
  if (swap < limit) throw new CgroupError('memory.swap', `memory+swap limit (${swap}) must be at least the memory limit (${limit})`);
  return (swap - limit).toString();
}

/** memory.max content as a bigint, -1 for "max". */
function currentLimit(c: PlanContext): bigint | undefined {
  const v = readOpt(c, 'memory.max');
  if (v === undefined) return undefined;
  return v === 'max' ? -1n : BigInt(v);
}

export function planMemory(r: LinuxMemory | undefined, c: PlanContext): Write[] {
  if (!r) return [];
  if (r.disableOOMKiller) {
    c.warn('linux.resources.memory.disableOOMKiller is not supported on cgroup v2 and is ignored: the OOM killer stays enabled for the container');
  }
  if (r.swappiness !== undefined && r.swappiness !== null) {
    c.warn(`linux.resources.memory.swappiness (${r.swappiness}) is ignored: cgroup v2 has no per-cgroup swappiness`);
  }
  for (const k of ['kernel', 'kernelTCP'] as const) {
    const v = r[k];
    if (v !== undefined && v !== null && big(v, `memory.${k}`) !== 0n) {
      c.warn(`linux.resources.memory.${k} is ignored: cgroup v2 has no separate kernel memory limit (kernel memory counts towards memory.max)`);
    }
  }
  if (r.useHierarchy === false) c.warn('linux.resources.memory.useHierarchy false is ignored: cgroup v2 is always hierarchical');

  const limit = setOrUndefined(r.limit, 'memory.limit');
  const reservation = setOrUndefined(r.reservation, 'memory.reservation');
  const swap = setOrUndefined(r.swap, 'memory.swap');
  if (limit === undefined && reservation === undefined && swap === undefined) return [];
  c.need('memory', limit !== undefined ? 'memory.limit' : reservation !== undefined ? 'memory.reservation' : 'memory.swap');

  const out: Write[] = [];
  const max = limit === undefined ? undefined : maxOrNumber(limit, 'memory.limit', 'a byte count, or -1 for no limit');

  if (c.update && r.checkBeforeUpdate && limit !== undefined && limit > 0n) {
    const usage = BigInt(readOpt(c, 'memory.current') ?? '0');
    if (usage >= limit) throw new CgroupError('memory.limit', `memory limit (${limit}) is less than current usage (${usage})`);
  }

  // The memory+swap total is relative to the memory limit: the new one, or the one in force.
  const swapMax = swapMaxValue(swap, limit ?? (swap !== undefined ? currentLimit(c) : undefined));
  if (swapMax !== undefined) {
    if (!has(c, 'memory.swap.max')) {
      if (swapMax !== 'max' && swapMax !== '0') {
        throw new CgroupError('memory.swap', 'swap accounting is not available on this host (no memory.swap.max: kernel without CONFIG_MEMCG_SWAP, or booted with swapaccount=0)');
      }
    } else {
      out.push({ file: 'memory.swap.max', value: swapMax, field: 'memory.swap', optional: swapMax === 'max' || swapMax === '0' });
    }
  }
  if (max !== undefined) out.push({ file: 'memory.max', value: max, field: 'memory.limit' });
  if (reservation !== undefined) {
    out.push({ file: 'memory.low', value: maxOrNumber(reservation, 'memory.reservation', 'a byte count, or -1'), field: 'memory.reservation' });
  }
  return out;
}
