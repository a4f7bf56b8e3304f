// The config.json `berth-runtime spec` writes: runc's example spec
// (libcontainer/specconv/example.go) with berth's hostname and spec version.

import { posix } from 'node:path';
import type { Mount, Spec } from './types';

/** Spec version berth writes (runc 1.1 writes its vendored "1.0.2-dev"). */
export const SPEC_VERSION = '1.2.0';

export interface DefaultSpecOptions {
  /** Adapt for an unprivileged user, like `runc spec --rootless`. */
  rootless?: boolean;
  /** Host IDs mapped to root for rootless; default the current euid/egid. */
  uid?: number;
  gid?: number;
}

export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      // No inheritable/ambient sets: runc dropped inheritable after
      // CVE-2022-29162, and ambient caps cannot be raised without them.
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      // runc adds cgroup only on a cgroup v2 host; berth always asks for it
      // so the spec does not depend on the machine that wrote it.
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (opts.rootless) toRootless(spec, opts.uid ?? process.geteuid?.() ?? 0, opts.gid ?? process.getegid?.() ?? 0);
  return spec;
}

/** specconv.ToRootless: what an unprivileged user can and must set up. */
function toRootless(spec: Spec, uid: number, gid: number): void {
  const { resources: _cgroupLimits, namespaces = [], ...rest } = spec.linux!;
  // Rebuilt so keys keep Go's field order, as runc writes them. resources is
  // dropped: unprivileged users cannot set cgroup limits.
  spec.linux = {
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    // No network namespace (nothing could wire it up unprivileged); user last.
    namespaces: [...namespaces.filter((n) => n.type !== 'network' && n.type !== 'user'), { type: 'user' }],
    ...rest,
  };
  spec.mounts = (spec.mounts ?? []).map((m): Mount => {
    // sysfs cannot be mounted without owning the network namespace: bind it.
    if (posixClean(m.destination) === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    // uid=/gid= options name IDs that are not mapped.
    if (!m.options) return m;
    return { ...m, options: m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) };
  });
}

function posixClean(p: string): string {
  return posix.normalize(p).replace(/(.)\/$/, '$1');
}
