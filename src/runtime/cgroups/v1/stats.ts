// Everything `runc events --stats` reports, read from the v1 (and, for
// hugetlb on hybrid hosts, cgroup2) files. Missing files or controllers leave
// their part at the emptyStats() defaults rather than failing.
import { CgroupStats, emptyStats } from '../stats';
import { blkioStats } from './blkio';
import { cpuThrottling } from './cpu';
import { cpuacctUsage } from './cpuacct';
import { cpusetStats } from './cpuset';
import { hugetlbStats } from './hugetlb';
import { memoryStats } from './memory';
import { pidsStats } from './pids';
import { V1Context } from './util';

export function readV1Stats(ctx: V1Context): CgroupStats {
  const s = emptyStats();
  s.cpu.usage = cpuacctUsage(ctx);
  s.cpu.throttling = cpuThrottling(ctx);
  const cpuset = cpusetStats(ctx);
  if (cpuset) s.cpuset = cpuset;
  memoryStats(ctx, s.memory);
  s.pids = pidsStats(ctx);
  s.blkio = blkioStats(ctx);
  s.hugetlb = hugetlbStats(ctx);
  return s;
}
