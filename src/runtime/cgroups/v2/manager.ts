// cgroup2 driver (unified hosts): a single dir in the single hierarchy.
// create() makes the dir and enables berth's controllers from the "berth*" parent
// down (controllers.ts); apply() plans every controller's writes first (so an
// invalid value anywhere changes nothing), then writes them in runc's order:
// pids, memory, io, cpu, cpuset, hugetlb, rdma, then attaches the device filter,
// then writes linux.resources.unified last (so it wins over a typed field).
import type { LinuxResources } from '../../spec/types';
import type { CgroupStats } from '../stats';
import { joinPath } from '../fs';
import { createDirs, killAllProcesses, mountOf, removeDirs, treePids } from '../common';
import { CgroupError, CgroupManager, ResolvedOptions, SavedCgroup, UNIFIED_KEY } from '../manager';
import { checkResourceValues } from '../check';
import { canFreezeV2, setFrozenV2 } from './freeze';
import { EnableFailure, availableControllers, enableControllers, explainMissing } from './controllers';
import { AttachDeviceFilter, defaultDeviceFilterAttacher, planDevices } from './devices';
import { planCpu } from './cpu';
import { planCpuset } from './cpuset';
import { planHugetlb } from './hugetlb';
import { planIo } from './io';
import { planMemory } from './memory';
import { planPids } from './pids';
import { planRdma } from './rdma';
import { readOomKillCount, readStatsV2 } from './stats';
import { planUnified } from './unified';
import { PlanContext, executeWrites } from './util';

/** What only the cgroup2 driver needs (ManagerOptions is shared with v1). */
export interface V2ManagerOptions {
  /**
   * Fields cgroup v2 cannot honour (memory.disableOOMKiller, swappiness, kernel memory,
   * leaf weights, network) are ignored with a warning through this. Default: stderr,
   * "berth-runtime: warning: ..." like the CLI's logger.
   */
  warn?: (msg: string) => void;
  /** Loads and attaches the device filter; default: the native stage (devices.ts). */
  attachDeviceFilter?: AttachDeviceFilter;
}

const stderrWarn = (msg: string): void => {
  process.stderr.write(`berth-runtime: warning: ${msg}\n`);
};

export class V2CgroupManager implements CgroupManager {
  readonly version = 2 as const;
  readonly dirs: Record<string, string>;

  private readonly warn: (msg: string) => void;
  private readonly attach: AttachDeviceFilter | undefined;
  /** Controllers create() could not enable, with the kernel's reason (for later error messages). */
  private enableFailures: EnableFailure[] = [];

  constructor(readonly path: string, readonly dir: string, private readonly o: ResolvedOptions, v2: V2ManagerOptions = {}) {
    this.dirs = Object.freeze({ [UNIFIED_KEY]: dir });
    this.warn = v2.warn ?? stderrWarn;
    this.attach = v2.attachDeviceFilter;
  }

  /** The cgroup2 mountpoint. */
  private get mount(): string {
    return mountOf(this.dir, this.path);
  }

  create(): void {
    createDirs(this.o, this.path, this.dirs);
    // Best effort, like runc: a controller that cannot be enabled only matters to a limit
    // that needs it, and apply() then says why (need()).
    this.enableFailures = enableControllers(this.o.fs, this.mount, this.path);
  }

  procsFiles(): string[] {
    return [joinPath(this.dir, 'cgroup.procs')];
  }

  pids(): number[] {
    return treePids(this.o.fs, [this.dir]);
  }

  freeze(): Promise<void> {
    return setFrozenV2(this.o, this.dir, true);
  }

  thaw(): Promise<void> {
    return setFrozenV2(this.o, this.dir, false);
  }

  killAll(signal: NodeJS.Signals | number): Promise<void> {
    const freezable = canFreezeV2(this.o, this.dir);
    return killAllProcesses(
      this.o,
      {
        pids: () => this.pids(),
        cgroupKill: joinPath(this.dir, 'cgroup.kill'),
        ...(freezable ? { freeze: () => this.freeze(), thaw: () => this.thaw() } : {}),
      },
      signal,
    );
  }

  destroy(): Promise<void> {
    return removeDirs(this.o, [this.dir]);
  }

  save(): SavedCgroup {
    return { version: 2, path: this.path, dirs: { ...this.dirs } };
  }

  async apply(resources: LinuxResources, opts: { update?: boolean } = {}): Promise<void> {
    const r = resources ?? {};
    // The host-independent checks shared with v1 (ranges, formats, swap ≥ limit, ...), so
    // `update` is validated like create; the drivers below add the v2-specific ones.
    checkResourceValues(r);
    const checked = new Set<string>();
    const c: PlanContext = {
      fs: this.o.fs,
      dir: this.dir,
      update: !!opts.update,
      warn: this.warn,
      need: (controller, field) => {
        if (!checked.has(controller)) this.need(controller, field);
        checked.add(controller);
      },
    };
    if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
      this.warn('linux.resources.network is ignored: cgroup v2 has no net_cls/net_prio controllers (use BPF or nftables cgroup matching instead)');
    }
    // Plan everything before writing anything.
    const typed = [
      ...planPids(r.pids, c),
      ...planMemory(r.memory, c),
      ...planIo(r.blockIO, c),
      ...planCpu(r.cpu, c),
      ...planCpuset(r.cpu, c),
      ...planHugetlb(r.hugepageLimits, c),
      ...planRdma(r.rdma, c),
    ];
    const program = planDevices(r.devices);
    const unified = planUnified(r.unified, c, typed);

    executeWrites(this.o.fs, this.dir, typed);
    if (program) {
      const attach = this.attach ?? defaultDeviceFilterAttacher();
      try {
        await attach(this.dir, program);
      } catch (e) {
        throw new Error(`attaching the device filter (${program.length / 8} BPF instructions) to ${this.dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    executeWrites(this.o.fs, this.dir, unified);
  }

  /** Throws CgroupError(field) unless `controller` is available in the container's cgroup (enabling it if berth may). */
  private need(controller: string, field: string): void {
    if (availableControllers(this.o.fs, this.dir).has(controller)) return;
    const failures = enableControllers(this.o.fs, this.mount, this.path, [controller]);
    if (availableControllers(this.o.fs, this.dir).has(controller)) return;
    throw new CgroupError(field, `cannot be applied: ${explainMissing(this.o.fs, this.mount, this.path, controller, [...failures, ...this.enableFailures])}`);
  }

  stats(): CgroupStats {
    return readStatsV2(this.o.fs, this.dir);
  }

  oomKillCount(): number {
    return readOomKillCount(this.o.fs, this.dir);
  }
}
