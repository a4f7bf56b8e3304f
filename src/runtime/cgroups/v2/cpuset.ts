// linux.resources.cpu.cpus / .mems on cgroup v2 → cpuset.cpus / cpuset.mems (runc fs2/cpuset.go).
// An empty string leaves the value alone. cgroup2 needs no copying of the parent's
// cpus/mems into new cgroups (an empty cpuset.cpus means "the parent's", unlike v1).
import type { LinuxCPU } from '../../spec/types';
import { CgroupError } from '../manager';
import { PlanContext, Write } from './util';

const LIST = /^\s*\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*\s*$/;

export function planCpuset(r: LinuxCPU | undefined, c: PlanContext): Write[] {
  if (!r) return [];
  const out: Write[] = [];
  for (const [key, file] of [['cpus', 'cpuset.cpus'], ['mems', 'cpuset.mems']] as const) {
    const v = r[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' || !LIST.test(v)) throw new CgroupError(`cpu.${key}`, `${JSON.stringify(v)} is not a list such as "0-3,7"`);
    c.need('cpuset', `cpu.${key}`);
    out.push({ file, value: v.trim(), field: `cpu.${key}` });
  }
  return out;
}
