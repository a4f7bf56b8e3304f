/**
 * Filesystem trees as the snapshotters see them, walked in TypeScript without any mount:
 *
 *  - `LayeredView`: a stack of directories (top first) merged as overlayfs does: the topmost
 *    entry of a name wins, a 0:0 char device is a whiteout (when `whiteouts`), a directory
 *    merges with the same directory below it unless it is opaque, a non-directory hides
 *    everything below it. Never follows a symlink: every directory it descends into is a real
 *    directory (lstat) in each layer it is merged from.
 *  - `changes`: Docker's `docker diff` semantics (pkg/archive/changes.go): Added, Deleted (not
 *    recursed into), Modified when type/mode/uid/gid/rdev differ or, for non-directories,
 *    size/mtime (nanoseconds)/symlink target; the parents of any change are Modified too; sorted.
 *  - `TarWriter`: a layer/export tar from what is on disk (hard links kept within one tar,
 *    sockets skipped as Docker does; xattrs are not emitted: Node cannot read them).
 *
 * Caveat (as for `docker diff`/`commit`): walking a tree that a running container changes at the
 * same time is racy; pause or stop the container first.
 */
import * as fs from 'node:fs';
import { constants as C, promises as fsp, BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../image/layer/extract';
import { readLayerXattrs } from '../kernel/host-ops';

export type St = BigIntStats;

export async function lstatOrUndef(p: string): Promise<St | undefined> {
  try {
    return await fsp.lstat(p, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

export function isWhiteout(st: St): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/** `a/b` joined below `root` ("" is root itself). */
export function under(root: string, rel: string): string {
  return rel === '' ? root : path.join(root, rel);
}

function joinRel(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** lstat that answers undefined for a missing entry (sync: for the few lookups of a container's start). */
export function lstatOrUndefSync(p: string): St | undefined {
  try {
    return fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** lstat of `rel` below `root` without following a symlink on the way (a non-directory parent → undefined). */
export function lookupNoFollow(root: string, rel: string): St | undefined {
  if (rel === '') return lstatOrUndefSync(root);
  const comps = rel.split('/');
  for (let i = 1; i < comps.length; i++) {
    const st = lstatOrUndefSync(path.join(root, ...comps.slice(0, i)));
    if (!st || !st.isDirectory()) return undefined;
  }
  return lstatOrUndefSync(path.join(root, ...comps));
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Every directory below `dir` ("" = dir itself), depth first; symlinks are not followed. */
export async function allDirs(dir: string): Promise<string[]> {
  const out: string[] = [''];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdirOrEmpty(under(dir, rel))).sort()) {
      const r = joinRel(rel, name);
      const st = await lstatOrUndef(under(dir, r));
      if (st?.isDirectory()) {
        out.push(r);
        await walk(r);
      }
    }
  };
  await walk('');
  return out;
}

/** The directories of `dir` marked trusted.overlay.opaque=y (read by the stage: Node has no getxattr). */
export async function opaqueDirs(dir: string): Promise<Set<string>> {
  const dirs = await allDirs(dir);
  const vals = await readLayerXattrs(dir, dirs, 'trusted.overlay.opaque');
  const out = new Set<string>();
  vals.forEach((v, i) => {
    if (v && v.toString() === 'y') out.add(dirs[i]!);
  });
  return out;
}

export interface ViewLayer {
  dir: string;
  /** relative paths of opaque directories in this layer */
  opaque: Set<string>;
}

export interface Found {
  st: St;
  /** where the entry's metadata and content live */
  abs: string;
  /** for a directory: the layers (indexes) merged below it, topmost first */
  active?: number[];
}

export class LayeredView {
  constructor(
    readonly layers: ViewLayer[],
    readonly whiteouts = true,
  ) {
    if (layers.length === 0) throw new Error('LayeredView needs at least one layer');
  }

  /** The layers merged at the root. */
  rootActive(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      out.push(i);
      if (this.layers[i]!.opaque.has('')) break;
    }
    return out;
  }

  root(): Promise<Found | undefined> {
    return lstatOrUndef(this.layers[0]!.dir).then((st) => (st ? { st, abs: this.layers[0]!.dir, active: this.rootActive() } : undefined));
  }

  /** Entry `rel` whose parent directory is merged from `active`. */
  async child(active: number[], rel: string): Promise<Found | undefined> {
    for (let k = 0; k < active.length; k++) {
      const i = active[k]!;
      const abs = under(this.layers[i]!.dir, rel);
      const st = await lstatOrUndef(abs);
      if (!st) continue;
      if (this.whiteouts && isWhiteout(st)) return undefined;
      if (!st.isDirectory()) return { st, abs };
      const below = [i];
      if (!this.layers[i]!.opaque.has(rel)) {
        for (let k2 = k + 1; k2 < active.length; k2++) {
          const j = active[k2]!;
          const st2 = await lstatOrUndef(under(this.layers[j]!.dir, rel));
          if (!st2) continue;
          if ((this.whiteouts && isWhiteout(st2)) || !st2.isDirectory()) break;
          below.push(j);
          if (this.layers[j]!.opaque.has(rel)) break;
        }
      }
      return { st, abs, active: below };
    }
    return undefined;
  }

  /** Visible names of directory `rel` (merged from `active`), sorted. */
  async names(active: number[], rel: string): Promise<string[]> {
    const all = new Set<string>();
    for (const i of active) for (const n of await readdirOrEmpty(under(this.layers[i]!.dir, rel))) all.add(n);
    const out: string[] = [];
    for (const n of [...all].sort()) if (await this.child(active, joinRel(rel, n))) out.push(n);
    return out;
  }

  /** Looks `rel` up from the root. */
  async lookup(rel: string): Promise<Found | undefined> {
    let cur = await this.root();
    if (rel === '') return cur;
    let at = '';
    for (const c of rel.split('/')) {
      if (!cur?.active) return undefined;
      at = joinRel(at, c);
      cur = await this.child(cur.active, at);
    }
    return cur;
  }

  /** Depth-first walk of the merged tree (parents before children, names sorted). */
  async walk(visit: (rel: string, f: Found) => Promise<void>): Promise<void> {
    const root = await this.root();
    if (!root?.active) return;
    const rec = async (rel: string, active: number[]): Promise<void> => {
      for (const n of await this.names(active, rel)) {
        const r = joinRel(rel, n);
        const f = await this.child(active, r);
        if (!f) continue;
        await visit(r, f);
        if (f.active) await rec(r, f.active);
      }
    };
    await rec('', root.active);
  }
}

// ---- changes -------------------------------------------------------------------------------

export const ChangeKind = { Modified: 0, Added: 1, Deleted: 2 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** As Docker's API returns it (`GET /containers/{id}/changes`). */
export interface Change {
  Path: string;
  Kind: ChangeKind;
}

/** The parts of an entry that Docker's naive diff compares, plus the symlink target. */
export interface EntryState {
  type: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  rdev: string;
  size: string;
  mtimeNs: string;
  target?: string;
}

export function typeOf(st: St): EntryState['type'] {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'file';
}

export function entryState(abs: string, st: St): EntryState {
  const s: EntryState = {
    type: typeOf(st),
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    rdev: st.rdev.toString(),
    size: st.size.toString(),
    mtimeNs: st.mtimeNs.toString(),
  };
  if (st.isSymbolicLink()) s.target = fs.readlinkSync(abs);
  return s;
}

/** Docker's statDifferent, plus the symlink target. */
export function stateDiffers(a: EntryState, b: EntryState): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return true;
  if (a.type === 'dir') return false;
  if (a.size !== b.size || a.mtimeNs !== b.mtimeNs) return true;
  return a.type === 'symlink' && a.target !== b.target;
}

/** Adds the Modified parents Docker reports, drops duplicates, sorts by path. */
export function finishChanges(raw: Change[]): Change[] {
  const byPath = new Map<string, ChangeKind>();
  for (const c of raw) if (!byPath.has(c.Path)) byPath.set(c.Path, c.Kind);
  for (const c of raw) {
    for (let p = path.posix.dirname(c.Path); p !== '/' && p !== '.'; p = path.posix.dirname(p)) {
      if (byPath.has(p)) break;
      byPath.set(p, ChangeKind.Modified);
    }
  }
  return [...byPath.entries()].map(([Path, Kind]) => ({ Path, Kind })).sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

/** Reads one entry of a "base" (the image plus the init layer) for a naive comparison. */
export interface BaseTree {
  state(rel: string): Promise<EntryState | undefined>;
  /** names of directory `rel` (empty when it is not a directory) */
  names(rel: string): Promise<string[]>;
}

/** Naive diff of a full directory against `base` (the vfs driver). */
export async function naiveChanges(dir: string, base: BaseTree): Promise<Change[]> {
  const out: Change[] = [];
  const added = async (rel: string): Promise<void> => {
    out.push({ Path: `/${rel}`, Kind: ChangeKind.Added });
    const st = await lstatOrUndef(under(dir, rel));
    if (st?.isDirectory()) for (const n of (await readdirOrEmpty(under(dir, rel))).sort()) await added(joinRel(rel, n));
  };
  const cmp = async (rel: string): Promise<void> => {
    const names = new Set(await readdirOrEmpty(under(dir, rel)));
    const baseNames = await base.names(rel);
    for (const n of baseNames) if (!names.has(n)) out.push({ Path: `/${joinRel(rel, n)}`, Kind: ChangeKind.Deleted });
    for (const n of [...names].sort()) {
      const r = joinRel(rel, n);
      const abs = under(dir, r);
      const st = await lstatOrUndef(abs);
      if (!st) continue;
      const b = await base.state(r);
      if (!b) {
        await added(r);
        continue;
      }
      const c = entryState(abs, st);
      if (stateDiffers(c, b)) out.push({ Path: `/${r}`, Kind: ChangeKind.Modified });
      if (c.type === 'dir') {
        if (b.type === 'dir') await cmp(r);
        else for (const m of (await readdirOrEmpty(abs)).sort()) await added(joinRel(r, m));
      }
    }
  };
  await cmp('');
  return finishChanges(out);
}

/** Diff of an overlay upper dir against the view below it (`base`), walking the upper dir only. */
export async function overlayChanges(upper: string, upperOpaque: Set<string>, base: LayeredView): Promise<Change[]> {
  const out: Change[] = [];
  const added = async (rel: string): Promise<void> => {
    const st = await lstatOrUndef(under(upper, rel));
    if (!st || isWhiteout(st)) return;
    out.push({ Path: `/${rel}`, Kind: ChangeKind.Added });
    if (st.isDirectory()) for (const n of (await readdirOrEmpty(under(upper, rel))).sort()) await added(joinRel(rel, n));
  };
  const rec = async (rel: string, baseActive: number[] | undefined): Promise<void> => {
    const names = (await readdirOrEmpty(under(upper, rel))).sort();
    if (baseActive && upperOpaque.has(rel)) {
      // Everything below that the upper dir does not have is gone.
      const present = new Set(names);
      for (const n of await base.names(baseActive, rel)) {
        if (!present.has(n)) out.push({ Path: `/${joinRel(rel, n)}`, Kind: ChangeKind.Deleted });
      }
    }
    for (const n of names) {
      const r = joinRel(rel, n);
      const abs = under(upper, r);
      const st = await lstatOrUndef(abs);
      if (!st) continue;
      const b = baseActive ? await base.child(baseActive, r) : undefined;
      if (isWhiteout(st)) {
        if (b) out.push({ Path: `/${r}`, Kind: ChangeKind.Deleted });
        continue;
      }
      if (!b) {
        await added(r);
        continue;
      }
      const c = entryState(abs, st);
      if (stateDiffers(c, entryState(b.abs, b.st))) out.push({ Path: `/${r}`, Kind: ChangeKind.Modified });
      if (st.isDirectory()) await rec(r, b.active);
    }
  };
  const root = await base.root();
  await rec('', root?.active);
  return finishChanges(out);
}

/** Bytes of regular files and symlinks below `dir`, hard links counted once (moby's directory.Size). */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    for (const n of await readdirOrEmpty(under(dir, rel))) {
      const r = joinRel(rel, n);
      const st = await lstatOrUndef(under(dir, r));
      if (!st) continue;
      if (st.isDirectory()) {
        await walk(r);
        continue;
      }
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += Number(st.size);
    }
  };
  await walk('');
  return total;
}

// ---- tar -----------------------------------------------------------------------------------

function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n));
}

type Header = Parameters<tar.Pack['entry']>[0];

/** Builds a tar from entries on disk, in the order they are added. */
export class TarWriter {
  readonly pack = tar.pack();
  private readonly links = new Map<string, string>();

  private put(header: Header, buf?: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (buf) this.pack.entry(header, buf, cb);
      else this.pack.entry(header, cb);
    });
  }

  /** `rel` (no leading "/") as the entry at `abs` (lstat'd as `st`). Sockets are skipped. */
  async add(rel: string, abs: string, st: St): Promise<void> {
    const base = {
      uid: Number(st.uid),
      gid: Number(st.gid),
      mode: Number(st.mode & 0o7777n),
      mtime: new Date(Number(st.mtimeNs / 1_000_000n)),
    };
    if (st.isDirectory()) return this.put({ ...base, name: rel, type: 'directory' });
    if (st.isSymbolicLink()) return this.put({ ...base, name: rel, type: 'symlink', linkname: await fsp.readlink(abs) });
    if (st.isSocket()) return;
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) return this.put({ ...base, name: rel, type: 'link', linkname: first, size: 0 });
      this.links.set(key, rel);
    }
    if (st.isFIFO()) return this.put({ ...base, name: rel, type: 'fifo', size: 0 });
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      return this.put({
        ...base,
        name: rel,
        type: st.isCharacterDevice() ? 'character-device' : 'block-device',
        devmajor: devMajor(st.rdev),
        devminor: devMinor(st.rdev),
        size: 0,
      });
    }
    await this.file(rel, abs, st, base);
  }

  private async file(rel: string, abs: string, st: St, base: Omit<Header, 'name'>): Promise<void> {
    const fh = await fsp.open(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      const fst = await fh.stat({ bigint: true });
      if (!fst.isFile() || fst.ino !== st.ino) throw new Error(`${rel}: changed while reading`);
      let done!: Promise<void>;
      const sink = (() => {
        let s: ReturnType<tar.Pack['entry']> | undefined;
        done = new Promise<void>((resolve, reject) => {
          s = this.pack.entry({ ...base, name: rel, type: 'file', size: Number(fst.size) }, (err) => (err ? reject(err) : resolve()));
        });
        // Awaited below; when the reader went away (pack destroyed) we throw first: no unhandled rejection.
        done.catch(() => undefined);
        if (!s) throw new Error(`${rel}: the tar stream was closed`);
        return s;
      })();
      const buf = Buffer.alloc(64 * 1024);
      let remaining = Number(fst.size);
      while (remaining > 0) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, remaining), null);
        if (bytesRead === 0) throw new Error(`${rel}: file shrank while reading`);
        remaining -= bytesRead;
        if (!sink.write(Buffer.from(buf.subarray(0, bytesRead)))) await new Promise<void>((r) => sink.once('drain', () => r()));
      }
      (sink as unknown as { end(): void }).end();
      await done;
    } finally {
      await fh.close();
    }
  }

  /** `dir/.wh.name` for a deleted `rel`. */
  whiteout(rel: string): Promise<void> {
    const dir = path.posix.dirname(rel);
    const name = `${WHITEOUT_PREFIX}${path.posix.basename(rel)}`;
    return this.put({ name: dir === '.' ? name : `${dir}/${name}`, type: 'file', size: 0, mode: 0o600, uid: 0, gid: 0, mtime: new Date(0) }, Buffer.alloc(0));
  }

  /** `dir/.wh..wh..opq` */
  opaque(dirRel: string): Promise<void> {
    return this.put({ name: `${dirRel}/${WHITEOUT_OPAQUE}`, type: 'file', size: 0, mode: 0o600, uid: 0, gid: 0, mtime: new Date(0) }, Buffer.alloc(0));
  }

  /** Runs `fill`, then finalizes; errors destroy the stream. Returns a plain Node Readable. */
  static stream(fill: (w: TarWriter) => Promise<void>): Readable {
    const w = new TarWriter();
    (async () => {
      await fill(w);
      w.pack.finalize();
    })().catch((e: unknown) => w.pack.destroy(e as Error));
    return Readable.from(w.pack as AsyncIterable<Buffer>, { objectMode: false });
  }
}

/** A layer tar of `changes`, content from `dir` (the upper dir, or the vfs container dir); deletions as whiteouts. */
export function changesToTar(dir: string, changes: Change[]): Readable {
  return TarWriter.stream(async (w) => {
    for (const c of changes) {
      const rel = c.Path.slice(1);
      if (c.Kind === ChangeKind.Deleted) {
        await w.whiteout(rel);
        continue;
      }
      const abs = under(dir, rel);
      const st = lookupNoFollow(dir, rel);
      if (!st) throw new Error(`${c.Path}: vanished while writing the diff`);
      await w.add(rel, abs, st);
    }
  });
}

/** The whole tree of `dir` as a tar (no whiteout interpretation). */
export function dirToTar(dir: string): Readable {
  return viewToTar(new LayeredView([{ dir, opaque: new Set() }], false));
}

/** The merged tree of `view` as a tar: what a container sees, whiteouts applied. */
export function viewToTar(view: LayeredView): Readable {
  return TarWriter.stream((w) => view.walk((rel, f) => w.add(rel, f.abs, f.st)));
}
