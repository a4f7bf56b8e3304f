// How a stage joins a container's cgroups: never by a whole-process move (cgroup.procs),
// whose global lock makes its first taker wait for an RCU grace period (5-15 ms per start).
import type { PlanRecord } from './encode';
import { UNIFIED_KEY } from '../cgroups/manager';

/**
 * Plan records for the cgroup dirs (one per hierarchy): in a v1 hierarchy the stage moves its
 * only thread (`tasks`), into cgroup2 it clones its child directly (CLONE_INTO_CGROUP).
 */
export function cgroupJoinRecords(dirs: Record<string, string>): PlanRecord[] {
  return Object.entries(dirs).map(([key, dir]) => (key === UNIFIED_KEY ? ['cgroupfork', dir] : ['cgroupthread', `${dir}/tasks`]));
}
