// A foreground stage parent (`run`, `exec` without -d) waits for the container's
// process; it moves to this berth-owned cgroup so it never counts against the
// container's own limits.
import { createCgroupManager, detectLayout } from '../cgroups';

export const STAGE_CGROUP = '/berth/berth-runtime-stage';

/** The cgroup.procs files the stage parent moves to once the container's process exists. */
export function stageCgroupProcs(): string[] {
  const cg = createCgroupManager(detectLayout(), STAGE_CGROUP);
  cg.create(); // idempotent: mkdir -p, cpuset inherited on v1
  return cg.procsFiles();
}
