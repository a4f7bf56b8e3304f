// v1 blkio controller: proportional weights (CFQ's blkio.weight on old kernels,
// BFQ's blkio.bfq.weight on current ones: whichever exists) and throttling
// (blkio.throttle.*_device "maj:min rate"); and the I/O statistics.
// Zero weight/leafWeight means "not set" (runc); a zero per-device weight or
// throttle rate is written as is (the kernel drops that device's setting).
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import type { LinuxBlockIO } from '../../spec/types';
import type { BlkioEntry, BlkioStats } from '../stats';
import { parseCounter } from '../units';
import { V1Context, nz, readOptional, requireDir, writeField } from './util';

export const THROTTLE_FILES = {
  throttleReadBpsDevice: 'blkio.throttle.read_bps_device',
  throttleWriteBpsDevice: 'blkio.throttle.write_bps_device',
  throttleReadIOPSDevice: 'blkio.throttle.read_iops_device',
  throttleWriteIOPSDevice: 'blkio.throttle.write_iops_device',
} as const;

export function blkioWanted(b: LinuxBlockIO | undefined): boolean {
  if (!b) return false;
  return nz(b.weight) !== undefined || nz(b.leafWeight) !== undefined || (b.weightDevice ?? []).length > 0 || Object.keys(THROTTLE_FILES).some((k) => (b[k as keyof typeof THROTTLE_FILES] ?? []).length > 0);
}

export function applyBlkio(ctx: V1Context, b: LinuxBlockIO | undefined): void {
  if (!b || !blkioWanted(b)) return;
  const { o } = ctx;
  const dir = requireDir(ctx, 'blkio', 'blockIO');
  const f = (name: string): string => joinPath(dir, name);
  /** The first of the candidate files that exists, or a CgroupError saying none does. */
  const pick = (field: string, candidates: string[], why: string): string => {
    const found = candidates.find((c) => o.fs.exists(f(c)));
    if (found === undefined) throw new CgroupError(field, `none of ${candidates.join(', ')} exists in ${dir}: ${why}`);
    return f(found);
  };
  const noWeights = 'this kernel has no proportional-weight I/O scheduler for cgroups (CFQ, or BFQ built in or loaded); remove the weight fields';
  const noLeaf = 'leaf weights belonged to the CFQ scheduler, removed in Linux 5.0; remove the leafWeight fields';
  const perDevice = (dev: string) => (code: string | undefined) =>
    code === 'EOPNOTSUPP' || code === 'EINVAL'
      ? `the kernel refused it (${code}): device ${dev} does not use a proportional-weight scheduler (per-device weights need BFQ: echo bfq > /sys/dev/block/${dev}/queue/scheduler) or is not a block device`
      : code === 'ENODEV'
        ? `there is no block device ${dev} on this host (ENODEV)`
        : undefined;

  const weight = nz(b.weight);
  if (weight !== undefined) writeField(o, 'blockIO.weight', pick('blockIO.weight', ['blkio.weight', 'blkio.bfq.weight'], noWeights), weight.toString());
  const leaf = nz(b.leafWeight);
  if (leaf !== undefined) writeField(o, 'blockIO.leafWeight', pick('blockIO.leafWeight', ['blkio.leaf_weight'], noLeaf), leaf.toString());

  (b.weightDevice ?? []).forEach((d, i) => {
    const dev = `${d.major}:${d.minor}`;
    const p = `blockIO.weightDevice[${i}]`;
    if (d.weight !== undefined) writeField(o, `${p}.weight`, pick(`${p}.weight`, ['blkio.weight_device', 'blkio.bfq.weight_device'], noWeights), `${dev} ${d.weight}`, perDevice(dev));
    if (d.leafWeight !== undefined) writeField(o, `${p}.leafWeight`, pick(`${p}.leafWeight`, ['blkio.leaf_weight_device'], noLeaf), `${dev} ${d.leafWeight}`, perDevice(dev));
  });

  for (const [key, name] of Object.entries(THROTTLE_FILES) as [keyof typeof THROTTLE_FILES, string][]) {
    (b[key] ?? []).forEach((d, i) => {
      const dev = `${d.major}:${d.minor}`;
      const p = `blockIO.${key}[${i}]`;
      const file = pick(p, [name], 'this kernel has no block I/O throttling (CONFIG_BLK_DEV_THROTTLING)');
      writeField(o, p, file, `${dev} ${BigInt(d.rate)}`, (code) =>
        code === 'ENODEV' || code === 'EINVAL' ? `there is no block device ${dev} on this host (${code}); throttling needs the major:minor of a real block device, e.g. from ls -l /dev/<disk>` : undefined,
      );
    });
  }
}

/** "maj:min Op value" / "maj:min value" lines; the device-less "Total N" line is skipped. */
export function parseBlkioEntries(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue;
    const e: BlkioEntry = { major: Number(dev[1]), minor: Number(dev[2]) };
    if (f.length === 3 && /^\d+$/.test(f[2])) {
      e.op = f[1];
      e.value = parseCounter(f[2]);
    } else if (f.length === 2 && /^\d+$/.test(f[1])) {
      e.value = parseCounter(f[1]);
    } else {
      continue;
    }
    out.push(e);
  }
  return out;
}

// Where each statistic comes from, best source first. CFQ's files (old kernels)
// and BFQ's only cover devices using that scheduler; the throttle layer sees all I/O.
const SOURCES: Record<keyof BlkioStats, string[]> = {
  ioServiceBytesRecursive: ['blkio.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes', 'blkio.bfq.io_service_bytes_recursive'],
  ioServicedRecursive: ['blkio.io_serviced_recursive', 'blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_serviced', 'blkio.bfq.io_serviced_recursive'],
  ioQueueRecursive: ['blkio.io_queued_recursive', 'blkio.bfq.io_queued_recursive'],
  ioServiceTimeRecursive: ['blkio.io_service_time_recursive', 'blkio.bfq.io_service_time_recursive'],
  ioWaitTimeRecursive: ['blkio.io_wait_time_recursive', 'blkio.bfq.io_wait_time_recursive'],
  ioMergedRecursive: ['blkio.io_merged_recursive', 'blkio.bfq.io_merged_recursive'],
  ioTimeRecursive: ['blkio.time_recursive', 'blkio.bfq.time_recursive'],
  sectorsRecursive: ['blkio.sectors_recursive', 'blkio.bfq.sectors_recursive'],
};

export function blkioStats(ctx: V1Context): BlkioStats {
  const dir = ctx.dirOf('blkio');
  const s: BlkioStats = {};
  if (dir === undefined) return s;
  for (const [key, files] of Object.entries(SOURCES) as [keyof BlkioStats, string[]][]) {
    for (const name of files) {
      const text = readOptional(ctx.o, joinPath(dir, name));
      const entries = text === undefined ? [] : parseBlkioEntries(text);
      if (entries.length > 0) {
        s[key] = entries; // empty lists are left out, as runc's omitempty does
        break;
      }
    }
  }
  return s;
}
