// linux.resources.pids.limit on cgroup v2 → pids.max (runc fs2/pids.go):
// a positive limit is written as is, a negative one (Docker sends -1) as "max",
// 0 leaves the value alone (runc treats 0 as unset).
import type { LinuxPids } from '../../spec/types';
import { PlanContext, Write, big } from './util';

export function planPids(r: LinuxPids | undefined, c: PlanContext): Write[] {
  if (!r || r.limit === undefined || r.limit === null) return [];
  const limit = big(r.limit, 'pids.limit');
  if (limit === 0n) return [];
  c.need('pids', 'pids.limit');
  return [{ file: 'pids.max', value: limit < 0n ? 'max' : limit.toString(), field: 'pids.limit' }];
}
