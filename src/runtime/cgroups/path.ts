// OCI linux.cgroupsPath → the path used inside every hierarchy ("relative path",
// always starting with "/"). berth only ever manages cgroups below a directory
// whose name starts with "berth", so a bad spec cannot make us take over (or
// later delete) a cgroup that belongs to systemd or another manager.

export const DEFAULT_PARENT = 'berth';

function refuse(p: string, why: string): never {
  throw new Error(`cgroupsPath ${JSON.stringify(p)}: ${why}`);
}

/** Components of a cgroup path; rejects "..", control characters. */
export function splitCgroupPath(p: string): string[] {
  if (/[\0\n]/.test(p)) refuse(p, 'contains NUL or newline');
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) refuse(p, '".." components are not allowed');
  return parts;
}

/** Index of the first "berth*" component that has something below it, or -1. */
export function berthAnchorIndex(parts: string[]): number {
  for (let i = 0; i < parts.length - 1; i++) if (parts[i].startsWith(DEFAULT_PARENT)) return i;
  return -1;
}

/** Throws unless `relPath` lies strictly inside a "berth*" directory; returns its components. */
export function assertManagedPath(relPath: string, original = relPath): string[] {
  const parts = splitCgroupPath(relPath);
  if (berthAnchorIndex(parts) < 0) {
    refuse(original, `berth only manages cgroups under a "${DEFAULT_PARENT}" parent (e.g. /${DEFAULT_PARENT}/<id>)`);
  }
  return parts;
}

export function resolveCgroupPath(cgroupsPath: string | undefined, containerId: string): string {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (!containerId || containerId.includes('/') || containerId === '.' || containerId === '..') {
      throw new Error(`cgroups: container id ${JSON.stringify(containerId)} cannot be used as a cgroup name`);
    }
    return `/${DEFAULT_PARENT}/${containerId}`;
  }
  const absolute = cgroupsPath.startsWith('/');
  if (!absolute && cgroupsPath.includes(':')) {
    refuse(
      cgroupsPath,
      'systemd-style "slice:prefix:name" paths need the systemd cgroup driver, which berth does not support yet; use a path such as /berth/<id>',
    );
  }
  const parts = splitCgroupPath(cgroupsPath);
  // The OCI spec lets the runtime choose the base for relative paths; ours is /berth.
  const full = absolute ? parts : [DEFAULT_PARENT, ...parts];
  const rel = '/' + full.join('/');
  assertManagedPath(rel, cgroupsPath);
  return rel;
}
