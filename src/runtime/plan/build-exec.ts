// A process joining a running container (`exec`): the init's namespaces through
// /proc/<pid>/ns/*, its cgroups, and a process spec of its own.
import type { Process, Spec } from '../spec/types';
import { namespaceId } from '../../kernel/proc';
import { JOIN_ORDER, NS_INFO } from './namespaces';
import { LaunchPlan } from './plan';
import { planProcess } from './process';
import { planSeccomp } from './seccomp';
import { checkOomScoreAdj } from './build-create';

export interface ExecPlanInput {
  spec: Spec;
  initPid: number;
  process: Process;
  cgroupProcs: string[];
  consoleSocket?: string;
  detach: boolean;
  seccompCacheDir?: string;
  id?: string;
  bundle?: string;
}

export function buildExecPlan(input: ExecPlanInput): { plan: LaunchPlan; unavailableCaps: string[] } {
  const { process: proc, initPid } = input;
  const plan = new LaunchPlan();
  plan.header.push(['mode', 'exec']);
  for (const f of input.cgroupProcs) plan.header.push(['cgroup', f]);
  checkOomScoreAdj(proc.oomScoreAdj, 'exec process');
  if (proc.oomScoreAdj !== undefined) plan.header.push(['oom', proc.oomScoreAdj]);
  if (!input.detach) plan.header.push(['foreground']);
  if (proc.terminal && !input.consoleSocket) plan.header.push(['ptyproxy']);
  if (input.consoleSocket) plan.header.push(['consolesock', input.consoleSocket]);
  // Join every namespace the init is in that differs from ours (the ones the spec listed).
  for (const type of JOIN_ORDER) {
    const file = NS_INFO[type].file;
    const theirs = namespaceId(initPid, file);
    if (theirs && theirs !== namespaceId('self', file)) plan.header.push(['join', type, `/proc/${initPid}/ns/${file}`]);
  }
  plan.op('opening the container root', 'rootfs', '/');
  if (proc.terminal) {
    const size = proc.consoleSize;
    plan.op('allocating the exec terminal', 'console', '', size?.height ?? 0, size?.width ?? 0, '');
  }
  const { unavailableCaps } = planProcess(plan, proc);
  // An exec'd process is confined like the container's own (runc does the same).
  planSeccomp(plan, input.spec.linux?.seccomp, input.seccompCacheDir, { id: input.id ?? '', bundle: input.bundle ?? '', annotations: input.spec.annotations });
  return { plan, unavailableCaps };
}

