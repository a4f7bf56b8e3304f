// events: a container's stats at an interval and its OOM kills as they happen,
// one JSON object per line, as `runc events` prints them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchOomV1 } from '../../kernel/host-ops';
import { CgroupManager, loadCgroupManager } from '../cgroups';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';
import { statusOf } from './status';

export interface EventSink {
  (event: { type: 'stats' | 'oom'; id: string; data?: unknown }): void;
}

/** v1: the kernel's eventfd notification; v2: inotify on memory.events. */
export function watchOom(state: ContainerState, cg: CgroupManager, onOom: () => void): () => void {
  const memDir = state.cgroup.dirs.memory;
  if (state.cgroup.version === 1 && memDir) {
    const w = watchOomV1(memDir, onOom);
    w.ready.catch(() => undefined);
    return () => w.close();
  }
  const dir = state.cgroup.dirs.unified;
  if (!dir) return () => undefined;
  let seen = cg.oomKillCount();
  const watcher = fs.watch(path.join(dir, 'memory.events'), () => {
    const now = cg.oomKillCount();
    for (; seen < now; seen++) onOom();
  });
  watcher.on('error', () => undefined);
  return () => watcher.close();
}

export function parseInterval(raw: string): number {
  const m = raw.match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/);
  if (!m || Number(m[1]) <= 0) throw new Error(`invalid interval ${JSON.stringify(raw)} (e.g. 5s, 500ms)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

export async function streamEvents(ctx: RuntimeContext, id: string, intervalMs: number, sink: EventSink, statsOnly: boolean): Promise<void> {
  const state = ctx.store.read(id);
  const cg = loadCgroupManager(state.cgroup);
  if (statsOnly) {
    sink({ type: 'stats', id, data: cg.stats() });
    return;
  }
  const stopOom = watchOom(state, cg, () => sink({ type: 'oom', id }));
  try {
    while (statusOf(ctx.store, state) !== 'stopped') {
      try {
        sink({ type: 'stats', id, data: cg.stats() });
      } catch {
        /* the cgroup went away between the status check and the read */
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    stopOom();
  }
}
