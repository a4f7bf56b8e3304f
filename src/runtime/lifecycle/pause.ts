// pause/resume: freeze and thaw every process of the container's cgroup.
import { loadCgroupManager } from '../cgroups';
import { RuntimeError } from '../errors';
import type { RuntimeContext } from './context';
import { statusOf } from './status';

export async function pauseContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const state = ctx.store.read(id);
  const status = statusOf(ctx.store, state);
  if (status !== 'running') throw new RuntimeError(`cannot pause container ${id}: it is ${status}, not running`);
  await loadCgroupManager(state.cgroup).freeze();
}

export async function resumeContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const state = ctx.store.read(id);
  const status = statusOf(ctx.store, state);
  if (status !== 'paused') throw new RuntimeError(`cannot resume container ${id}: it is ${status}, not paused`);
  await loadCgroupManager(state.cgroup).thaw();
}
