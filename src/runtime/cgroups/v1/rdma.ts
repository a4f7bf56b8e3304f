// RDMA controller: rdma → rdma.max, one "<device> hca_handle=N hca_object=M"
// write per device (only the given keys). The file has the same name in the v1
// rdma hierarchy and in cgroup2, so a hybrid host without a v1 rdma mount uses
// the container's cgroup2 dir when the controller is enabled there.
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import type { LinuxRdma } from '../../spec/types';
import { V1Context, ensureUnifiedController, writeField } from './util';

export function rdmaLine(device: string, l: LinuxRdma): string {
  let s = device;
  if (l.hcaHandles !== undefined) s += ` hca_handle=${l.hcaHandles}`;
  if (l.hcaObjects !== undefined) s += ` hca_object=${l.hcaObjects}`;
  return s;
}

export function applyRdma(ctx: V1Context, rdma: Record<string, LinuxRdma> | undefined): void {
  const entries = Object.entries(rdma ?? {});
  if (entries.length === 0) return;
  let dir = ctx.dirOf('rdma');
  if (dir === undefined) {
    if (ctx.unified === undefined) {
      throw new CgroupError('rdma', 'the rdma controller is not mounted on this host (no cgroup v1 rdma hierarchy and no cgroup2 hierarchy); remove linux.resources.rdma');
    }
    dir = ensureUnifiedController(ctx, 'rdma', 'rdma');
  }
  for (const [device, limits] of entries) {
    writeField(ctx.o, `rdma[${JSON.stringify(device)}]`, joinPath(dir, 'rdma.max'), rdmaLine(device, limits), (code) =>
      code === 'EINVAL' || code === 'ENODEV' ? `the kernel refused it (${code}): is ${JSON.stringify(device)} an RDMA device of this host (see /sys/class/infiniband)?` : undefined,
    );
  }
}
