// The spec's mounts: Docker's defaults (moby oci/defaults.go DefaultLinuxSpec) combined with
// the container's own mounts as moby's withMounts does it (daemon/oci_linux.go): a user
// mount replaces the default at its destination, a user /dev drops every default below it,
// /dev/shm gets size=ShmSize (and is gone with IpcMode none), bind mounts get rbind/bind,
// ro and their propagation (shared/slave checked against the host's mount), a read-only
// root makes the remaining defaults ro, and privileged containers get a writable /sys.

import type { Mount, RootfsPropagation } from '../../runtime/spec/types';
import { SpecInputError } from './errors';
import type { HostMountCheck } from './host-mounts';
import { tmpfsMountOptions } from './tmpfs-options';
import { sortMounts, type UserMount } from './user-mounts';

export function dockerDefaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

export interface WithMountsOptions {
  /** Spec mounts so far: Docker's defaults, plus the init binary's bind when Init is on. */
  defaults: Mount[];
  user: readonly UserMount[];
  shmSize: number;
  ipcNone: boolean;
  readonlyRootfs: boolean;
  privileged: boolean;
  /** HostConfig SecurityOpt writable-cgroups; undefined = follow Privileged. */
  writableCgroups?: boolean;
  checkHostPropagation: HostMountCheck;
}

export interface WithMountsResult {
  mounts: Mount[];
  rootfsPropagation?: RootfsPropagation;
}

const withoutRo = (m: Mount): Mount => ({ ...m, options: (m.options ?? []).filter((o) => o !== 'ro') });

/** Dropping the root's readonly default would matter for these; they stay writable (moby). */
const KEEP_WRITABLE_WITH_RO_ROOT = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);

function propagationRank(p: string | undefined): 'shared' | 'slave' | 'other' {
  if (p === 'shared' || p === 'rshared') return 'shared';
  if (p === 'slave' || p === 'rslave') return 'slave';
  return 'other';
}

export function withMounts(o: WithMountsOptions): WithMountsResult {
  const user = sortMounts(o.user);
  const userDests = new Set(user.map((m) => m.destination));
  const mountDev = userDests.has('/dev');
  const out: Mount[] = [];
  for (const m of o.defaults) {
    if (userDests.has(m.destination)) continue;
    if (mountDev && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') {
      if (o.ipcNone) continue;
      out.push({ ...m, options: [...(m.options ?? []), `size=${o.shmSize}`] });
      continue;
    }
    out.push({ ...m, options: [...(m.options ?? [])] });
  }

  let rootfsPropagation: RootfsPropagation | undefined;
  for (const m of user) {
    if (m.kind === 'tmpfs') {
      out.push({ destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsMountOptions(m.data ?? '', m.where) });
      continue;
    }
    const rank = propagationRank(m.propagation);
    if (rank === 'shared') {
      o.checkHostPropagation(m.source, 'shared', m.where);
      if (propagationRank(rootfsPropagation) !== 'shared') rootfsPropagation = 'shared';
    } else if (rank === 'slave') {
      o.checkHostPropagation(m.source, 'shared-or-slave', m.where);
      if (propagationRank(rootfsPropagation) === 'other') rootfsPropagation = 'rslave';
    }
    const options = [m.nonRecursive ? 'bind' : 'rbind'];
    if (!m.writable) {
      // berth-runtime has no recursively read-only binds ("rro", mount_setattr), so, as dockerd
      // does on such a runtime, read-only means the top mount only, unless rro was demanded.
      if (m.readOnlyForceRecursive) {
        throw new SpecInputError(
          `${m.where}: BindOptions.ReadOnlyForceRecursive: recursively read-only mounts are not supported by berth-runtime`,
        );
      }
      options.push('ro');
    }
    if (m.propagation) options.push(m.propagation);
    out.push({ destination: m.destination, type: 'bind', source: m.source, options });
  }

  if (o.readonlyRootfs) {
    for (let i = 0; i < out.length; i++) {
      const m = out[i]!;
      if (KEEP_WRITABLE_WITH_RO_ROOT.has(m.destination) || userDests.has(m.destination)) continue;
      if (!(m.options ?? []).includes('ro')) out[i] = { ...m, options: [...(m.options ?? []), 'ro'] };
    }
  }
  if (o.privileged) {
    for (let i = 0; i < out.length; i++) if (out[i]!.destination === '/sys') out[i] = withoutRo(out[i]!);
  }
  if (o.writableCgroups ?? o.privileged) {
    for (let i = 0; i < out.length; i++) if (out[i]!.type === 'cgroup') out[i] = withoutRo(out[i]!);
  }
  return rootfsPropagation ? { mounts: out, rootfsPropagation } : { mounts: out };
}
