// linux.resources.hugepageLimits on cgroup v2 → hugetlb.<size>.max, and the
// reservation limit hugetlb.<size>.rsvd.max to the same value when the kernel has
// it (5.7+), as runc does. <size> is the kernel's name ("2MB", "1GB"); a size the
// kernel does not offer is a CgroupError listing those it does.
import type { LinuxHugepageLimit } from '../../spec/types';
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import { PlanContext, Write, big, has } from './util';

/** Page sizes with a hugetlb.<size>.max file in `dir`. */
export function hugePageSizes(c: Pick<PlanContext, 'fs' | 'dir'>): string[] {
  try {
    return c.fs
      .readdir(c.dir)
      .map((d) => /^hugetlb\.([0-9]+[KMGT]?B)\.max$/.exec(d.name)?.[1])
      .filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}

export function planHugetlb(r: LinuxHugepageLimit[] | undefined, c: PlanContext): Write[] {
  if (!r || r.length === 0) return [];
  c.need('hugetlb', 'hugepageLimits');
  const out: Write[] = [];
  r.forEach((h, i) => {
    const field = `hugepageLimits[${i}]`;
    const size = h.pageSize;
    if (typeof size !== 'string' || !/^[0-9]+[KMGT]?B$/.test(size) || !has(c, `hugetlb.${size}.max`)) {
      const sizes = hugePageSizes(c);
      throw new CgroupError(`${field}.pageSize`, `${JSON.stringify(size)} is not a huge page size this kernel offers (${sizes.length ? sizes.join(', ') : 'none'}) in ${joinPath(c.dir, 'hugetlb.<size>.max')}`);
    }
    const limit = big(h.limit, `${field}.limit`);
    const value = limit < 0n ? 'max' : limit.toString();
    out.push({ file: `hugetlb.${size}.max`, value, field: `${field}.limit` });
    if (has(c, `hugetlb.${size}.rsvd.max`)) out.push({ file: `hugetlb.${size}.rsvd.max`, value, field: `${field}.limit` });
  });
  return out;
}
