// cgroup2 core freezer: write cgroup.freeze, then wait for cgroup.events to
// report "frozen 1" (or 0): the write only starts the transition.
import { joinPath } from '../fs';
import { waitFor } from '../common';
import { ResolvedOptions } from '../manager';

export function canFreezeV2(o: ResolvedOptions, dir: string): boolean {
  return o.fs.exists(joinPath(dir, 'cgroup.freeze'));
}

function frozenFlag(events: string): string | undefined {
  return /^frozen (\d)$/m.exec(events)?.[1];
}

export async function setFrozenV2(o: ResolvedOptions, dir: string, frozen: boolean): Promise<void> {
  const freezeFile = joinPath(dir, 'cgroup.freeze');
  if (!o.fs.exists(freezeFile)) {
    throw new Error(`cgroups: cannot ${frozen ? 'freeze' : 'thaw'} ${dir}: cgroup.freeze missing (kernel older than 5.2?)`);
  }
  const want = frozen ? '1' : '0';
  o.fs.writeFile(freezeFile, want);
  const events = joinPath(dir, 'cgroup.events');
  if (await waitFor(o, o.freezeTimeoutMs, () => frozenFlag(o.fs.readFile(events)) === want)) return;
  if (frozen) o.fs.writeFile(freezeFile, '0'); // never leave it half frozen
  throw new Error(`cgroups: ${frozen ? 'freezing' : 'thawing'} ${dir} timed out after ${o.freezeTimeoutMs} ms`);
}
