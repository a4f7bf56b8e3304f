// v1 cpuset: a new cgroup starts with empty cpuset.cpus/cpuset.mems and no task
// can join it (ENOSPC) until both are set. Copy them from the nearest ancestor.
import * as path from 'node:path';
import { joinPath } from '../fs';
import { ResolvedOptions } from '../manager';
import type { LinuxCPU } from '../../spec/types';
import type { CpusetStats } from '../stats';
import { parseCpuList } from '../units';
import { V1Context, readOptional, requireDir, writeField } from './util';

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

/** OCI cpu.cpus / cpu.mems → cpuset.cpus / cpuset.mems. An empty string leaves the inherited set. */
export function applyCpuset(ctx: V1Context, c: LinuxCPU | undefined): void {
  if (!c) return;
  const wanted = ([['cpus', c.cpus], ['mems', c.mems]] as const).filter(([, v]) => v !== undefined && v.trim() !== '');
  if (wanted.length === 0) return;
  const dir = requireDir(ctx, 'cpuset', `cpu.${wanted[0][0]}`);
  for (const [key, value] of wanted) {
    const name = `cpuset.${key}`;
    writeField(ctx.o, `cpu.${key}`, joinPath(dir, name), value!.trim(), (code) => {
      if (code !== 'EINVAL' && code !== 'ENOSPC') return undefined;
      const parent = path.posix.dirname(dir);
      const have = readOptional(ctx.o, joinPath(parent, name))?.trim();
      return `the kernel refused it (${code}): a cgroup's ${key === 'cpus' ? 'CPUs' : 'memory nodes'} must be a subset of its parent's, and ${parent} has ${JSON.stringify(have ?? '?')}`;
    });
  }
}

export function cpusetStats(ctx: V1Context): CpusetStats | undefined {
  const dir = ctx.dirOf('cpuset');
  if (dir === undefined) return undefined;
  const s: CpusetStats = {};
  for (const key of ['cpus', 'mems'] as const) {
    const t = readOptional(ctx.o, joinPath(dir, `cpuset.${key}`));
    if (t === undefined) continue;
    try {
      s[key] = parseCpuList(t);
    } catch {
      /* not a list: leave it out */
    }
  }
  return s;
}
