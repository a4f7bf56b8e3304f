// v1 cpuset: a new cgroup starts with empty cpuset.cpus/cpuset.mems and no task
// can join it (ENOSPC) until both are set. Copy them from the nearest ancestor.
import * as path from 'node:path';
import { joinPath } from '../fs';
import { ResolvedOptions } from '../manager';

const FILES = ['cpuset.cpus', 'cpuset.mems'];

export function inheritCpuset(o: ResolvedOptions, dir: string, mount: string): void {
  for (const name of FILES) {
    if (o.fs.readFile(joinPath(dir, name)).trim() !== '') continue;
    let value = '';
    // Ancestors are only read; levels from the berth parent down are filled top-down by the caller.
    for (let up = path.posix.dirname(dir); value === '' && up.length >= mount.length; up = path.posix.dirname(up)) {
      value = o.fs.readFile(joinPath(up, name)).trim();
      if (up === mount) break;
    }
    if (value === '') throw new Error(`no ancestor of ${dir} has a non-empty ${name}`);
    o.fs.writeFile(joinPath(dir, name), value);
  }
}

/** True when a v1 hierarchy key (e.g. "cpuset" or "cpu,cpuset") includes the controller. */
export function hasController(key: string, controller: string): boolean {
  return key.split(',').includes(controller);
}
