// v1 net_prio controller: network.priorities → net_prio.ifpriomap, one
// "<interface> <priority>" write per entry (the kernel takes one pair per write).
import { joinPath } from '../fs';
import type { LinuxNetwork } from '../../spec/types';
import { V1Context, requireDir, writeField } from './util';

export function applyNetPrio(ctx: V1Context, n: LinuxNetwork | undefined): void {
  const prios = n?.priorities ?? [];
  if (prios.length === 0) return;
  const dir = requireDir(ctx, 'net_prio', 'network.priorities');
  prios.forEach((p, i) => {
    writeField(ctx.o, `network.priorities[${i}]`, joinPath(dir, 'net_prio.ifpriomap'), `${p.name} ${p.priority}`, (code) =>
      code === 'ENODEV' ? `there is no network interface ${JSON.stringify(p.name)} in berth-runtime's network namespace (ENODEV)` : undefined,
    );
  });
}
