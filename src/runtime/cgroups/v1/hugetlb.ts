// hugetlb on v1 and hybrid hosts. With a v1 hugetlb hierarchy:
//   hugetlb.<size>.limit_in_bytes / usage_in_bytes / max_usage_in_bytes / failcnt
// On hybrid hosts where hugetlb is not a v1 hierarchy but a cgroup2 controller
// (as on this build machine), the container's cgroup2 dir is used with the v2
// names: hugetlb.<size>.max ("max" = no limit) / .current / .events ("max N").
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import type { LinuxHugepageLimit } from '../../spec/types';
import type { HugetlbStats } from '../stats';
import { parseCounter, parseKeyValues } from '../units';
import { V1Context, ensureUnifiedController, readOptional, writeField } from './util';

/** Page sizes with a control file in `dir` ("hugetlb.2MB.max" → "2MB"), reservation (.rsvd.) files excluded. */
export function hugetlbSizes(ctx: V1Context, dir: string, suffix: string): string[] {
  try {
    return ctx.o.fs
      .readdir(dir)
      .map((d) => new RegExp(`^hugetlb\\.([0-9]+[KMGTPE]?B)\\.${suffix.replace(/\./g, '\\.')}$`).exec(d.name)?.[1])
      .filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}

export function applyHugetlb(ctx: V1Context, limits: LinuxHugepageLimit[] | undefined): void {
  if (!limits || limits.length === 0) return;
  const v1 = ctx.dirOf('hugetlb');
  const dir = v1 ?? ensureUnifiedController(ctx, 'hugetlb', 'hugepageLimits');
  const suffix = v1 !== undefined ? 'limit_in_bytes' : 'max';
  limits.forEach((h, i) => {
    const field = `hugepageLimits[${i}]`;
    const file = joinPath(dir, `hugetlb.${h.pageSize}.${suffix}`);
    if (!ctx.o.fs.exists(file)) {
      const have = hugetlbSizes(ctx, dir, suffix);
      throw new CgroupError(`${field}.pageSize`, `${JSON.stringify(h.pageSize)} is not a huge page size of this kernel (no ${file}); supported: ${have.length ? have.join(', ') : 'none'}`);
    }
    const limit = BigInt(h.limit);
    const value = limit === -1n && v1 === undefined ? 'max' : limit.toString();
    writeField(ctx.o, `${field}.limit`, file, value, (code) =>
      code === 'EBUSY' ? 'the container already uses more huge pages of this size than the new limit (EBUSY)' : undefined,
    );
  });
}

export function hugetlbStats(ctx: V1Context): Record<string, HugetlbStats> {
  const out: Record<string, HugetlbStats> = {};
  const read = (dir: string, name: string): string | undefined => readOptional(ctx.o, joinPath(dir, name));
  const v1 = ctx.dirOf('hugetlb');
  if (v1 !== undefined) {
    for (const size of hugetlbSizes(ctx, v1, 'limit_in_bytes')) {
      const s: HugetlbStats = { failcnt: 0 };
      const usage = read(v1, `hugetlb.${size}.usage_in_bytes`);
      if (usage !== undefined) s.usage = parseCounter(usage);
      const max = read(v1, `hugetlb.${size}.max_usage_in_bytes`);
      if (max !== undefined) s.max = parseCounter(max);
      const failcnt = read(v1, `hugetlb.${size}.failcnt`);
      if (failcnt !== undefined) s.failcnt = parseCounter(failcnt);
      out[size] = s;
    }
    return out;
  }
  const u = ctx.unified;
  if (u === undefined) return out;
  for (const size of hugetlbSizes(ctx, u, 'max')) {
    const s: HugetlbStats = { failcnt: 0 };
    const cur = read(u, `hugetlb.${size}.current`);
    if (cur !== undefined) s.usage = parseCounter(cur);
    // cgroup2 keeps no peak; "max" in hugetlb.<size>.events counts allocations refused at the limit.
    const events = read(u, `hugetlb.${size}.events`);
    if (events !== undefined) s.failcnt = parseKeyValues(events).max ?? 0;
    out[size] = s;
  }
  return out;
}
