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
import { constants as C, promises as fsp } from 'node:fs';
import * as path from 'node:path';
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

/** Claims `rec.id` (fails if taken) and writes the record. */
export async function claimContainer(root: string, rec: ContainerRecord): Promise<void> {
  await fsp.mkdir(containersDir(root), { recursive: true, mode: 0o700 });
  try {
    await fsp.mkdir(path.join(containersDir(root), rec.id), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SnapshotterError(`container ${rec.id} already has a root filesystem (remove it first)`);
    throw e;
  }
  await writeRecord(root, rec);
}

export async function writeRecord(root: string, rec: ContainerRecord): Promise<void> {
  const file = recordFile(root, rec.id);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(rec));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

export async function readRecord(root: string, id: string, driver: 'overlay' | 'vfs'): Promise<ContainerRecord> {
  checkContainerId(id);
  let text: string;
  try {
    text = await fsp.readFile(recordFile(root, id), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotterError(`no such container: ${id} (the ${driver} snapshotter at ${root} has no root filesystem for it)`);
    throw e;
  }
  const rec = JSON.parse(text) as ContainerRecord;
  if (rec.driver !== driver) throw new SnapshotterError(`container ${id} was prepared by the ${rec.driver} snapshotter, not ${driver}`);
  if (!/^[a-f0-9]{64}$/.test(rec.mountId)) throw new SnapshotterError(`container ${id}: corrupt record (mount id)`);
  return rec;
}

export async function dropRecord(root: string, id: string): Promise<void> {
  await fsp.rm(path.join(containersDir(root), id), { recursive: true, force: true });
}

export async function listRecords(root: string, driver: 'overlay' | 'vfs'): Promise<ContainerRecord[]> {
  let names: string[];
  try {
    names = await fsp.readdir(containersDir(root));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ContainerRecord[] = [];
  for (const n of names) {
    if (!ID_RE.test(n)) continue;
    try {
      const rec = JSON.parse(await fsp.readFile(recordFile(root, n), 'utf8')) as ContainerRecord;
      if (rec.driver === driver) out.push(rec);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return out;
}

/** Refuses when a container record names `layerId`. */
export async function assertLayerUnused(root: string, driver: 'overlay' | 'vfs', layerId: string): Promise<void> {
  for (const rec of await listRecords(root, driver)) {
    if (rec.layers.includes(layerId)) throw new SnapshotterError(`layer ${layerId} is in use by container ${rec.id}`);
  }
}

// ---- mounts --------------------------------------------------------------------------------

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or below `dir` in our mount namespace. */
export async function mountsUnder(dir: string): Promise<string[]> {
  let base = path.resolve(dir);
  try {
    base = await fsp.realpath(base);
  } catch {
    /* gone: compare the plain path */
  }
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
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
export async function assertNothingMounted(dir: string): Promise<void> {
  const m = await mountsUnder(dir);
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
export async function writeInitLayer(
  target: string,
  init: InitFiles,
  image: (rel: string) => Promise<St | undefined>,
  mode: 'overlay' | 'vfs',
): Promise<{ records: InitRecord[]; warnings: string[] }> {
  const warnings: string[] = [];
  const touched: string[] = [];
  const restoreTimes = new Map<string, St>();

  const mkdirRoot = async (rel: string): Promise<void> => {
    const p = path.join(target, rel);
    await fsp.mkdir(p, { mode: 0o755 });
    await fsp.lchown(p, 0, 0);
    await fsp.chmod(p, 0o755);
    touched.push(rel);
  };

  for (const e of initEntries(init)) {
    const comps = e.rel.split('/');
    let ok = true;
    for (let i = 1; i < comps.length; i++) {
      const anc = comps.slice(0, i).join('/');
      const have = await lookupNoFollow(target, anc);
      if (have?.isDirectory() && (mode === 'overlay' || touched.includes(anc))) continue;
      const ist = await image(anc);
      if (!ist) {
        await mkdirRoot(anc);
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
        await fsp.mkdir(p);
        await fsp.lchown(p, Number(ist.uid), Number(ist.gid));
        await fsp.chmod(p, Number(ist.mode & 0o7777n));
      }
    }
    if (!ok) continue;
    const p = path.join(target, e.rel);
    const ist = await image(e.rel);
    if (e.kind === 'dir') {
      if (ist?.isDirectory()) continue;
      if (ist && mode === 'vfs') await fsp.unlink(p);
      await mkdirRoot(e.rel);
      continue;
    }
    if (ist?.isDirectory()) {
      warnings.push(`the image has /${e.rel} as a directory: the init layer leaves it alone`);
      continue;
    }
    if (ist && mode === 'vfs') await fsp.unlink(p); // the entry itself, never what a symlink points at
    if (e.kind === 'file') {
      const fh = await fsp.open(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        await fh.writeFile(e.content);
        await fh.chown(0, 0);
        await fh.chmod(e.mode);
      } finally {
        await fh.close();
      }
    } else {
      await fsp.symlink(e.target, p);
      await fsp.lchown(p, 0, 0);
    }
    touched.push(e.rel);
  }
  // Writing into the image's directories changed their times: put them back.
  for (const [rel, st] of restoreTimes) {
    await fsp.lutimes(path.join(target, rel), Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
  }
  const records: InitRecord[] = [];
  if (mode === 'vfs') {
    for (const rel of touched) {
      const abs = path.join(target, rel);
      const st = await lookupNoFollow(target, rel);
      if (st) records.push({ path: rel, state: await entryState(abs, st) });
    }
  }
  return { records, warnings };
}

/**
 * The pid of a process whose mount namespace has a mount matching `match` (a mountinfo line
 * split on spaces), one process per namespace looked at. A container's root is mounted only in
 * its own namespace, so this is how `remove` sees that the container still runs.
 */
export async function mountedInSomeNamespace(match: (fields: string[]) => boolean): Promise<number | undefined> {
  const seen = new Set<string>();
  for (const pid of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let text: string;
    try {
      const ns = await fsp.readlink(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      text = await fsp.readFile(`/proc/${pid}/mountinfo`, 'utf8');
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
