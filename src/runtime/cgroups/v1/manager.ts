// cgroup v1 driver (legacy and hybrid hosts): one dir per mounted controller
// hierarchy, plus on hybrid hosts the same path in the cgroup2 hierarchy, which
// processes also join (as runc does) so cgroup2-aware tools see the container.
import { joinPath } from '../fs';
import { createDirs, killAllProcesses, KillTarget, removeDirs, treePids } from '../common';
import { CgroupManager, ResolvedOptions, SavedCgroup, UNIFIED_KEY } from '../manager';
import { setFrozenV2, canFreezeV2 } from '../v2/freeze';
import { applyCpuset, hasController, inheritCpuset } from './cpuset';
import { setFreezerState } from './freezer';
import type { CgroupStats } from '../stats';
import type { LinuxResources } from '../../spec/types';
import { checkResourceValues } from '../check';
import { applyBlkio } from './blkio';
import { applyCpu } from './cpu';
import { applyDevices } from './devices';
import { applyHugetlb } from './hugetlb';
import { applyMemory, memoryOomKills } from './memory';
import { applyNetCls } from './netcls';
import { applyNetPrio } from './netprio';
import { applyPids } from './pids';
import { applyRdma } from './rdma';
import { readV1Stats } from './stats';
import { applyUnified } from './unified';
import { V1Context } from './util';

export class V1CgroupManager implements CgroupManager {
  readonly version = 1 as const;
  readonly dirs: Record<string, string>;

  constructor(readonly path: string, dirs: Record<string, string>, private readonly o: ResolvedOptions) {
    this.dirs = Object.freeze({ ...dirs });
  }

  /** Dir of the hierarchy carrying `controller` (e.g. "cpuacct" → the "cpu,cpuacct" dir). */
  dirOf(controller: string): string | undefined {
    const key = Object.keys(this.dirs).find((k) => k !== UNIFIED_KEY && hasController(k, controller));
    return key === undefined ? undefined : this.dirs[key];
  }

  create(): void {
    createDirs(this.o, this.path, this.dirs, (key, dir, mount) => {
      if (key !== UNIFIED_KEY && hasController(key, 'cpuset')) inheritCpuset(this.o, dir, mount);
    });
  }

  procsFiles(): string[] {
    return Object.values(this.dirs).map((d) => joinPath(d, 'cgroup.procs'));
  }

  pids(): number[] {
    return treePids(this.o.fs, Object.values(this.dirs));
  }

  freeze(): Promise<void> {
    return this.setFrozen(true);
  }

  thaw(): Promise<void> {
    return this.setFrozen(false);
  }

  async killAll(signal: NodeJS.Signals | number): Promise<void> {
    const t: KillTarget = { pids: () => this.pids() };
    if (this.canFreeze()) {
      t.freeze = () => this.freeze();
      t.thaw = () => this.thaw();
    }
    await killAllProcesses(this.o, t, signal);
  }

  destroy(): Promise<void> {
    return removeDirs(this.o, Object.values(this.dirs));
  }

  save(): SavedCgroup {
    return { version: 1, path: this.path, dirs: { ...this.dirs } };
  }

  private canFreeze(): boolean {
    const u = this.dirs[UNIFIED_KEY];
    return this.dirOf('freezer') !== undefined || (u !== undefined && canFreezeV2(this.o, u));
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    const freezer = this.dirOf('freezer');
    if (freezer !== undefined) return setFreezerState(this.o, freezer, frozen ? 'FROZEN' : 'THAWED');
    // Hybrid host without a v1 freezer mount: the cgroup2 core freezer works too.
    const u = this.dirs[UNIFIED_KEY];
    if (u !== undefined) return setFrozenV2(this.o, u, frozen);
    throw new Error(`cgroups: cannot ${frozen ? 'freeze' : 'thaw'} ${this.path}: the freezer controller is not mounted`);
  }

  private ctx(update: boolean): V1Context {
    const c: V1Context = { o: this.o, path: this.path, dirOf: (ctrl) => this.dirOf(ctrl), update };
    const u = this.dirs[UNIFIED_KEY];
    if (u !== undefined) c.unified = u;
    return c;
  }

  /**
   * Controllers in runc's order (cpuset, devices, memory, cpu, pids, blkio,
   * hugetlb, net_cls, net_prio, rdma), then `unified` on the cgroup2 side.
   * Values are checked first (checkResourceValues), so nonsense never reaches
   * the kernel half-way through.
   */
  async apply(resources: LinuxResources, opts: { update?: boolean } = {}): Promise<void> {
    checkResourceValues(resources);
    const ctx = this.ctx(!!opts.update);
    applyCpuset(ctx, resources.cpu);
    applyDevices(ctx, resources.devices);
    applyMemory(ctx, resources.memory);
    applyCpu(ctx, resources.cpu);
    applyPids(ctx, resources.pids);
    applyBlkio(ctx, resources.blockIO);
    applyHugetlb(ctx, resources.hugepageLimits);
    applyNetCls(ctx, resources.network);
    applyNetPrio(ctx, resources.network);
    applyRdma(ctx, resources.rdma);
    applyUnified(ctx, resources.unified);
  }

  stats(): CgroupStats {
    return readV1Stats(this.ctx(false));
  }

  oomKillCount(): number {
    return memoryOomKills(this.ctx(false));
  }
}
