/**
 * `docker update`: new resource limits (and restart policy) for a container, applied to its
 * cgroup at once when it runs and kept in its HostConfig for the next start. As in moby, only
 * the fields the request sets change.
 */
import { updateContainer } from '../runtime/lifecycle/update';
import type { Engine } from './engine';
import { EngineConflictError } from './errors';
import { buildResources } from './spec/resources';
import { hostInfo } from './spec/host-info';
import type { HostConfig, Resources, RestartPolicy } from './spec/docker-types';
import { validateRestartPolicy } from './restart-policy';

const RESOURCE_KEYS = [
  'CpuShares', 'Memory', 'CgroupParent', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime',
  'CpusetCpus', 'CpusetMems', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'NanoCpus', 'OomKillDisable',
  'PidsLimit', 'KernelMemory', 'KernelMemoryTCP', 'CPUCount', 'CPUPercent',
] as const;

export async function updateResources(engine: Engine, ref: string, body: Resources & { RestartPolicy?: RestartPolicy }): Promise<{ Warnings: string[] }> {
  const rec = engine.get(ref);
  const warnings: string[] = [];
  const next: HostConfig = { ...rec.HostConfig };
  const changed: Partial<Resources> = {};
  for (const k of RESOURCE_KEYS) {
    const v = (body as Record<string, unknown>)[k];
    // moby applies only set (non-zero) values; 0 means "leave as is".
    if (v === undefined || v === null || v === 0 || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    (changed as Record<string, unknown>)[k] = v;
  }
  if (changed.CgroupParent !== undefined) throw new EngineConflictError(400, 'CgroupParent cannot be updated');
  if (changed.Memory !== undefined && changed.MemorySwap === undefined && (rec.HostConfig.MemorySwap ?? 0) > 0 && changed.Memory > (rec.HostConfig.MemorySwap ?? 0)) {
    throw new EngineConflictError(400, 'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
  }
  Object.assign(next, changed);
  if (body.RestartPolicy && body.RestartPolicy.Name !== undefined) {
    const bad = validateRestartPolicy(body.RestartPolicy, !!rec.HostConfig.AutoRemove);
    if (bad) throw new EngineConflictError(400, bad);
    next.RestartPolicy = body.RestartPolicy;
  }
  // Whole set checked and converted as at create (400 for impossible values).
  const resources = buildResources(next, hostInfo(), warnings);
  if (rec.State.Running && Object.keys(changed).length > 0) {
    try {
      await updateContainer(engine.runtime, rec.Id, resources);
    } catch (e) {
      throw new EngineConflictError(400, `Cannot update container ${rec.Id}: ${(e as Error).message}`);
    }
  }
  rec.HostConfig = next;
  engine.store.save(rec);
  engine.events.emit('container', 'update', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '' });
  return { Warnings: warnings };
}
