// v1 freezer controller: freezer.state is FROZEN/FREEZING/THAWED. Freezing is
// asynchronous, so write the wanted state and poll until the kernel reports it.
import { joinPath } from '../fs';
import { waitFor } from '../common';
import { ResolvedOptions } from '../manager';

export type FreezerState = 'FROZEN' | 'THAWED';

export async function setFreezerState(o: ResolvedOptions, dir: string, want: FreezerState): Promise<void> {
  const file = joinPath(dir, 'freezer.state');
  o.fs.writeFile(file, want);
  const read = (): string => o.fs.readFile(file).trim();
  // A task in uninterruptible sleep can keep the cgroup FREEZING; re-writing FROZEN
  // now and then makes the kernel retry (runc does the same).
  const ok = await waitFor(o, o.freezeTimeoutMs, () => read() === want, (n) => {
    if (n % 5 === 0) o.fs.writeFile(file, want);
  });
  if (ok) return;
  const seen = read();
  if (want === 'FROZEN') o.fs.writeFile(file, 'THAWED'); // never leave it half frozen
  throw new Error(`cgroups: ${want === 'FROZEN' ? 'freezing' : 'thawing'} ${dir} timed out after ${o.freezeTimeoutMs} ms (freezer.state is ${seen})`);
}
