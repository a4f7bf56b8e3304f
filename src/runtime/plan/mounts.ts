// The spec's mounts → plan ops: each mount target resolved inside the rootfs by
// the stage, bind mounts remounted for their flags, propagation applied after.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MS } from '../../kernel/constants';
import type { Mount } from '../spec/types';
import type { CgroupLayout } from '../cgroups/layout';
import { v1Hierarchies } from '../cgroups/layout';
import { RuntimeError } from '../errors';
import { IdMaps, MountClones, mountIdmap } from './idmap';
import { BIND_REMOUNT_FLAGS, parseMountOptions } from './mount-options';
import { LaunchPlan } from './plan';

export interface CgroupMountContext {
  layout: CgroupLayout;
  /** Container cgroup dirs by hierarchy key (v1 controller list or "unified"). */
  dirs: Record<string, string>;
  newCgroupNs: boolean;
}

export interface MountContext {
  cgroup: CgroupMountContext;
  /**
   * sysfs can only be mounted by the owner of the network namespace: in a new user
   * namespace that shares the host's network, bind the host's /sys instead (as runc does).
   */
  sysfsAsBind: boolean;
  /** Idmapped bind mounts: the launch's clones, and the maps of the container's new user namespace. */
  idmap?: { clones: MountClones; containerMaps: IdMaps | undefined };
}

const rel = (dest: string) => path.posix.normalize(dest).replace(/^\/+/, '');

function sourceKind(source: string, where: string): 'dir' | 'file' {
  try {
    return fs.statSync(source).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    throw new RuntimeError(`config.json: ${where}.source: ${source}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
}

/** With `clone`, the bind is the stage parent's (idmapped) clone of source, attached by the init. */
function planBind(plan: LaunchPlan, target: string, source: string, flags: number, recursive: boolean, propagation: number[], mk: 'dir' | 'file', clone?: number): void {
  const t = rel(target);
  if (clone === undefined) plan.op(`bind-mounting ${source} on ${target}`, 'mount', t, source, '', MS.BIND | (recursive ? MS.REC : 0), '', mk, 0);
  else plan.op(`bind-mounting ${source} on ${target}, idmapped`, 'attach_clone', clone, t, mk);
  const extra = flags & BIND_REMOUNT_FLAGS;
  if (extra) {
    plan.op(`remounting ${target} with its options`, 'mount', t, '', '', MS.BIND | MS.REMOUNT | extra, '', 'none', 1);
  }
  for (const p of propagation) plan.op(`setting propagation of ${target}`, 'mount', t, '', '', p, '', 'none', 0);
}

function planCgroupMount(plan: LaunchPlan, m: Mount, ctx: CgroupMountContext, where: string): void {
  const o = parseMountOptions(m.options);
  const flags = o.flags & ~(MS.BIND | MS.REC);
  const t = rel(m.destination);
  const { layout, dirs, newCgroupNs } = ctx;
  const wantV2 = m.type === 'cgroup2' || layout.mode === 'unified';
  if (wantV2) {
    if (!layout.unified) throw new RuntimeError(`config.json: ${where}: this host has no cgroup2 hierarchy to mount`);
    if (newCgroupNs) plan.op(`mounting cgroup2 on ${m.destination}`, 'mount', t, 'cgroup2', 'cgroup2', flags, '', 'dir', 0);
    else if (dirs.unified) planBind(plan, m.destination, dirs.unified, flags | MS.BIND, false, [], 'dir');
    // Never fall back to the host's whole hierarchy.
    else throw new RuntimeError(`config.json: ${where}: the container has no cgroup2 directory to bind (add a cgroup namespace)`);
    return;
  }
  // v1: a tmpfs holding one mount per hierarchy, as runc and Docker lay it out.
  plan.op(`mounting tmpfs for cgroups on ${m.destination}`, 'mount', t, 'tmpfs', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755', 'dir', 0);
  const sub: { name: string; key: string; v2: boolean }[] = v1Hierarchies(layout).map((h) => ({ name: path.basename(h.mountpoint), key: h.key, v2: false }));
  if (layout.unified) sub.push({ name: path.basename(layout.unified), key: 'unified', v2: true });
  for (const s of sub) {
    const target = `${m.destination}/${s.name}`;
    if (newCgroupNs) {
      plan.op(`mounting cgroup ${s.key} on ${target}`, 'mount', rel(target), 'cgroup', s.v2 ? 'cgroup2' : 'cgroup', flags, s.v2 ? '' : s.key, 'dir', 0);
    } else {
      const src = dirs[s.key];
      if (src) planBind(plan, target, src, flags, false, [], 'dir');
    }
    // Co-mounted controllers are reachable under each controller's name too.
    if (!s.v2 && s.key.includes(',')) {
      for (const c of s.key.split(',')) if (c !== s.name) plan.op(`linking ${m.destination}/${c}`, 'symlink', rel(`${m.destination}/${c}`), s.name);
    }
  }
  if (flags & MS.RDONLY) {
    plan.op(`remounting ${m.destination} read-only`, 'mount', t, '', '', MS.REMOUNT | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY, 'mode=755', 'none', 1);
  }
}

export function planMounts(plan: LaunchPlan, mounts: Mount[], bundle: string, ctx: MountContext): void {
  mounts.forEach((m, i) => {
    const where = `mounts[${i}]`;
    const idmap = mountIdmap(m, where, ctx.idmap?.containerMaps);
    const o = parseMountOptions(m.options);
    const type = m.type ?? '';
    if (type === 'cgroup' || type === 'cgroup2') return planCgroupMount(plan, m, ctx.cgroup, where);
    if (type === 'sysfs' && ctx.sysfsAsBind) {
      planBind(plan, m.destination, '/sys', (o.flags & BIND_REMOUNT_FLAGS) | MS.NOSUID | MS.NODEV | MS.NOEXEC, true, o.propagation, 'dir');
      return;
    }
    if (o.bind || type === 'bind') {
      if (!m.source) throw new RuntimeError(`config.json: ${where}.source: a bind mount needs a source`);
      // A bind mount has no filesystem options: an unknown word (e.g. runc's "rro") would be lost.
      if (o.data) throw new RuntimeError(`config.json: ${where}.options: ${JSON.stringify(o.data)} is not a bind mount option berth-runtime knows`);
      const source = path.resolve(bundle, m.source);
      const mk = sourceKind(source, where);
      let clone: number | undefined;
      if (idmap) {
        if (!ctx.idmap) throw new Error(`planMounts: ${where} is idmapped but no clone set was given`);
        clone = ctx.idmap.clones.add({ what: `config.json: ${where}`, source, recursive: o.recursive, ...idmap, onRefusal: 'error' });
      }
      planBind(plan, m.destination, source, o.flags, o.recursive, o.propagation, mk, clone);
      return;
    }
    const t = rel(m.destination);
    plan.op(`mounting ${type || 'filesystem'} on ${m.destination}`, 'mount', t, m.source ?? type, type, o.flags, o.data, 'dir', 0);
    for (const p of o.propagation) plan.op(`setting propagation of ${m.destination}`, 'mount', t, '', '', p, '', 'none', 0);
  });
}
