// HostConfig.Binds, HostConfig.Mounts and HostConfig.Tmpfs -> the container's mount list,
// as moby's volume parser (daemon/volume/mounts/linux_parser.go) and registerMountPoints /
// TmpfsMounts read them. Named and anonymous volumes are a later issue: refused here.

import * as fs from 'node:fs';
import { posix } from 'node:path';
import type { HostConfig, Mount as ApiMount } from './docker-types';
import { SpecInputError, q } from './errors';
import { convertTmpfsOptions } from './tmpfs-options';

/** moby's container.Mount: what withMounts turns into spec mounts. */
export interface UserMount {
  destination: string;
  /** Host path for binds; "tmpfs" for tmpfs mounts. */
  source: string;
  kind: 'bind' | 'tmpfs';
  writable: boolean;
  /** Bind propagation; "" for tmpfs. */
  propagation: string;
  nonRecursive?: boolean;
  readOnlyNonRecursive?: boolean;
  readOnlyForceRecursive?: boolean;
  /** tmpfs options as one comma-separated string. */
  data?: string;
  /** The request field it came from, for messages. */
  where: string;
}

export interface UserMounts {
  mounts: UserMount[];
  /** Bind sources to create on the host (mode 0755) before the container starts, as dockerd does for -v. */
  hostDirs: string[];
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);
const COPY_MODES = new Set(['nocopy']);
const DEFAULT_PROPAGATION = 'rprivate';

const VOLUMES_LATER =
  'named and anonymous volumes are not supported yet (a later issue); use a bind mount of an absolute host path or a tmpfs';

/** linuxValidMountMode: each word known, at most one of each kind. */
function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    if (RW_MODES.has(o)) counts[0]!++;
    else if (LABEL_MODES.has(o)) counts[1]!++;
    else if (PROPAGATIONS.has(o)) counts[2]!++;
    else if (COPY_MODES.has(o)) counts[3]!++;
    else if (CONSISTENCY_MODES.has(o)) counts[4]!++;
    else return false;
  }
  return counts.every((c) => c <= 1);
}

export function cleanPath(p: string): string {
  return posix.normalize(p).replace(/(.)\/+$/, '$1');
}

function checkTarget(target: string | undefined, fail: (problem: string) => never): string {
  if (!target) fail('field Target must not be empty');
  if (cleanPath(target.replace(/\\/g, '/')) === '/') fail("invalid specification: destination can't be '/'");
  if (!target.startsWith('/')) fail(`invalid mount path: '${target}' mount path must be absolute`);
  return cleanPath(target);
}

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** One HostConfig.Binds entry (ParseMountRaw). */
export function parseBind(raw: string, where: string): { mount: UserMount; missingSource: boolean } {
  const invalidSpec = `invalid volume specification: '${raw}'`;
  const fail = (problem?: string): never => {
    throw new SpecInputError(`${where}: ${invalidSpec}${problem ? `: ${problem}` : ''} (expected /host/path:/container/path[:options])`);
  };
  const parts = raw.split(':');
  if (parts.length > 3 || parts[0] === '') fail();
  if (parts.length === 1) {
    throw new SpecInputError(`${where} ${q(raw)}: an anonymous volume; ${VOLUMES_LATER}`);
  }
  if (parts.length === 2 && validMountMode(parts[1]!)) fail();
  const [source, target, mode = ''] = parts as [string, string, string?];
  if (!validMountMode(mode)) {
    throw new SpecInputError(`${where} ${q(raw)}: invalid mode: ${mode} (options: ro, rw, z, Z, a propagation such as rslave, consistent, cached, delegated)`);
  }
  if (!source.startsWith('/')) {
    throw new SpecInputError(`${where} ${q(raw)}: ${q(source)} is a volume name, not an absolute host path; ${VOLUMES_LATER}`);
  }
  const words = mode === '' ? [] : mode.split(',');
  if (words.includes('nocopy')) fail('invalid mount config for type "bind": field VolumeOptions must not be specified');
  const destination = checkTarget(target, (p) => fail(`invalid mount config for type "bind": ${p}`));
  const propagation = words.find((w) => PROPAGATIONS.has(w)) ?? DEFAULT_PROPAGATION;
  const src = cleanPath(source);
  return {
    mount: { destination, source: src, kind: 'bind', writable: !words.includes('ro'), propagation, where },
    missingSource: !exists(src),
  };
}

const EXCLUSIVE: [keyof ApiMount, string][] = [
  ['BindOptions', 'bind'], ['VolumeOptions', 'volume'], ['ImageOptions', 'image'], ['TmpfsOptions', 'tmpfs'],
];

/** One HostConfig.Mounts entry (ParseMountSpec, with the bind source checked). */
export function parseApiMount(m: ApiMount, where: string): { mount: UserMount; missingSource: boolean } {
  const type = m.Type ?? '';
  const fail = (problem: string): never => {
    throw new SpecInputError(`${where}: invalid mount config for type ${q(type)}: ${problem}`);
  };
  for (const [field, owner] of EXCLUSIVE) {
    if (type !== owner && m[field] !== undefined && m[field] !== null) fail(`field ${field} must not be specified`);
  }
  const destination = checkTarget(m.Target, fail);
  switch (type) {
    case 'bind': {
      const source = m.Source;
      if (!source) return fail('field Source must not be empty');
      const o = m.BindOptions ?? {};
      if (o.Propagation && !PROPAGATIONS.has(o.Propagation)) {
        fail(`invalid propagation mode: ${o.Propagation} (one of private, rprivate, shared, rshared, slave, rslave)`);
      }
      if (!source.startsWith('/')) fail(`invalid mount path: '${source}' mount path must be absolute`);
      const src = cleanPath(source);
      const missing = !exists(src);
      if (missing && !o.CreateMountpoint) fail(`bind source path does not exist: ${m.Source}`);
      if (!m.ReadOnly && o.ReadOnlyNonRecursive) fail('mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive');
      if (!m.ReadOnly && o.ReadOnlyForceRecursive) fail('mount options conflict: !ReadOnly && BindOptions.ReadOnlyForceRecursive');
      if (o.ReadOnlyNonRecursive && o.ReadOnlyForceRecursive) fail('mount options conflict: ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive');
      const mount: UserMount = {
        destination, source: src, kind: 'bind', writable: !m.ReadOnly, propagation: o.Propagation || DEFAULT_PROPAGATION, where,
      };
      if (o.NonRecursive) mount.nonRecursive = true;
      if (o.ReadOnlyNonRecursive) mount.readOnlyNonRecursive = true;
      if (o.ReadOnlyForceRecursive) mount.readOnlyForceRecursive = true;
      return { mount, missingSource: missing };
    }
    case 'tmpfs':
      if (m.Source) fail('field Source must not be specified');
      return {
        mount: { destination, source: 'tmpfs', kind: 'tmpfs', writable: !m.ReadOnly, propagation: '', data: convertTmpfsOptions(m.TmpfsOptions, !!m.ReadOnly, where), where },
        missingSource: false,
      };
    case 'volume':
      throw new SpecInputError(`${where}: type "volume": ${VOLUMES_LATER}`);
    case 'image':
      throw new SpecInputError(`${where}: type "image": image mounts are not supported yet`);
    default:
      return fail('mount type unknown (berth supports "bind" and "tmpfs")');
  }
}

/** Sort by the number of path components, keeping the given order otherwise (moby's sortMounts). */
export function sortMounts<T extends { destination: string }>(mounts: readonly T[]): T[] {
  const depth = (m: T) => (cleanPath(m.destination).match(/\//g) ?? []).length;
  return mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map((x) => x.m);
}

/** Binds, then Mounts, then Tmpfs (registerMountPoints + TmpfsMounts), duplicates refused. */
export function collectUserMounts(hc: HostConfig): UserMounts {
  const mounts: UserMount[] = [];
  const hostDirs: string[] = [];
  const tmpfs = Object.entries(hc.Tmpfs ?? {});
  const tmpfsDests = new Set(tmpfs.map(([d]) => cleanPath(d)));
  const seen = new Map<string, string>();
  const add = (m: UserMount) => {
    const prev = seen.get(m.destination);
    if (prev !== undefined) {
      throw new SpecInputError(`Duplicate mount point: ${m.destination} (${m.where} and ${prev} both mount there)`);
    }
    seen.set(m.destination, m.where);
    mounts.push(m);
  };
  for (const [i, raw] of (hc.Binds ?? []).entries()) {
    if (typeof raw !== 'string') throw new SpecInputError(`HostConfig.Binds[${i}]: must be a string (got ${q(raw)})`);
    const { mount, missingSource } = parseBind(raw, `HostConfig.Binds[${i}]`);
    if (tmpfsDests.has(mount.destination)) {
      throw new SpecInputError(`Duplicate mount point: ${mount.destination} (HostConfig.Binds[${i}] and HostConfig.Tmpfs both mount there)`);
    }
    add(mount);
    if (missingSource) hostDirs.push(mount.source);
  }
  for (const [i, m] of (hc.Mounts ?? []).entries()) {
    const { mount, missingSource } = parseApiMount(m ?? {}, `HostConfig.Mounts[${i}]`);
    add(mount);
    if (missingSource) hostDirs.push(mount.source);
  }
  for (const [dest, data] of tmpfs) {
    const where = `HostConfig.Tmpfs[${q(dest)}]`;
    const destination = checkTarget(dest, (p) => {
      throw new SpecInputError(`${where}: ${p}`);
    });
    if (typeof data !== 'string') throw new SpecInputError(`${where}: the options must be a string such as "rw,size=64m" (got ${q(data)})`);
    add({ destination, source: 'tmpfs', kind: 'tmpfs', writable: true, propagation: '', data, where });
  }
  return { mounts, hostDirs };
}
