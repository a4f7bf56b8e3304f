// update: change the resource limits of a live container, and remember them.
import { CgroupError, loadCgroupManager } from '../cgroups';
import { RuntimeError } from '../errors';
import type { LinuxResources } from '../spec/types';
import type { RuntimeContext } from './context';
import { statusOf } from './status';

function merge(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      into[k] = v;
    }
  }
  return into;
}

export async function updateContainer(ctx: RuntimeContext, id: string, resources: LinuxResources): Promise<void> {
  const state = ctx.store.read(id);
  const status = statusOf(ctx.store, state);
  if (status === 'stopped') throw new RuntimeError(`cannot update container ${id}: it is stopped`);
  try {
    await loadCgroupManager(state.cgroup, undefined, { warn: ctx.warn }).apply(resources, { update: true });
  } catch (e) {
    if (e instanceof CgroupError) throw new RuntimeError(`update ${id}: ${e.message}`);
    throw e;
  }
  const linux = (state.config.linux ??= {});
  linux.resources = merge((linux.resources ?? {}) as Record<string, unknown>, resources as Record<string, unknown>) as LinuxResources;
  ctx.store.write(state);
}
