// fstab-style mount options → mount(2) flags, data string and propagation, as runc parses them.
import { MS } from '../../kernel/constants';

export interface ParsedMountOptions {
  /** Flags for the first mount(2) call (bind flags included for bind mounts). */
  flags: number;
  /** Flags that must be cleared (e.g. "rw", "suid"): only matter for remounts. */
  clear: number;
  /** Propagation flags, each applied by its own mount(2) call. */
  propagation: number[];
  /** Filesystem-specific options joined with commas ("mode=755,size=65536k"). */
  data: string;
  bind: boolean;
  recursive: boolean;
}

const SET: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS,
  remount: MS.REMOUNT, mand: MS.MANDLOCK, dirsync: MS.DIRSYNC, nosymfollow: MS.NOSYMFOLLOW,
  noatime: MS.NOATIME, nodiratime: MS.NODIRATIME, relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME, lazytime: MS.LAZYTIME, silent: MS.SILENT,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC, async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK, atime: MS.NOATIME, diratime: MS.NODIRATIME, norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME, nolazytime: MS.LAZYTIME, loud: MS.SILENT, symfollow: MS.NOSYMFOLLOW,
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};
// Options that only mean something to userspace tools or to other runtimes.
const IGNORED = new Set(['defaults', 'auto', 'noauto', 'user', 'nouser', 'users', 'nofail', '_netdev', 'tmpcopyup', 'notmpcopyup', 'copy-symlink', 'idmap', 'ridmap', 'X-mount.idmap']);

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, clear: 0, propagation: [], data: '', bind: false, recursive: false };
  const data: string[] = [];
  for (const o of options) {
    if (o === 'bind' || o === 'rbind') {
      out.bind = true;
      out.recursive ||= o === 'rbind';
      out.flags |= MS.BIND | (o === 'rbind' ? MS.REC : 0);
    } else if (o in SET) {
      out.flags |= SET[o];
      out.clear &= ~SET[o];
    } else if (o in CLEAR) {
      out.flags &= ~CLEAR[o];
      out.clear |= CLEAR[o];
    } else if (o in PROPAGATION) {
      out.propagation.push(PROPAGATION[o]);
    } else if (!IGNORED.has(o) && !o.startsWith('X-') && !o.startsWith('x-')) {
      data.push(o);
    }
  }
  out.data = data.join(',');
  return out;
}

/** Mount flags that survive a bind remount (the rest are per-superblock). */
export const BIND_REMOUNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;
