// delete: stop what is left (created, or running with --force), remove the
// cgroup and the state, then poststop hooks.
import { loadCgroupManager } from '../cgroups';
import { RuntimeError } from '../errors';
import { runHooksWarn } from '../hooks/run-hooks';
import type { RuntimeContext } from './context';
import { ociState, statusOf, waitGone } from './status';

export async function deleteContainer(ctx: RuntimeContext, id: string, force: boolean): Promise<void> {
  const { store } = ctx;
  if (!store.hasStateFile(id)) {
    // A claimed dir without state.json: a create killed before it made anything else.
    if (store.hasDir(id)) {
      store.remove(id);
      return;
    }
    if (force) return; // runc: --force on a missing container succeeds
    throw new RuntimeError(`container ${id} does not exist`);
  }
  const state = store.read(id);
  const status = statusOf(store, state);
  if ((status === 'running' || status === 'paused') && !force) {
    throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status} (stop it first, or use --force)`);
  }
  const cg = loadCgroupManager(state.cgroup);
  if (status !== 'stopped') {
    if (status === 'paused') await cg.thaw().catch(() => undefined);
    try {
      process.kill(state.pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    await cg.killAll('SIGKILL');
    if (!(await waitGone(state.pid, state.pidStartTime, 10_000))) {
      throw new RuntimeError(`cannot delete container ${id}: its init (pid ${state.pid}) did not die after SIGKILL`);
    }
  } else {
    // Stray processes (a daemonised child) would keep the cgroup busy.
    await cg.killAll('SIGKILL');
  }
  await cg.destroy();
  store.remove(id);
  await runHooksWarn('poststop', state.config.hooks?.poststop, ociState(store, state, 'stopped'), ctx.warn);
}
