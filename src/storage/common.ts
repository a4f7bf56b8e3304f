/**
 * What both snapshotters share: id checks, the container records, the init layer, mount checks.
 *
 * Container records live in `<root>/containers/<container id>/record.json` (written atomically;
 * the directory is the claim: making it fails when the id is taken). A record names the driver,
 * the container's random mount id (its layer directories are named by it, never by the container
 * id, so a container id can never name an image layer), the image layers it was prepared on
 * (bottom first) and, for vfs, what the init layer wrote.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { constants as C } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../kernel/atomic-file';
import { entryState, type EntryState, type St, lookupNoFollow, typeOf } from './tree';

export class SnapshotterError extends Error {
  override name = 'SnapshotterError';
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkContainerId(id: string): void {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new SnapshotterError(`invalid container id ${JSON.stringify(id)}: use 1-128 of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
}

/** Image layer ids are chain id hex, as unpack names them. */
export function checkImageLayerId(id: string): void {
  if (typeof id !== 'string' || !/^[a-f0-9]{64}$/.test(id)) {
    throw new SnapshotterError(`invalid layer id ${JSON.stringify(id)}: an image layer id is the 64 hex digits of its chain id`);
  }
}

// ---- records -------------------------------------------------------------------------------

export interface InitRecord {
  /** relative path, e.g. "etc/hosts" */
  path: string;
  state: EntryState;
}

export interface ContainerRecord {
  id: string;
  driver: 'overlay' | 'vfs';
  /** 64 random hex digits: names the container's layer directories */
  mountId: string;
  /** image layers, bottom first */
  layers: string[];
  state: 'preparing' | 'ready';
  created: string;
  /** vfs: entries the init layer created or replaced in the container dir */
  init?: InitRecord[];
  warnings?: string[];
}

export function containersDir(root: string): string {
  return path.join(root, 'containers');
}

function recordFile(root: string, id: string): string {
  return path.join(containersDir(root), id, 'record.json');
}

export function newMountId(): string {
  return randomBytes(32).toString('hex');
}

// Records and the init layer use sync calls: a handful of tiny files, on the path of every
// `docker run`, where each promise-based call would cost a thread-pool round trip (~0.1 ms).

/** Claims `rec.id` (fails if taken) and writes the record. */
export function claimContainer(root: string, rec: ContainerRecord): void {
  fs.mkdirSync(containersDir(root), { recursive: true, mode: 0o700 });
  try {
    fs.mkdirSync(path.join(containersDir(root), rec.id), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SnapshotterError(`container ${rec.id} already has a root filesystem (remove it first)`);
    throw e;
  }
  writeRecord(root, rec, false);
}

/**
 * Writes the record atomically. `durable` (the default) fsyncs it first: a "ready" record must
 * survive a crash; a "preparing" one need not (a lost claim is simply not there).
 */
export function writeRecord(root: string, rec: ContainerRecord, durable = true): void {
  writeFileAtomic(recordFile(root, rec.id), JSON.stringify(rec), { durable });
}

export function readRecord(root: string, id: string, driver: 'overlay' | 'vfs'): ContainerRecord {
  checkContainerId(id);
  let text: string;
  try {
    text = fs.readFileSync(recordFile(root, id), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotterError(`no such container: ${id} (the ${driver} snapshotter at ${root} has no root filesystem for it)`);
    throw e;
  }
  const rec = JSON.parse(text) as ContainerRecord;
  if (rec.driver !== driver) throw new SnapshotterError(`container ${id} was prepared by the ${rec.driver} snapshotter, not ${driver}`);
  if (!/^[a-f0-9]{64}$/.test(rec.mountId)) throw new SnapshotterError(`container ${id}: corrupt record (mount id)`);
  return rec;
}

export function dropRecord(root: string, id: string): void {
  fs.rmSync(path.join(containersDir(root), id), { recursive: true, force: true });
}

export function listRecords(root: string, driver: 'overlay' | 'vfs'): ContainerRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(containersDir(root));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ContainerRecord[] = [];
  for (const n of names) {
    if (!ID_RE.test(n)) continue;
    try {
      const rec = JSON.parse(fs.readFileSync(recordFile(root, n), 'utf8')) as ContainerRecord;
      if (rec.driver === driver) out.push(rec);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return out;
}

/** Refuses when a container record names `layerId`. */
export function assertLayerUnused(root: string, driver: 'overlay' | 'vfs', layerId: string): void {
  for (const rec of listRecords(root, driver)) {
    if (rec.layers.includes(layerId)) throw new SnapshotterError(`layer ${layerId} is in use by container ${rec.id}`);
  }
}

// ---- mounts --------------------------------------------------------------------------------

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or below `dir` in our mount namespace. */
export function mountsUnder(dir: string): string[] {
  let base = path.resolve(dir);
  try {
    base = fs.realpathSync(base);
  } catch {
    /* gone: compare the plain path */
  }
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const p = unescapeMountPath(mp);
    if (p === base || p.startsWith(`${base}/`)) out.push(p);
  }
  return out;
}

/** rm -rf would walk into a mount and delete what is behind it: refuse instead. */
export function assertNothingMounted(dir: string): void {
  const m = mountsUnder(dir);
  if (m.length) throw new SnapshotterError(`refusing to remove ${dir}: something is mounted below it (${m.join(', ')})`);
}

// ---- the init layer ------------------------------------------------------------------------

export interface InitFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

type InitEntry =
  | { rel: string; kind: 'dir' }
  | { rel: string; kind: 'file'; mode: number; content: string }
  | { rel: string; kind: 'symlink'; target: string };

/** moby's initlayer, in creation order (parents first). */
export function initEntries(init: InitFiles): InitEntry[] {
  return [
    { rel: 'dev', kind: 'dir' },
    { rel: 'dev/pts', kind: 'dir' },
    { rel: 'dev/shm', kind: 'dir' },
    { rel: 'proc', kind: 'dir' },
    { rel: 'sys', kind: 'dir' },
    { rel: '.dockerenv', kind: 'file', mode: 0o755, content: '' },
    { rel: 'etc/resolv.conf', kind: 'file', mode: 0o644, content: init.resolvConf },
    { rel: 'etc/hosts', kind: 'file', mode: 0o644, content: init.hosts },
    { rel: 'etc/hostname', kind: 'file', mode: 0o644, content: init.hostname },
    { rel: 'dev/console', kind: 'file', mode: 0o755, content: '' },
    { rel: 'etc/mtab', kind: 'symlink', target: '/proc/mounts' },
  ];
}

export const INIT_PATHS: readonly string[] = initEntries({ hosts: '', hostname: '', resolvConf: '' }).map((e) => e.rel);

/** Every path `writeInitLayer` may look up in the image: the init entries and their parents. */
export function initLookupPaths(): string[] {
  const out = new Set<string>();
  for (const rel of INIT_PATHS) {
    const comps = rel.split('/');
    for (let i = 1; i <= comps.length; i++) out.add(comps.slice(0, i).join('/'));
  }
  return [...out];
}

export function checkInitFiles(init: InitFiles): void {
  for (const k of ['hosts', 'hostname', 'resolvConf'] as const) {
    if (typeof init?.[k] !== 'string') throw new SnapshotterError(`prepare: init.${k} must be a string`);
  }
}

function kindName(st: St): string {
  const t = typeOf(st);
  return t === 'file' ? 'regular file' : t === 'dir' ? 'directory' : t;
}

/**
 * Writes the init entries into `target`.
 *  - overlay: `target` is the empty init layer diff; `image` looks paths up in the image's merged
 *    view. Parents the image has are re-created with the image's owner, mode and times, so the
 *    init layer never changes how /etc or /dev look.
 *  - vfs: `target` is the container dir (a copy of the image) and `image` looks into it.
 * Never clobbers in a harmful way: a parent that is a symlink or a non-directory in the image
 * (/etc → somewhere) is not written through: the entry is skipped with a warning; a directory
 * where a file or symlink belongs is left alone (warning). A file or symlink where a file belongs
 * (/etc/resolv.conf → ../run/systemd/…) is replaced, not followed, as dockerd does; a stub
 * directory (/proc, /dev/pts…) replaces a non-directory, since something is mounted there.
 * Returns (vfs) the entries created or replaced, and the warnings.
 */
export function writeInitLayer(
  target: string,
  init: InitFiles,
  image: (rel: string) => St | undefined,
  mode: 'overlay' | 'vfs',
): { records: InitRecord[]; warnings: string[] } {
  const warnings: string[] = [];
  const touched: string[] = [];
  const restoreTimes = new Map<string, St>();

  const mkdirRoot = (rel: string): void => {
    const p = path.join(target, rel);
    fs.mkdirSync(p, { mode: 0o755 });
    fs.lchownSync(p, 0, 0);
    fs.chmodSync(p, 0o755);
    touched.push(rel);
  };

  for (const e of initEntries(init)) {
    const comps = e.rel.split('/');
    let ok = true;
    for (let i = 1; i < comps.length; i++) {
      const anc = comps.slice(0, i).join('/');
      const have = lookupNoFollow(target, anc);
      if (have?.isDirectory() && (mode === 'overlay' || touched.includes(anc))) continue;
      const ist = image(anc);
      if (!ist) {
        mkdirRoot(anc);
        continue;
      }
      if (!ist.isDirectory()) {
        warnings.push(`the image has /${anc} as a ${kindName(ist)}: /${e.rel} of the init layer is not created`);
        ok = false;
        break;
      }
      if (!restoreTimes.has(anc)) restoreTimes.set(anc, ist);
      if (mode === 'overlay') {
        // A shadow of the image's directory: same owner, mode and times.
        const p = path.join(target, anc);
        fs.mkdirSync(p);
        fs.lchownSync(p, Number(ist.uid), Number(ist.gid));
        fs.chmodSync(p, Number(ist.mode & 0o7777n));
      }
    }
    if (!ok) continue;
    const p = path.join(target, e.rel);
    const ist = image(e.rel);
    if (e.kind === 'dir') {
      if (ist?.isDirectory()) continue;
      if (ist && mode === 'vfs') fs.unlinkSync(p);
      mkdirRoot(e.rel);
      continue;
    }
    if (ist?.isDirectory()) {
      warnings.push(`the image has /${e.rel} as a directory: the init layer leaves it alone`);
      continue;
    }
    if (ist && mode === 'vfs') fs.unlinkSync(p); // the entry itself, never what a symlink points at
    if (e.kind === 'file') {
      const fd = fs.openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        fs.writeFileSync(fd, e.content);
        fs.fchownSync(fd, 0, 0);
        fs.fchmodSync(fd, e.mode);
      } finally {
        fs.closeSync(fd);
      }
    } else {
      fs.symlinkSync(e.target, p);
      fs.lchownSync(p, 0, 0);
    }
    touched.push(e.rel);
  }
  // Writing into the image's directories changed their times: put them back.
  for (const [rel, st] of restoreTimes) {
    fs.lutimesSync(path.join(target, rel), Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
  }
  const records: InitRecord[] = [];
  if (mode === 'vfs') {
    for (const rel of touched) {
      const abs = path.join(target, rel);
      const st = lookupNoFollow(target, rel);
      if (st) records.push({ path: rel, state: entryState(abs, st) });
    }
  }
  return { records, warnings };
}

/**
 * The pid of a process whose mount namespace has a mount matching `match` (a mountinfo line
 * split on spaces), one process per namespace looked at. A container's root is mounted only in
 * its own namespace, so this is how `remove` sees that the container still runs.
 */
export function mountedInSomeNamespace(match: (fields: string[]) => boolean): number | undefined {
  // Not our own namespace: a container's root is mounted only in the container's (by the
  // runtime), and what is below a layer dir here is assertNothingMounted's to find. It is also
  // the biggest mountinfo to read.
  const seen = new Set<string>([fs.readlinkSync('/proc/self/ns/mnt')]);
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let text: string;
    try {
      const ns = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      text = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    for (const line of text.split('\n')) if (line && match(line.split(' '))) return Number(pid);
  }
  return undefined;
}

export function stillMounted(id: string, pid: number): SnapshotterError {
  return new SnapshotterError(`container ${id}: its root filesystem is still mounted in the mount namespace of process ${pid} (stop and delete the container first)`);
}
