// linux.resources.rdma on cgroup v2 → rdma.max, one line per device:
// "<device> hca_handle=N hca_object=N" with the keys given (a device with neither is skipped).
import type { LinuxRdma } from '../../spec/types';
import { CgroupError } from '../manager';
import { PlanContext, Write } from './util';

export function planRdma(r: Record<string, LinuxRdma> | undefined, c: PlanContext): Write[] {
  if (!r) return [];
  const out: Write[] = [];
  for (const [dev, lim] of Object.entries(r)) {
    const field = `rdma[${JSON.stringify(dev)}]`;
    if (!/^[^\s/=]+$/.test(dev)) throw new CgroupError(field, `${JSON.stringify(dev)} is not an RDMA device name`);
    const keys: string[] = [];
    for (const [k, name] of [['hcaHandles', 'hca_handle'], ['hcaObjects', 'hca_object']] as const) {
      const v = lim?.[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new CgroupError(`${field}.${k}`, `${JSON.stringify(v)} is not valid: expected 0..4294967295`);
      keys.push(`${name}=${v}`);
    }
    if (keys.length === 0) continue;
    c.need('rdma', field);
    out.push({ file: 'rdma.max', value: `${dev} ${keys.join(' ')}`, field });
  }
  return out;
}
