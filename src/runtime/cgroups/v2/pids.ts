// linux.resources.pids.limit on cgroup v2 → pids.max: a positive limit is written as
// is; 0 and negative values (Docker sends -1) mean no limit, "max" (as the v1 driver
// and check.ts define it; runc 1.2 would leave the value alone for 0).
import type { LinuxPids } from '../../spec/types';
import { PlanContext, Write, big } from './util';

export function planPids(r: LinuxPids | undefined, c: PlanContext): Write[] {
  if (!r || r.limit === undefined || r.limit === null) return [];
  const limit = big(r.limit, 'pids.limit');
  c.need('pids', 'pids.limit');
  return [{ file: 'pids.max', value: limit <= 0n ? 'max' : limit.toString(), field: 'pids.limit' }];
}
