// cgroup2 controller delegation. A cgroup only has the controllers its parent
// lists in cgroup.subtree_control (and the parent can only list those in its
// own cgroup.controllers). berth enables what it needs in every dir from its
// "berth*" parent down to the container's parent, and never writes above the
// berth parent: whether that parent gets a controller is the host's decision
// (systemd's Delegate=, or the root's subtree_control), which we only report.
import { CgroupFs, joinPath } from '../fs';
import { errCode } from '../common';
import { berthAnchorIndex, splitCgroupPath } from '../path';

/** The controllers berth uses, in the order it enables them. */
export const V2_CONTROLLERS: readonly string[] = Object.freeze(['cpu', 'memory', 'pids', 'io', 'cpuset', 'hugetlb', 'rdma', 'misc']);

export interface EnableFailure {
  dir: string;
  controller: string;
  reason: string;
}

function words(fs: CgroupFs, file: string): Set<string> {
  try {
    return new Set(fs.readFile(file).split(/\s+/).filter(Boolean));
  } catch (e) {
    if (errCode(e) === 'ENOENT') return new Set();
    throw e;
  }
}

/** Dirs whose cgroup.subtree_control berth may write: the berth parent down to the leaf's parent. */
export function delegationLevels(mount: string, relPath: string): string[] {
  const parts = splitCgroupPath(relPath);
  const anchor = berthAnchorIndex(parts);
  if (anchor < 0) return [];
  const out: string[] = [];
  let dir = mount;
  for (let i = 0; i < parts.length - 1; i++) {
    dir = joinPath(dir, parts[i]);
    if (i >= anchor) out.push(dir);
  }
  return out;
}

/** Controllers listed in `<dir>/cgroup.controllers` (what the dir may use). */
export function availableControllers(fs: CgroupFs, dir: string): Set<string> {
  return words(fs, joinPath(dir, 'cgroup.controllers'));
}

function reasonOf(e: unknown): string {
  const code = errCode(e);
  if (code === 'EBUSY') return 'EBUSY (the cgroup has processes of its own, and cgroup2 only allows controllers to be enabled for the children of a cgroup without processes)';
  if (code === 'EOPNOTSUPP' || code === 'ENOTSUP') return `${code} (the cgroup is threaded, and the controller is not thread-aware)`;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Enables `wanted` (those each level offers and has not enabled yet) in the
 * cgroup.subtree_control of every delegation level, top down: one write per level,
 * then one controller at a time if the kernel refuses the batch. Failures are
 * returned, not thrown: they only matter for a limit that needs the controller.
 */
export function enableControllers(fs: CgroupFs, mount: string, relPath: string, wanted: readonly string[] = V2_CONTROLLERS): EnableFailure[] {
  const failures: EnableFailure[] = [];
  for (const dir of delegationLevels(mount, relPath)) {
    const available = availableControllers(fs, dir);
    const file = joinPath(dir, 'cgroup.subtree_control');
    const enabled = words(fs, file);
    const todo = wanted.filter((c) => available.has(c) && !enabled.has(c));
    if (todo.length === 0) continue;
    try {
      fs.writeFile(file, todo.map((c) => `+${c}`).join(' '));
      continue;
    } catch (e) {
      if (todo.length === 1) {
        failures.push({ dir, controller: todo[0], reason: reasonOf(e) });
        continue;
      }
    }
    for (const c of todo) {
      try {
        fs.writeFile(file, `+${c}`);
      } catch (e) {
        failures.push({ dir, controller: c, reason: reasonOf(e) });
      }
    }
  }
  return failures;
}

/**
 * Why the container's cgroup lacks `controller`, for the error of a limit that needs it.
 * Reads (never writes) the hierarchy root's cgroup.controllers to tell a kernel without
 * the controller from a host that does not delegate it.
 */
export function explainMissing(fs: CgroupFs, mount: string, relPath: string, controller: string, failures: EnableFailure[]): string {
  const levels = delegationLevels(mount, relPath);
  const top = levels[0];
  if (top !== undefined && !availableControllers(fs, top).has(controller)) {
    const above = top.slice(0, top.lastIndexOf('/')) || '/';
    if (!availableControllers(fs, mount).has(controller)) {
      return `this kernel offers no "${controller}" controller on cgroup v2 (it is not in ${joinPath(mount, 'cgroup.controllers')}: compiled out, or bound to a cgroup v1 hierarchy)`;
    }
    return (
      `the "${controller}" controller is not delegated to ${top}: its parent ${above} does not enable it in cgroup.subtree_control. ` +
      `berth never writes above its own "berth" cgroup; enable it there (e.g. echo +${controller} > ${joinPath(above, 'cgroup.subtree_control')}, ` +
      `or Delegate=yes for a systemd unit)`
    );
  }
  const f = failures.find((x) => x.controller === controller);
  if (f) return `the "${controller}" controller could not be enabled in ${joinPath(f.dir, 'cgroup.subtree_control')}: ${f.reason}`;
  return `the "${controller}" controller is not enabled for this cgroup (not in its cgroup.controllers)`;
}
