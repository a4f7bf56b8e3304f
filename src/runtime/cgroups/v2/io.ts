// linux.resources.blockIO on cgroup v2 (the io controller).
//   weight (10..1000)          → io.weight "default N" with runc's map onto [1, 10000]:
//                                N = 1 + ((weight - 10) * 9999) / 990. Without io.weight
//                                (no blk-iocost) the BFQ scheduler's io.bfq.weight takes the
//                                v1 weight unconverted (its range is the same 1..1000).
//   weightDevice[].weight      → io.weight "maj:min N" (converted), or io.bfq.weight "maj:min W".
//   throttle{Read,Write}{Bps,IOPS}Device
//                              → io.max "maj:min rbps=N wbps=N riops=N wiops=N", one line per
//                                device with the keys given for it. A rate of 0 means "no
//                                limit" in cgroup v1 and is written as "max"; the kernel refuses
//                                1 (it needs ≥ 2), so 1 is a CgroupError.
//   leafWeight / weightDevice[].leafWeight: no v2 equivalent → ignored with a warning.
// A weight of 0 leaves the value alone (runc).
import type { LinuxBlockIO, LinuxThrottleDevice } from '../../spec/types';
import { CgroupError } from '../manager';
import { PlanContext, Write, big, has } from './util';

/** cgroup v1 blkio.weight → cgroup v2 io.weight (runc's ConvertBlkIOToIOWeightValue). */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

function checkWeight(w: unknown, field: string): number {
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 10 || w > 1000) {
    throw new CgroupError(field, `${JSON.stringify(w)} is not valid: expected a weight from 10 to 1000`);
  }
  return w;
}

function devNum(d: { major: number; minor: number }, field: string): string {
  for (const n of [d.major, d.minor]) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CgroupError(field, `device ${d.major}:${d.minor} is not a valid major:minor`);
  }
  return `${d.major}:${d.minor}`;
}

const THROTTLES: [keyof LinuxBlockIO, string][] = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
];

export function planIo(r: LinuxBlockIO | undefined, c: PlanContext): Write[] {
  if (!r) return [];
  const out: Write[] = [];
  if (r.leafWeight) c.warn('linux.resources.blockIO.leafWeight is ignored: cgroup v2 has no leaf weights');
  const weight = r.weight ? checkWeight(r.weight, 'blockIO.weight') : undefined;
  const devWeights = (r.weightDevice ?? []).flatMap((d, i) => {
    const field = `blockIO.weightDevice[${i}]`;
    if (d.leafWeight) c.warn(`linux.resources.${field}.leafWeight is ignored: cgroup v2 has no leaf weights`);
    return d.weight ? [{ dev: devNum(d, field), weight: checkWeight(d.weight, `${field}.weight`), field }] : [];
  });
  const limits = new Map<string, { keys: string[]; field: string }>();
  for (const [key, name] of THROTTLES) {
    ((r[key] as LinuxThrottleDevice[] | undefined) ?? []).forEach((d, i) => {
      const field = `blockIO.${key}[${i}]`;
      const dev = devNum(d, field);
      const rate = big(d.rate, `${field}.rate`);
      if (rate < 0n || rate === 1n) throw new CgroupError(`${field}.rate`, `${rate} is not valid on cgroup v2: expected 0 (no limit) or at least 2`);
      const entry = limits.get(dev) ?? { keys: [], field };
      entry.keys.push(`${name}=${rate === 0n ? 'max' : rate}`);
      limits.set(dev, entry);
    });
  }
  if (weight === undefined && devWeights.length === 0 && limits.size === 0) return [];
  c.need('io', weight !== undefined ? 'blockIO.weight' : devWeights.length ? devWeights[0].field : [...limits.values()][0].field);

  if (weight !== undefined || devWeights.length) {
    if (has(c, 'io.weight')) {
      if (weight !== undefined) out.push({ file: 'io.weight', value: `default ${blkioToIoWeight(weight)}`, field: 'blockIO.weight' });
      for (const d of devWeights) out.push({ file: 'io.weight', value: `${d.dev} ${blkioToIoWeight(d.weight)}`, field: `${d.field}.weight` });
    } else if (has(c, 'io.bfq.weight')) {
      if (weight !== undefined) out.push({ file: 'io.bfq.weight', value: `default ${weight}`, field: 'blockIO.weight' });
      for (const d of devWeights) out.push({ file: 'io.bfq.weight', value: `${d.dev} ${d.weight}`, field: `${d.field}.weight` });
    } else {
      throw new CgroupError(
        weight !== undefined ? 'blockIO.weight' : `${devWeights[0].field}.weight`,
        'this kernel has neither io.weight (blk-iocost) nor io.bfq.weight (the BFQ scheduler), so I/O weights cannot be set',
      );
    }
  }
  for (const [dev, { keys, field }] of limits) out.push({ file: 'io.max', value: `${dev} ${keys.join(' ')}`, field });
  return out;
}
