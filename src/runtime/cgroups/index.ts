// Entry points: pick the driver for the host layout, or rebuild a manager from
// the record saved in a container's state file (kill --all, delete, ...).
import { CgroupFs, joinPath, nodeCgroupFs } from './fs';
import { resolveOptions } from './common';
import { CgroupLayout, v1Hierarchies } from './layout';
import { CgroupManager, ManagerOptions, SavedCgroup, UNIFIED_KEY } from './manager';
import { assertManagedPath } from './path';
import { V1CgroupManager } from './v1/manager';
import { V2CgroupManager } from './v2/manager';

export { CgroupFs, DirEntry, nodeCgroupFs } from './fs';
export { CgroupLayout, CgroupMode, V1Hierarchy, ProcCgroup, detectLayout, v1Hierarchies, ownCgroup, parseProcCgroup, parseMountInfo } from './layout';
export { resolveCgroupPath, assertManagedPath } from './path';
export { CgroupManager, CgroupError, ManagerOptions, SavedCgroup, UNIFIED_KEY } from './manager';
export { CgroupStats, emptyStats } from './stats';
export { V1CgroupManager } from './v1/manager';
export { V2CgroupManager } from './v2/manager';

/** Require the canonical form resolveCgroupPath returns ("/a/b", no ".", "//", trailing "/"). */
function canonical(relPath: string): string {
  const parts = assertManagedPath(relPath);
  if ('/' + parts.join('/') !== relPath) throw new Error(`cgroups: path ${JSON.stringify(relPath)} is not canonical (use resolveCgroupPath)`);
  return relPath;
}

/** relPath is the result of resolveCgroupPath(). Nothing is created until create(). */
export function createCgroupManager(layout: CgroupLayout, relPath: string, fs: CgroupFs = nodeCgroupFs, opts?: ManagerOptions): CgroupManager {
  canonical(relPath);
  const o = resolveOptions(fs, opts);
  if (layout.mode === 'unified') return new V2CgroupManager(relPath, joinPath(layout.unified!, relPath), o, { warn: o.warn });
  const dirs: Record<string, string> = {};
  for (const h of v1Hierarchies(layout)) dirs[h.key] = joinPath(h.mountpoint, relPath);
  if (layout.mode === 'hybrid') dirs[UNIFIED_KEY] = joinPath(layout.unified!, relPath);
  return new V1CgroupManager(relPath, dirs, o);
}

/** Rebuild from save(); validates the record so a corrupt state file cannot aim destroy() elsewhere. */
export function loadCgroupManager(saved: SavedCgroup, fs: CgroupFs = nodeCgroupFs, opts?: ManagerOptions): CgroupManager {
  const bad = (why: string): never => {
    throw new Error(`cgroups: invalid saved cgroup record: ${why}`);
  };
  if (!saved || typeof saved !== 'object') bad('not an object');
  if (saved.version !== 1 && saved.version !== 2) bad(`unknown version ${JSON.stringify(saved.version)}`);
  if (typeof saved.path !== 'string') bad('path missing');
  const relPath = canonical(saved.path);
  if (!saved.dirs || typeof saved.dirs !== 'object') bad('dirs missing');
  const dirs: Record<string, string> = {};
  for (const [key, dir] of Object.entries(saved.dirs)) {
    // Each dir must be <mountpoint><path>, i.e. the same managed path in some hierarchy.
    if (typeof dir !== 'string' || !dir.startsWith('/') || !dir.endsWith(relPath) || dir.includes('/../')) bad(`dir for ${key} is not under ${relPath}`);
    dirs[key] = dir;
  }
  const o = resolveOptions(fs, opts);
  if (saved.version === 2) {
    const keys = Object.keys(dirs);
    if (keys.length !== 1 || keys[0] !== UNIFIED_KEY) bad('a v2 record has exactly one "unified" dir');
    return new V2CgroupManager(relPath, dirs[UNIFIED_KEY], o, { warn: o.warn });
  }
  return new V1CgroupManager(relPath, dirs, o);
}
