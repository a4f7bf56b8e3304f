import type { CgroupStats } from '../stats';
// cgroup2 driver (unified hosts): a single dir in the single hierarchy.
import { joinPath } from '../fs';
import { createDirs, killAllProcesses, removeDirs, treePids } from '../common';
import { CgroupManager, ResolvedOptions, SavedCgroup, UNIFIED_KEY } from '../manager';
import { canFreezeV2, setFrozenV2 } from './freeze';

export class V2CgroupManager implements CgroupManager {
  readonly version = 2 as const;
  readonly dirs: Record<string, string>;

  constructor(readonly path: string, readonly dir: string, private readonly o: ResolvedOptions) {
    this.dirs = Object.freeze({ [UNIFIED_KEY]: dir });
  }

  create(): void {
    // Enabling controllers in cgroup.subtree_control comes with resource limits (later issue).
    createDirs(this.o, this.path, this.dirs);
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

  // Issue 3 replaces these stubs with the per-controller drivers.
  async apply(): Promise<void> {
    // TODO(issue 3): the per-controller drivers replace this no-op.
  }

  stats(): CgroupStats {
    throw new Error('cgroups v2: stats are not implemented yet');
  }

  oomKillCount(): number {
    return 0;
  }
}
