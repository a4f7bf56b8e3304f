// kill: signal the init, or with --all every process of the container's cgroup.
import { loadCgroupManager } from '../cgroups';
import { RuntimeError } from '../errors';
import type { RuntimeContext } from './context';
import { statusOf } from './status';

export async function killContainer(ctx: RuntimeContext, id: string, signal: number, all: boolean): Promise<void> {
  const state = ctx.store.read(id);
  const status = statusOf(ctx.store, state);
  if (all) {
    await loadCgroupManager(state.cgroup).killAll(signal);
    return;
  }
  if (status === 'stopped') throw new RuntimeError(`cannot kill container ${id}: it is not running`);
  try {
    process.kill(state.pid, signal);
  } catch (e) {
    throw new RuntimeError(`cannot kill container ${id} (pid ${state.pid}): ${(e as Error).message}`);
  }
}
