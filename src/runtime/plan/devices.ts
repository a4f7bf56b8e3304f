// /dev inside the container: the default devices every container gets, the
// spec's linux.devices, and the /dev symlinks, as runc creates them.
import type { LinuxDevice } from '../spec/types';
import { S_IF } from '../../kernel/constants';
import { LaunchPlan } from './plan';

export const DEFAULT_DEVICES: LinuxDevice[] = [
  { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { type: 'c', path: '/dev/zero', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { type: 'c', path: '/dev/full', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { type: 'c', path: '/dev/random', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { type: 'c', path: '/dev/urandom', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { type: 'c', path: '/dev/tty', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const TYPE_BITS = { c: S_IF.CHR, u: S_IF.CHR, b: S_IF.BLK, p: S_IF.FIFO } as const;

/** In a user namespace mknod is refused: bind the host's node instead (runc does the same). */
export function planDevices(plan: LaunchPlan, devices: LinuxDevice[], inUserNs: boolean): void {
  // A spec device overrides the default one of the same path.
  const all = [...DEFAULT_DEVICES.filter((d) => !devices.some((s) => s.path === d.path)), ...devices];
  for (const d of all) {
    const rel = d.path.replace(/^\/+/, '');
    if (inUserNs && d.type !== 'p') {
      plan.op(`bind-mounting device ${d.path} from the host`, 'mount', rel, d.path, '', 0x1000 /* MS_BIND */, '', 'file', 0);
    } else {
      const mode = TYPE_BITS[d.type] | ((d.fileMode ?? 0o666) & 0o7777);
      plan.op(`creating device ${d.path} (${d.type} ${d.major ?? 0}:${d.minor ?? 0})`, 'mknod', rel, mode, d.major ?? 0, d.minor ?? 0, d.uid ?? 0, d.gid ?? 0);
    }
  }
}

export function planDevSymlinks(plan: LaunchPlan, hasDevPts: boolean, hasKcore: boolean): void {
  const links: [string, string][] = [
    ['dev/fd', '/proc/self/fd'],
    ['dev/stdin', '/proc/self/fd/0'],
    ['dev/stdout', '/proc/self/fd/1'],
    ['dev/stderr', '/proc/self/fd/2'],
  ];
  if (hasKcore) links.push(['dev/core', '/proc/kcore']);
  if (hasDevPts) links.push(['dev/ptmx', 'pts/ptmx']);
  for (const [p, v] of links) plan.op(`creating symlink /${p} -> ${v}`, 'symlink', p, v);
}
