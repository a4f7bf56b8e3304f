// tmpfs mount options the way moby writes them: moby/sys/mount MergeTmpfsOptions (later
// options win, one per flag, one propagation, "key=value" only for tmpfs's own keys) and
// the volume parser's ConvertTmpfsOptions (HostConfig.Mounts[].TmpfsOptions -> a string).

import type { TmpfsOptions } from './docker-types';
import { SpecInputError } from './errors';

/** moby/sys/mount's flag table: name -> the flag it sets or clears (propagation shares one key). */
const FLAG_KEYS: Readonly<Record<string, string>> = {
  ro: 'RDONLY', rw: 'RDONLY',
  suid: 'NOSUID', nosuid: 'NOSUID',
  dev: 'NODEV', nodev: 'NODEV',
  exec: 'NOEXEC', noexec: 'NOEXEC',
  sync: 'SYNCHRONOUS', async: 'SYNCHRONOUS',
  dirsync: 'DIRSYNC',
  remount: 'REMOUNT',
  mand: 'MANDLOCK', nomand: 'MANDLOCK',
  atime: 'NOATIME', noatime: 'NOATIME',
  diratime: 'NODIRATIME', nodiratime: 'NODIRATIME',
  bind: 'BIND', rbind: 'RBIND',
  unbindable: 'PROPAGATION', runbindable: 'PROPAGATION', private: 'PROPAGATION', rprivate: 'PROPAGATION',
  shared: 'PROPAGATION', rshared: 'PROPAGATION', slave: 'PROPAGATION', rslave: 'PROPAGATION',
  relatime: 'RELATIME', norelatime: 'RELATIME',
  strictatime: 'STRICTATIME', nostrictatime: 'STRICTATIME',
};

/** The data keys tmpfs understands (moby's validFlags). */
const TMPFS_DATA_KEYS = new Set(['', 'size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/** Options a user may not give a tmpfs: they would change what kind of mount it is. */
const NOT_FOR_TMPFS = new Set(['bind', 'rbind', 'remount']);

/**
 * MergeTmpfsOptions: walk from the end, keep the last occurrence of each flag (ro/rw,
 * exec/noexec... share a key) and of each data key, keep the order of what is kept.
 */
export function mergeTmpfsOptions(options: readonly string[], where: string): string[] {
  const flagSeen = new Set<string>();
  const dataSeen = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const opt = options[i]!;
    if (opt === 'defaults') continue;
    const flag = FLAG_KEYS[opt];
    if (flag !== undefined) {
      if (NOT_FOR_TMPFS.has(opt)) throw new SpecInputError(`${where}: ${JSON.stringify(opt)} is not a tmpfs option`);
      if (!flagSeen.has(flag)) {
        out.unshift(opt);
        flagSeen.add(flag);
      }
      continue;
    }
    const eq = opt.indexOf('=');
    const key = eq < 0 ? undefined : opt.slice(0, eq);
    if (key === undefined || !TMPFS_DATA_KEYS.has(key)) {
      throw new SpecInputError(
        `${where}: invalid tmpfs option ${JSON.stringify(opt)} (flags such as ro, rw, noexec, exec, nosuid, nodev, or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol=)`,
      );
    }
    if (!dataSeen.has(key)) {
      out.unshift(opt);
      dataSeen.add(key);
    }
  }
  return out;
}

/** Options of a user tmpfs: Docker's defaults, then the user's data, merged. */
export function tmpfsMountOptions(data: string, where: string): string[] {
  const base = ['noexec', 'nosuid', 'nodev', 'rprivate'];
  return mergeTmpfsOptions(data === '' ? base : [...base, ...data.split(',')], where);
}

/** ConvertTmpfsOptions: ro, mode=<octal>, size=<n><g|m|k>, exec/noexec. */
export function convertTmpfsOptions(opt: TmpfsOptions | null | undefined, readOnly: boolean, where: string): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (opt?.Mode) {
    if (!Number.isInteger(opt.Mode) || opt.Mode < 0 || opt.Mode > 0o7777) {
      throw new SpecInputError(`${where}.TmpfsOptions.Mode: must be permission bits 0..0o7777 (got ${opt.Mode})`);
    }
    raw.push(`mode=${opt.Mode.toString(8)}`);
  }
  if (opt?.SizeBytes) {
    const size = opt.SizeBytes;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new SpecInputError(`${where}.TmpfsOptions.SizeBytes: must be a positive number of bytes (got ${size})`);
    }
    let text = String(size);
    for (const [suffix, div] of [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const) {
      if (size % div === 0) {
        text = `${size / div}${suffix}`;
        break;
      }
    }
    raw.push(`size=${text}`);
  }
  for (const [i, o] of (opt?.Options ?? []).entries()) {
    if (!Array.isArray(o) || o.length < 1 || o.length > 2) {
      throw new SpecInputError(`${where}.TmpfsOptions.Options[${i}]: invalid option array length (expected [name] or [name, value])`);
    }
    if (o[0] !== 'exec' && o[0] !== 'noexec') {
      throw new SpecInputError(`${where}.TmpfsOptions.Options[${i}]: invalid option: ${o[0]} (only exec and noexec)`);
    }
    raw.push(o.length === 1 ? o[0] : `${o[0]}=${o[1]}`);
  }
  return raw.join(',');
}
