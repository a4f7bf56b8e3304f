// The one interface the runtime uses for a container's cgroup(s), whatever the
// host layout. Drivers: v1/ (legacy and hybrid hosts) and v2/ (unified hosts).
import { CgroupFs } from './fs';
import type { LinuxResources } from '../spec/types';
import type { CgroupStats } from './stats';

/** dirs key of the cgroup2 hierarchy (v2 hosts, and hybrid hosts next to the v1 keys). */
export const UNIFIED_KEY = 'unified';

export interface CgroupManager {
  readonly version: 1 | 2;
  /** Hierarchy key (v1 controller list such as "cpu,cpuacct", or "unified") → absolute dir. */
  readonly dirs: Record<string, string>;
  /** The resolved per-hierarchy path, e.g. "/berth/<id>". */
  readonly path: string;
  /** mkdir -p every dir; on failure removes what it made (below the berth parent) and throws. */
  create(): void;
  /** cgroup.procs files a new process must write its pid into (one per hierarchy). */
  procsFiles(): string[];
  /** Every pid in the container's cgroup(s), including child cgroups. */
  pids(): number[];
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Signal every process; with SIGKILL, wait (bounded) until none remain. */
  killAll(signal: NodeJS.Signals | number): Promise<void>;
  /** rmdir every dir and its child cgroups, deepest first; missing dirs are fine. */
  destroy(): Promise<void>;
  save(): SavedCgroup;
  /**
   * Writes every limit in `resources` (OCI linux.resources), in an order the kernel accepts
   * (e.g. memory.memsw after memory.limit when raising, before when lowering). Fields left
   * out are left alone. Throws CgroupError naming the field, file and value.
   * `update` marks a live change (runc `update`): memory.checkBeforeUpdate applies then.
   */
  apply(resources: LinuxResources, opts?: { update?: boolean }): Promise<void>;
  /** Everything `runc events --stats` reports for this cgroup. */
  stats(): CgroupStats;
  /** OOM kills so far (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
  oomKillCount(): number;
}

/** A limit the kernel refused, or a value that can never work, with what to do about it. */
export class CgroupError extends Error {
  constructor(readonly field: string, message: string) {
    super(`linux.resources.${field}: ${message}`);
    this.name = 'CgroupError';
  }
}

/** JSON-serialisable record kept in the container state file. */
export interface SavedCgroup {
  version: 1 | 2;
  path: string;
  dirs: Record<string, string>;
}

/** Injectable process/time primitives and limits (tests shrink or fake them). */
export interface ManagerOptions {
  kill?: (pid: number, signal: NodeJS.Signals | number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** How long freeze/thaw may take to settle (default 5000 ms). */
  freezeTimeoutMs?: number;
  /** How long killAll(SIGKILL) waits for the cgroup to empty (default 5000 ms). */
  killTimeoutMs?: number;
  /** How long destroy retries EBUSY (default 2000 ms). */
  destroyTimeoutMs?: number;
  /** Where a driver says it ignored a field (e.g. v1-only memory settings on v2); default stderr. */
  warn?: (msg: string) => void;
}

export type ResolvedOptions = Required<Omit<ManagerOptions, 'warn'>> & { fs: CgroupFs; warn?: (msg: string) => void };
