// Driver-independent cgroupfs operations shared by the v1 and v2 managers.
import { CgroupFs, joinPath } from './fs';
import { ManagerOptions, ResolvedOptions } from './manager';
import { assertManagedPath, berthAnchorIndex } from './path';

export function resolveOptions(fs: CgroupFs, o: ManagerOptions = {}): ResolvedOptions {
  return {
    fs,
    kill: o.kill ?? ((pid, sig) => process.kill(pid, sig)),
    sleep: o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    now: o.now ?? Date.now,
    freezeTimeoutMs: o.freezeTimeoutMs ?? 5000,
    killTimeoutMs: o.killTimeoutMs ?? 5000,
    destroyTimeoutMs: o.destroyTimeoutMs ?? 2000,
    warn: o.warn,
  };
}

export const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The hierarchy mountpoint a dir belongs to (dir === mount + relPath). */
export function mountOf(dir: string, relPath: string): string {
  return dir.slice(0, dir.length - relPath.length) || '/';
}

/**
 * mkdir -p relPath in each hierarchy. `perLevel` runs for every level from the
 * berth parent down (e.g. cpuset setup). On failure, dirs this call created
 * strictly below the berth parent are removed again (the parent is shared by all
 * containers, so it is never removed) and an error naming the dir is thrown.
 */
export function createDirs(
  o: ResolvedOptions,
  relPath: string,
  dirs: Record<string, string>,
  perLevel?: (key: string, dir: string, mount: string) => void,
): void {
  const parts = assertManagedPath(relPath);
  const anchor = berthAnchorIndex(parts);
  const made: string[] = [];
  let current = '';
  try {
    for (const [key, leaf] of Object.entries(dirs)) {
      const mount = mountOf(leaf, relPath);
      if (!o.fs.exists(mount)) throw new Error(`hierarchy ${key} is not mounted at ${mount}`);
      let dir = mount;
      for (let i = 0; i < parts.length; i++) {
        dir = current = joinPath(dir, parts[i]);
        if (!o.fs.exists(dir)) {
          try {
            o.fs.mkdir(dir);
            if (i > anchor) made.push(dir);
          } catch (e) {
            if (errCode(e) !== 'EEXIST') throw e; // lost a race with a concurrent create: fine
          }
        }
        if (i >= anchor) perLevel?.(key, dir, mount);
      }
    }
  } catch (e) {
    for (const d of made.reverse()) {
      try {
        o.fs.rmdir(d);
      } catch {
        /* best effort: report the original failure */
      }
    }
    throw new Error(`cgroups: cannot create ${current}: ${msg(e)}`);
  }
}

/** Child cgroup dirs of `dir` (absolute). */
export function subdirs(fs: CgroupFs, dir: string): string[] {
  return fs.readdir(dir).filter((d) => d.isDirectory).map((d) => joinPath(dir, d.name));
}

export function readPids(fs: CgroupFs, file: string): number[] {
  return fs
    .readFile(file)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** Pids in the given cgroups and all their descendants; missing dirs contribute nothing. */
export function treePids(fs: CgroupFs, dirs: string[]): number[] {
  const seen = new Set<number>();
  const walk = (dir: string): void => {
    try {
      for (const p of readPids(fs, joinPath(dir, 'cgroup.procs'))) seen.add(p);
      for (const d of subdirs(fs, dir)) walk(d);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e; // removed under us: nothing to report
    }
  };
  for (const d of new Set(dirs)) walk(d);
  return [...seen].sort((a, b) => a - b);
}

/** Poll `check` with growing back-off until it holds or the timeout passes. */
export async function waitFor(o: ResolvedOptions, timeoutMs: number, check: () => boolean, onRetry?: (attempt: number) => void): Promise<boolean> {
  const deadline = o.now() + timeoutMs;
  let delay = 1;
  for (let attempt = 1; ; attempt++) {
    if (check()) return true;
    if (o.now() >= deadline) return false;
    await o.sleep(delay);
    delay = Math.min(delay * 2, 50);
    onRetry?.(attempt);
  }
}

/** rmdir each dir's subtree deepest first; retry EBUSY (processes still exiting) with back-off. */
export async function removeDirs(o: ResolvedOptions, dirs: string[]): Promise<void> {
  const deadline = o.now() + o.destroyTimeoutMs;
  const remove = async (dir: string): Promise<void> => {
    let delay = 5;
    for (;;) {
      let kids: string[];
      try {
        kids = subdirs(o.fs, dir);
      } catch (e) {
        if (errCode(e) === 'ENOENT') return;
        throw e;
      }
      for (const k of kids) await remove(k); // child cgroups may appear while we wait: re-listed each round
      try {
        o.fs.rmdir(dir);
        return;
      } catch (e) {
        const code = errCode(e);
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY') throw new Error(`cgroups: cannot remove ${dir}: ${msg(e)}`);
        if (o.now() >= deadline) {
          const left = treePids(o.fs, [dir]);
          throw new Error(`cgroups: cannot remove ${dir}: still busy after ${o.destroyTimeoutMs} ms` + (left.length ? ` (processes: ${left.join(', ')})` : ''));
        }
        await o.sleep(delay);
        delay = Math.min(delay * 2, 100);
      }
    }
  };
  for (const d of new Set(dirs)) await remove(d);
}

export function isSigkill(signal: NodeJS.Signals | number): boolean {
  return signal === 'SIGKILL' || signal === 9;
}

/** What killAll needs from a driver. */
export interface KillTarget {
  pids(): number[];
  /** Undefined when the host cannot freeze this cgroup: processes are then signalled unfrozen. */
  freeze?: () => Promise<void>;
  thaw?: () => Promise<void>;
  /** v2 cgroup.kill file, used for SIGKILL when it exists (kernel ≥ 5.14). */
  cgroupKill?: string;
}

/**
 * Signal every process in the cgroup. Without cgroup.kill, freeze first so no
 * process can fork a child we would miss, signal each pid, then thaw (a frozen
 * process only acts on SIGKILL once thawed). With SIGKILL, repeat until the
 * cgroup is empty or killTimeoutMs passes, then throw naming the survivors.
 */
export async function killAllProcesses(o: ResolvedOptions, t: KillTarget, signal: NodeJS.Signals | number): Promise<void> {
  const sigkill = isSigkill(signal);
  const useKillFile = sigkill && t.cgroupKill !== undefined && o.fs.exists(t.cgroupKill);
  const deadline = o.now() + o.killTimeoutMs;
  for (;;) {
    if (t.pids().length === 0) return;
    if (useKillFile) {
      o.fs.writeFile(t.cgroupKill!, '1');
    } else {
      let frozen = false;
      if (t.freeze) {
        try {
          await t.freeze();
          frozen = true;
        } catch {
          /* could not freeze (e.g. a task stuck in D state): still deliver the signal */
        }
      }
      try {
        for (const pid of t.pids()) {
          try {
            o.kill(pid, signal);
          } catch (e) {
            if (errCode(e) !== 'ESRCH') throw e; // already gone
          }
        }
      } finally {
        if (frozen) await t.thaw!();
      }
    }
    if (!sigkill) return;
    // Give this round up to 500 ms to empty the cgroup, then signal again.
    const slice = Math.max(0, Math.min(500, deadline - o.now()));
    if (await waitFor(o, slice, () => t.pids().length === 0)) return;
    if (o.now() >= deadline) {
      throw new Error(`cgroups: processes survived SIGKILL for ${o.killTimeoutMs} ms: ${t.pids().join(', ')}`);
    }
  }
}
