// What the host's mount table says about a bind source (moby oci_linux.go getSourceMount,
// ensureShared, ensureSharedOrSlave): a shared/slave bind needs a source whose mount
// propagates, otherwise the option would silently do nothing.

import * as fs from 'node:fs';
import { SpecInputError } from './errors';

export interface MountInfoEntry {
  mountpoint: string;
  /** Optional fields, e.g. "shared:12 master:3". */
  optional: string;
}

/** Octal escapes (\040 for a space) as the kernel writes them in mountinfo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0) continue;
    out.push({ mountpoint: unescape(f[4]!), optional: f.slice(6, sep).join(' ') });
  }
  return out;
}

/** The mount `source` lives on: the longest mountpoint that is a parent of it (later entries win ties). */
export function sourceMount(source: string, mountinfo: readonly MountInfoEntry[]): MountInfoEntry | undefined {
  let best: MountInfoEntry | undefined;
  for (const m of mountinfo) {
    const mp = m.mountpoint;
    const parent = mp === '/' || source === mp || source.startsWith(mp + '/');
    if (parent && (!best || mp.length >= best.mountpoint.length)) best = m;
  }
  return best;
}

export type HostMountCheck = (source: string, want: 'shared' | 'shared-or-slave', where: string) => void;

/** The check against a mount table (default: /proc/self/mountinfo), with symlinks in the source resolved. */
export const hostPropagationCheck = (mountinfo: () => string): HostMountCheck => (source, want, where) => {
  let real: string;
  try {
    real = fs.realpathSync(source);
  } catch (e) {
    throw new SpecInputError(`${where}: cannot resolve ${source}: ${(e as Error).message}`);
  }
  const m = sourceMount(real, parseMountInfo(mountinfo()));
  if (!m) throw new SpecInputError(`${where}: Can't find mount point of ${source}`);
  const opts = m.optional.split(' ');
  const shared = opts.some((o) => o.startsWith('shared:'));
  const slave = opts.some((o) => o.startsWith('master:'));
  if (want === 'shared' && !shared) {
    throw new SpecInputError(`${where}: path ${source} is mounted on ${m.mountpoint} but it is not a shared mount (make it shared with \`mount --make-shared ${m.mountpoint}\`, or use a private propagation)`);
  }
  if (want === 'shared-or-slave' && !shared && !slave) {
    throw new SpecInputError(`${where}: path ${source} is mounted on ${m.mountpoint} but it is not a shared or slave mount (make it shared with \`mount --make-shared ${m.mountpoint}\`, or use a private propagation)`);
  }
};

export const checkHostPropagation: HostMountCheck = hostPropagationCheck(() => fs.readFileSync('/proc/self/mountinfo', 'utf8'));
