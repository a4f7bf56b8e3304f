/**
 * `docker cp`: the container archive endpoints (`HEAD|GET|PUT /containers/{id}/archive`) as
 * moby's daemon/archive.go serves them, on berth's container roots:
 *
 *  - a running (or paused) container: the root its init sees, `/proc/<pid>/root`, opened once as
 *    a directory fd; every component below it is walked by `DirTree` (no symlink followed by the
 *    kernel), and symlinks are evaluated by `resolveIn` inside that root;
 *  - a stopped/created container: vfs → its directory; overlay → the merged view of its layer
 *    dirs for reading, the upper dir for writing (`ViewTree`). Nothing is mounted.
 *
 * Path semantics (container.ResolvePath / StatPath): the path is absolute in the container and
 * cleaned lexically, keeping a trailing "/" or "/."; for HEAD/GET the parent is resolved with
 * symlinks followed in scope and the last component is not followed (unless the path ends in "/"
 * or "/."), `linkTarget` is the full in-scope resolution; PUT resolves every component.
 */
import { constants as C, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { TarWriter } from '../storage/tree';
import { cleanComps, DirTree, PathError, resolveIn, ViewTree, type St, type Tree, type WritableTree } from './archive-fs';
import { extractInto, type ExtractOptions } from './archive-extract';
import type { ContainerRecord } from './container';
import type { Engine } from './engine';
import { EngineConflictError } from './errors';

/** moby's api/types/container.PathStat */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits */
  mode: number;
  mtime: string;
  linkTarget: string;
}

// Go's os.FileMode type bits (io/fs): ModeDir 1<<31, ModeSymlink 1<<27, ModeDevice 1<<26,
// ModeNamedPipe 1<<25, ModeSocket 1<<24, ModeSetuid 1<<23, ModeSetgid 1<<22,
// ModeCharDevice 1<<21, ModeSticky 1<<20. Sums, not `|`: JS bit operators are 32-bit signed.
export const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

/** A stat's mode as Go's os.FileMode (syscall mode → fs.FileMode as os.fillFileStatFromSys does). */
export function goFileMode(mode: number): number {
  let out = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000:
      out += GO_MODE.dir;
      break;
    case 0o120000:
      out += GO_MODE.symlink;
      break;
    case 0o060000:
      out += GO_MODE.device;
      break;
    case 0o020000:
      out += GO_MODE.device + GO_MODE.charDevice;
      break;
    case 0o010000:
      out += GO_MODE.namedPipe;
      break;
    case 0o140000:
      out += GO_MODE.socket;
      break;
  }
  if (mode & 0o4000) out += GO_MODE.setuid;
  if (mode & 0o2000) out += GO_MODE.setgid;
  if (mode & 0o1000) out += GO_MODE.sticky;
  return out;
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros trimmed), UTC. */
export function goTime(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const base = new Date(Number(sec) * 1000).toISOString().replace(/\.\d+Z$/, '');
  const f = frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${f ? `.${f}` : ''}Z`;
}

/** The `X-Docker-Container-Path-Stat` header value. */
export function encodePathStat(s: PathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}

/** A container path split as ResolvePath does: cleaned components, and how it ended. */
export function splitContainerPath(p: string): { comps: string[]; trailing: '' | '/' | '/.'; name: string } {
  const comps = cleanComps(p);
  const trailing = p === '.' || p.endsWith('/.') ? '/.' : p.endsWith('/') ? '/' : '';
  const name = trailing === '/.' ? '.' : comps.length ? comps[comps.length - 1]! : '/';
  return { comps, trailing, name };
}

export class ArchiveNotFoundError extends EngineConflictError {
  constructor(file: string, container: string) {
    super(404, `Could not find the file ${file} in container ${container}`);
  }
}

interface Located {
  /** the entry itself (last component not followed unless the path ended in / or /.) */
  comps: string[];
  st: St;
  stat: PathStat;
}

export class ContainerArchive {
  constructor(private readonly engine: Engine) {}

  /** The container's root as a tree; `rec.State.Running` decides between the live root and the layers. */
  async open(rec: ContainerRecord): Promise<WritableTree> {
    if (rec.State.Running && rec.State.Pid > 0) {
      const pid = rec.State.Pid;
      const before = await startTime(pid);
      const tree = await DirTree.open(`/proc/${pid}/root`);
      // The pid must still be the container's init (not a reused pid) once the root is open.
      const cur = this.engine.store.find(rec.Id);
      if (before === undefined || before !== (await startTime(pid)) || !cur?.State.Running || cur.State.Pid !== pid) {
        await tree.close();
        throw new EngineConflictError(409, `container ${rec.Id} stopped while its filesystem was being opened; try again`);
      }
      return tree;
    }
    const rootfs = await this.engine.opts.snapshotter.rootfs(rec.Id);
    if (rootfs.driver === 'vfs') return DirTree.open(rootfs.path);
    const base = rootfs.overlay.base;
    const lowers: string[] = [];
    for (const l of rootfs.overlay.lower) lowers.push(await fsp.realpath(path.join(base, l)));
    return ViewTree.open(path.join(base, rootfs.overlay.upper), lowers);
  }

  /** Small files of the container as it sees them now (exec -u NAME: /etc/passwd, /etc/group). */
  async readFiles(rec: ContainerRecord, paths: string[]): Promise<(string | undefined)[]> {
    const tree = await this.open(rec);
    try {
      const out: (string | undefined)[] = [];
      for (const p of paths) out.push(await readContainerFile(tree, p));
      return out;
    } finally {
      await tree.close();
    }
  }

  private async locate(tree: Tree, p: string, ref: string): Promise<Located> {
    const { comps, trailing, name } = splitContainerPath(p);
    let target: string[];
    try {
      if (trailing || comps.length === 0) target = await resolveIn(tree, comps);
      else target = [...(await resolveIn(tree, comps.slice(0, -1))), comps[comps.length - 1]!];
    } catch (e) {
      if (e instanceof PathError && e.code !== 'ELOOP') throw new ArchiveNotFoundError(p, ref);
      throw new EngineConflictError(400, (e as Error).message);
    }
    const st = await tree.lstat(target);
    if (!st) throw new ArchiveNotFoundError(p, ref);
    if (trailing && !st.isDirectory()) throw new EngineConflictError(400, `${p}: not a directory`);
    let linkTarget = '';
    if (st.isSymbolicLink()) linkTarget = `/${(await resolveIn(tree, target)).join('/')}`;
    return {
      comps: target,
      st,
      stat: { name, size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: goTime(st.mtimeNs), linkTarget },
    };
  }

  /** HEAD: the path's stat. */
  async stat(ref: string, p: string): Promise<PathStat> {
    const rec = this.engine.get(ref);
    const tree = await this.open(rec);
    try {
      return (await this.locate(tree, p, ref)).stat;
    } finally {
      await tree.close();
    }
  }

  /** GET: the stat and a tar of the path (entries rebased on the path's base name, as moby does). */
  async get(ref: string, p: string): Promise<{ stat: PathStat; tar: Readable }> {
    const rec = this.engine.get(ref);
    const tree = await this.open(rec);
    let loc: Located;
    try {
      loc = await this.locate(tree, p, ref);
    } catch (e) {
      await tree.close();
      throw e;
    }
    // moby rebases "." on the base name of the path; the root's entries start with "/".
    const rebase = loc.stat.name;
    const tar = TarWriter.stream(async (w) => {
      try {
        await addTree(tree, w, loc.comps, rebase === '/' ? '' : rebase, loc.st);
      } finally {
        await tree.close();
      }
    });
    tar.once('close', () => void tree.close());
    this.engine.events.emit('container', 'archive-path', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '', path: p });
    return { stat: loc.stat, tar };
  }

  /** PUT: extracts `body` (a tar) into the directory `p` of the container. */
  async put(ref: string, p: string, body: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    const rec = this.engine.get(ref);
    if (rec.HostConfig.ReadonlyRootfs) throw new EngineConflictError(400, 'container rootfs is marked read-only');
    const tree = await this.open(rec);
    try {
      let dest: string[];
      try {
        dest = await resolveIn(tree, cleanComps(p));
      } catch (e) {
        if (e instanceof PathError && e.code !== 'ELOOP') throw new ArchiveNotFoundError(p, ref);
        throw new EngineConflictError(400, (e as Error).message);
      }
      const st = await tree.lstat(dest);
      if (!st) throw new ArchiveNotFoundError(p, ref);
      if (!st.isDirectory()) throw new EngineConflictError(400, 'extraction point is not a directory');
      const xo: ExtractOptions = { noOverwriteDirNonDir: opts.noOverwriteDirNonDir };
      if (opts.copyUIDGID) xo.chown = await containerUser(tree, rec.Config.User ?? '');
      const summary = await extractInto(tree, dest, body, xo);
      for (const s of summary.skipped) this.engine.opts.log(`warning: docker cp into ${rec.Id.slice(0, 12)}: ${s}`);
    } finally {
      await tree.close();
    }
    this.engine.events.emit('container', 'extract-to-dir', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '', path: p });
  }
}

/** `comps` (lstat'd as `st`) and, for a directory, everything below it, named from `name`. */
async function addTree(tree: Tree, w: TarWriter, comps: string[], name: string, st: St): Promise<void> {
  await w.add(name === '' ? '/' : name, await tree.abs(comps), st);
  if (!st.isDirectory()) return;
  for (const n of await tree.readdir(comps)) {
    const sub = [...comps, n];
    const cst = await tree.lstat(sub);
    if (!cst) continue; // vanished meanwhile
    await addTree(tree, w, sub, `${name}/${n}`, cst);
  }
  await tree.done(comps);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), undefined when the process is gone. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const s = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A small file of the container read without following a symlink out of it (undefined if absent). */
async function readContainerFile(tree: Tree, p: string): Promise<string | undefined> {
  try {
    const comps = await resolveIn(tree, cleanComps(p));
    const st = await tree.lstat(comps);
    if (!st?.isFile() || st.size > 1n << 20n) return undefined;
    const fh = await fsp.open(await tree.abs(comps), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** The container's `User` ("name|uid[:group|gid]") as numbers, looked up in its own passwd/group. */
export async function containerUser(tree: Tree, user: string): Promise<{ uid: number; gid: number }> {
  if (user === '') return { uid: 0, gid: 0 };
  const [u = '', g] = user.split(':', 2);
  const passwd = (await readContainerFile(tree, '/etc/passwd')) ?? '';
  const pw = passwd.split('\n').map((l) => l.split(':')).find((f) => f.length >= 4 && (f[0] === u || (/^\d+$/.test(u) && f[2] === u)));
  let uid: number;
  if (/^\d+$/.test(u)) uid = Number(u);
  else if (pw) uid = Number(pw[2]);
  else throw new EngineConflictError(400, `unable to find user ${u}: no matching entries in passwd file`);
  let gid = pw ? Number(pw[3]) : 0;
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const group = (await readContainerFile(tree, '/etc/group')) ?? '';
      const gr = group.split('\n').map((l) => l.split(':')).find((f) => f.length >= 3 && f[0] === g);
      if (!gr) throw new EngineConflictError(400, `unable to find group ${g}: no matching entries in group file`);
      gid = Number(gr[2]);
    }
  }
  return { uid, gid };
}
