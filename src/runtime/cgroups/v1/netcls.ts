// v1 net_cls controller: network.classID → net_cls.classid (the tc class handle
// 0xMMMMmmmm stamped on the container's packets). cgroup2 has no equivalent, so
// without a v1 net_cls hierarchy the field cannot be honoured. 0 = not set (runc).
import { joinPath } from '../fs';
import type { LinuxNetwork } from '../../spec/types';
import { V1Context, requireDir, writeField } from './util';

export function applyNetCls(ctx: V1Context, n: LinuxNetwork | undefined): void {
  if (!n || n.classID === undefined || n.classID === 0) return;
  const dir = requireDir(ctx, 'net_cls', 'network.classID');
  writeField(ctx.o, 'network.classID', joinPath(dir, 'net_cls.classid'), String(n.classID));
}
