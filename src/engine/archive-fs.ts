/**
 * A container's filesystem as `docker cp` sees it, reached without any host mount and without
 * ever letting a symlink lead out of it:
 *
 *  - `DirTree`: a real directory (a running container's `/proc/<pid>/root`, a vfs container
 *    dir, an overlay upper dir). Every access walks from a directory fd, one component at a time
 *    with O_NOFOLLOW|O_DIRECTORY through `/proc/self/fd/<fd>/<name>` (openat emulated), so the
 *    kernel never resolves a symlink on the way, and a directory that a running container swaps
 *    for a symlink meanwhile makes the access fail (ELOOP/ENOTDIR) instead of escaping.
 *  - `ViewTree`: a stopped overlay container: reads from the merged view of its layer dirs
 *    (upper → init → image layers, whiteouts and opaque dirs applied), writes into the upper dir
 *    (parents copied up, whiteouts of written names cleared, a directory made over a hidden
 *    lower entry marked opaque).
 *  - `resolveIn`: symlinks evaluated in the scope of the container's root (moby's
 *    FollowSymlinkInScope): an absolute target restarts at the container's root, `..` stops at the
 *    root, at most `MAX_LINK_HOPS` links.
 */
import { constants as C, promises as fsp, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { applyLayerMeta } from '../kernel/host-ops';
import { isWhiteout, LayeredView, lookupNoFollow, opaqueDirs, type ViewLayer } from '../storage/tree';

export type St = BigIntStats;

/** As Linux's MAXSYMLINKS. */
export const MAX_LINK_HOPS = 40;

export class PathError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'ENOTDIR' | 'ELOOP',
    message: string,
  ) {
    super(message);
    this.name = 'PathError';
  }
}

/** A directory tree addressed by components relative to its root (every parent a real directory). */
export interface Tree {
  /** lstat; undefined when missing (or a parent is not a directory) */
  lstat(comps: string[]): Promise<St | undefined>;
  readlink(comps: string[]): Promise<string>;
  /** visible names of a directory, sorted */
  readdir(comps: string[]): Promise<string[]>;
  /** a host path naming the entry itself (a symlink at the end is not followed); valid until `done` */
  abs(comps: string[]): Promise<string>;
  /** the walk has finished with directory `comps`: fds below it may be closed */
  done(comps: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface WritableTree extends Tree {
  /** Before creating/replacing `comps`: parents made writable (copy-up), a whiteout at `comps` cleared. */
  prepare(comps: string[]): Promise<void>;
  mkdir(comps: string[], mode: number): Promise<void>;
  /** a new regular file (O_EXCL|O_NOFOLLOW), mode 0600 until the caller sets it */
  create(comps: string[]): Promise<FileHandle>;
  symlink(comps: string[], target: string): Promise<void>;
  /** hard link `comps` to the existing non-directory `src` */
  link(comps: string[], src: string[]): Promise<void>;
  /** removes the entry (recursively for a directory), never following a symlink */
  remove(comps: string[]): Promise<void>;
  lchown(comps: string[], uid: number, gid: number): Promise<void>;
  chmod(comps: string[], mode: number): Promise<void>;
  lutimes(comps: string[], mtime: Date): Promise<void>;
}

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

/** Lexically cleaned components of an absolute container path ("/a/./b/../c" → ["a", "c"]). */
export function cleanComps(p: string): string[] {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/**
 * `comps` with every symlink evaluated inside the tree (moby's FollowSymlinkInScope, the last
 * component included). A missing component ends the evaluation: the rest is appended lexically
 * (the caller's lstat then reports it missing). A non-directory in the middle is ENOTDIR, more
 * than MAX_LINK_HOPS links ELOOP.
 */
export async function resolveIn(tree: Tree, comps: string[]): Promise<string[]> {
  const stack: string[] = [];
  const queue = [...comps];
  let hops = 0;
  let missing = false;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    if (missing) {
      stack.push(c);
      continue;
    }
    const cand = [...stack, c];
    const st = await tree.lstat(cand);
    if (!st) {
      missing = true;
      stack.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) throw new PathError('ELOOP', `/${cand.join('/')}: too many levels of symbolic links`);
      const target = await tree.readlink(cand);
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory() && queue.some((q) => q !== '' && q !== '.')) {
      throw new PathError('ENOTDIR', `/${cand.join('/')}: not a directory`);
    }
    stack.push(c);
  }
  return stack;
}

// ---- a real directory ------------------------------------------------------------------------

const fdPath = (fh: FileHandle): string => `/proc/self/fd/${fh.fd}`;

export class DirTree implements WritableTree {
  private readonly dirs = new Map<string, FileHandle>();

  private constructor(private readonly root: FileHandle) {}

  /** `rootPath` itself is opened following links (`/proc/<pid>/root` is one); nothing below it is. */
  static async open(rootPath: string): Promise<DirTree> {
    return new DirTree(await fsp.open(rootPath, C.O_RDONLY | C.O_DIRECTORY));
  }

  private async dir(comps: string[]): Promise<FileHandle> {
    if (comps.length === 0) return this.root;
    const key = comps.join('/');
    const have = this.dirs.get(key);
    if (have) return have;
    const parent = await this.dir(comps.slice(0, -1));
    const fh = await fsp.open(`${fdPath(parent)}/${comps[comps.length - 1]!}`, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    const raced = this.dirs.get(key);
    if (raced) {
      await fh.close();
      return raced;
    }
    this.dirs.set(key, fh);
    return fh;
  }

  async abs(comps: string[]): Promise<string> {
    if (comps.length === 0) return `${fdPath(this.root)}/.`;
    return `${fdPath(await this.dir(comps.slice(0, -1)))}/${comps[comps.length - 1]!}`;
  }

  async lstat(comps: string[]): Promise<St | undefined> {
    try {
      return await fsp.lstat(await this.abs(comps), { bigint: true });
    } catch (e) {
      if (GONE.has(code(e) ?? '')) return undefined;
      throw e;
    }
  }

  async readlink(comps: string[]): Promise<string> {
    return fsp.readlink(await this.abs(comps));
  }

  async readdir(comps: string[]): Promise<string[]> {
    return (await fsp.readdir(fdPath(await this.dir(comps)))).sort();
  }

  async done(comps: string[]): Promise<void> {
    const key = comps.join('/');
    for (const [k, fh] of [...this.dirs]) {
      if (comps.length === 0 || k === key || k.startsWith(`${key}/`)) {
        this.dirs.delete(k);
        await fh.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    await this.done([]);
    await this.root.close().catch(() => undefined);
  }

  async prepare(): Promise<void> {
    /* a plain directory: nothing to copy up */
  }

  async mkdir(comps: string[], mode: number): Promise<void> {
    await fsp.mkdir(await this.abs(comps), mode);
  }

  async create(comps: string[]): Promise<FileHandle> {
    return fsp.open(await this.abs(comps), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  }

  async symlink(comps: string[], target: string): Promise<void> {
    await fsp.symlink(target, await this.abs(comps));
  }

  async link(comps: string[], src: string[]): Promise<void> {
    // linkat without AT_SYMLINK_FOLLOW: a symlink is linked, never followed
    await fsp.link(await this.abs(src), await this.abs(comps));
  }

  async remove(comps: string[]): Promise<void> {
    if (comps.length === 0) throw new Error('refusing to remove the root');
    const st = await this.lstat(comps);
    if (!st) return;
    if (st.isDirectory()) {
      for (const n of await this.readdir(comps)) await this.remove([...comps, n]);
      await this.done(comps);
      await fsp.rmdir(await this.abs(comps));
      return;
    }
    await fsp.unlink(await this.abs(comps));
  }

  async lchown(comps: string[], uid: number, gid: number): Promise<void> {
    await fsp.lchown(await this.abs(comps), uid, gid);
  }

  async chmod(comps: string[], mode: number): Promise<void> {
    const st = await this.lstat(comps);
    if (!st || st.isSymbolicLink()) return; // Linux has no lchmod
    if (st.isDirectory()) {
      await (await this.dir(comps)).chmod(mode);
      return;
    }
    const fh = await fsp.open(await this.abs(comps), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      await fh.chmod(mode);
    } finally {
      await fh.close();
    }
  }

  async lutimes(comps: string[], mtime: Date): Promise<void> {
    await fsp.lutimes(await this.abs(comps), mtime, mtime);
  }
}

// ---- a stopped overlay container ---------------------------------------------------------------

export class ViewTree implements WritableTree {
  private readonly pendingOpaque: string[] = [];

  private constructor(
    private readonly view: LayeredView,
    private readonly upperLayer: ViewLayer,
    private readonly upper: DirTree,
    private readonly lowers: string[],
  ) {}

  /** `upper`: the writable layer's diff dir; `lowers`: the init layer and the image's, top first. */
  static async open(upperDir: string, lowerDirs: string[]): Promise<ViewTree> {
    const upperLayer: ViewLayer = { dir: upperDir, opaque: await opaqueDirs(upperDir) };
    const lowers: ViewLayer[] = [];
    for (const d of lowerDirs) lowers.push({ dir: d, opaque: await opaqueDirs(d) });
    return new ViewTree(new LayeredView([upperLayer, ...lowers]), upperLayer, await DirTree.open(upperDir), lowerDirs);
  }

  private find(comps: string[]) {
    return this.view.lookup(comps.join('/'));
  }

  async lstat(comps: string[]): Promise<St | undefined> {
    return (await this.find(comps))?.st;
  }

  async readlink(comps: string[]): Promise<string> {
    const f = await this.find(comps);
    if (!f) throw new PathError('ENOENT', `/${comps.join('/')}: no such file or directory`);
    return fsp.readlink(f.abs);
  }

  async readdir(comps: string[]): Promise<string[]> {
    const f = await this.find(comps);
    if (!f?.active) throw new PathError('ENOTDIR', `/${comps.join('/')}: not a directory`);
    return this.view.names(f.active, comps.join('/'));
  }

  async abs(comps: string[]): Promise<string> {
    const f = await this.find(comps);
    if (!f) throw new PathError('ENOENT', `/${comps.join('/')}: no such file or directory`);
    return f.abs;
  }

  async done(comps: string[]): Promise<void> {
    await this.upper.done(comps);
  }

  async close(): Promise<void> {
    try {
      if (this.pendingOpaque.length) {
        await applyLayerMeta(this.upperLayer.dir, { devices: [], whiteouts: [], xattrs: [], opaque: this.pendingOpaque.splice(0) });
      }
    } finally {
      await this.upper.close();
    }
  }

  async prepare(comps: string[]): Promise<void> {
    for (let i = 1; i < comps.length; i++) {
      const sub = comps.slice(0, i);
      const up = await this.upper.lstat(sub);
      if (up?.isDirectory()) continue;
      const st = await this.lstat(sub);
      if (!st?.isDirectory()) throw new PathError('ENOTDIR', `/${sub.join('/')}: not a directory`);
      if (up) await this.upper.remove(sub); // cannot happen for a visible directory; be strict anyway
      await this.upper.mkdir(sub, 0o700);
      await this.upper.lchown(sub, Number(st.uid), Number(st.gid));
      await this.upper.chmod(sub, Number(st.mode & 0o7777n));
      await this.upper.lutimes(sub, new Date(Number(st.mtimeNs / 1_000_000n)));
    }
    const last = await this.upper.lstat(comps);
    if (last && isWhiteout(last)) await this.upper.remove(comps);
  }

  async mkdir(comps: string[], mode: number): Promise<void> {
    await this.upper.mkdir(comps, mode);
    // A new directory must not merge with what a lower layer had (and hid) under that name.
    const rel = comps.join('/');
    for (const l of this.lowers) {
      if (lookupNoFollow(l, rel)) {
        this.upperLayer.opaque.add(rel);
        this.pendingOpaque.push(rel);
        break;
      }
    }
  }

  create(comps: string[]): Promise<FileHandle> {
    return this.upper.create(comps);
  }

  symlink(comps: string[], target: string): Promise<void> {
    return this.upper.symlink(comps, target);
  }

  async link(comps: string[], src: string[]): Promise<void> {
    if (!(await this.upper.lstat(src))) await this.copyUp(src);
    await this.upper.link(comps, src);
  }

  /** A lower non-directory copied into the upper dir (metadata kept), so it can be hard-linked. */
  private async copyUp(comps: string[]): Promise<void> {
    const f = await this.find(comps);
    if (!f || f.st.isDirectory()) throw new PathError('ENOENT', `/${comps.join('/')}: no such file`);
    await this.prepare(comps);
    if (f.st.isSymbolicLink()) await this.upper.symlink(comps, await fsp.readlink(f.abs));
    else if (f.st.isFile()) {
      const src = await fsp.open(f.abs, C.O_RDONLY | C.O_NOFOLLOW);
      const dst = await this.upper.create(comps);
      try {
        for await (const chunk of src.createReadStream({ autoClose: false })) await dst.write(chunk as Buffer);
        await dst.chmod(Number(f.st.mode & 0o7777n));
      } finally {
        await src.close();
        await dst.close();
      }
    } else throw new PathError('ENOENT', `/${comps.join('/')}: cannot copy this file type up`);
    await this.upper.lchown(comps, Number(f.st.uid), Number(f.st.gid));
    await this.upper.lutimes(comps, new Date(Number(f.st.mtimeNs / 1_000_000n)));
  }

  /** Removes the upper entry only: the caller creates the replacement, which hides what is below. */
  remove(comps: string[]): Promise<void> {
    return this.upper.remove(comps);
  }

  lchown(comps: string[], uid: number, gid: number): Promise<void> {
    return this.upper.lchown(comps, uid, gid);
  }

  async chmod(comps: string[], mode: number): Promise<void> {
    // a directory merged from below and only now touched: copy it up first
    if (!(await this.upper.lstat(comps))) await this.prepare([...comps, '_']);
    return this.upper.chmod(comps, mode);
  }

  async lutimes(comps: string[], mtime: Date): Promise<void> {
    if (!(await this.upper.lstat(comps))) await this.prepare([...comps, '_']);
    return this.upper.lutimes(comps, mtime);
  }
}
