/**
 * The vfs snapshotter: no union filesystem, every layer a full directory.
 *
 *   vfs/dir/<chain id hex>   an image layer: a copy of its parent with the layer tar applied
 *                            (whiteouts become deletions, opaque dirs are cleared); committed by
 *                            renaming a finished temp dir into place (one rename wins a race)
 *   vfs/rw/<mount id>        a container's root: a copy of the top layer plus the init entries
 *   vfs/tmp/                 layers being unpacked
 *
 * Copies are `cp -a` (GNU coreutils): owners, modes, times, xattrs where the filesystem allows,
 * device nodes, fifos, hard links, symlinks as links (never followed); reflinks where the
 * filesystem can. Diffs are naive, as Docker's vfs driver does them: the container dir compared
 * with the image's top layer (plus what the init layer wrote) by type, mode, owner, rdev, size,
 * mtime and symlink target.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { ContentStore } from '../../image/content/store';
import { parseDigest, type Digest } from '../../image/digest';
import type { ImageConfig, ImageManifest } from '../../image/oci-types';
import { applyLayerMeta } from '../../kernel/host-ops';
import {
  assertLayerUnused,
  assertNothingMounted,
  checkContainerId,
  checkImageLayerId,
  checkInitFiles,
  claimContainer,
  dropRecord,
  mountedInSomeNamespace,
  newMountId,
  readRecord,
  SnapshotterError,
  stillMounted,
  writeInitLayer,
  writeRecord,
  type ContainerRecord,
  type InitFiles,
} from '../common';
import { chainIds, extractVerified, UnpackError } from '../overlay/unpack';
import type { ContainerRootfs, Snapshotter } from '../snapshotter';
import {
  ChangeKind,
  changesToTar,
  dirToTar,
  entryState,
  lookupNoFollow,
  naiveChanges,
  under,
  type BaseTree,
  type Change,
  type EntryState,
} from '../tree';

const execFileP = promisify(execFile);

/** `cp -a` of directory `src` to the new path `dst`. */
export async function copyTree(src: string, dst: string): Promise<void> {
  try {
    await execFileP('cp', ['-a', '--no-target-directory', '--', src, dst], { maxBuffer: 1 << 20 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new SnapshotterError(`copying ${src} to ${dst}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

export class VfsSnapshotter implements Snapshotter {
  readonly driver = 'vfs' as const;

  constructor(
    readonly root: string,
    readonly reason: string,
  ) {}

  private get base(): string {
    return path.join(this.root, 'vfs');
  }
  layerPath(id: string): string {
    checkImageLayerId(id);
    return path.join(this.base, 'dir', id);
  }
  private sizePath(id: string): string {
    checkImageLayerId(id);
    return path.join(this.base, 'size', id);
  }

  async layerSize(layerId: string): Promise<number | undefined> {
    const n = Number(await fsp.readFile(this.sizePath(layerId), 'utf8').catch(() => ''));
    return Number.isInteger(n) && n >= 0 && (await this.exists(this.layerPath(layerId))) ? n : undefined;
  }
  private rwPath(mountId: string): string {
    return path.join(this.base, 'rw', mountId);
  }

  private async exists(p: string): Promise<boolean> {
    return !!(await fsp.lstat(p).catch(() => undefined));
  }

  async unpack(store: ContentStore, manifest: ImageManifest, config: ImageConfig): Promise<string[]> {
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new UnpackError(`manifest has ${manifest.layers.length} layers but config has ${diffIds.length} diff_ids`);
    }
    const ids = chainIds(diffIds).map((d) => d.slice(d.indexOf(':') + 1));
    for (const d of ['dir', 'rw', 'tmp']) await fsp.mkdir(path.join(this.base, d), { recursive: true, mode: 0o700 });
    for (let i = 0; i < ids.length; i++) {
      if (await this.exists(this.layerPath(ids[i]!))) continue;
      await this.unpackLayer(store, ids[i]!, i > 0 ? ids[i - 1] : undefined, parseDigest(manifest.layers[i]!.digest), parseDigest(diffIds[i]!));
    }
    return ids;
  }

  private async unpackLayer(store: ContentStore, id: string, parent: string | undefined, blob: Digest, diffId: Digest): Promise<void> {
    const tmp = path.join(this.base, 'tmp', `${id}-${randomBytes(8).toString('hex')}`);
    try {
      if (parent) {
        await copyTree(this.layerPath(parent), tmp);
      } else {
        await fsp.mkdir(tmp, { mode: 0o755 });
        await fsp.chmod(tmp, 0o755);
      }
      const meta = await extractVerified(store, blob, diffId, tmp, 'delete');
      await applyLayerMeta(tmp, meta);
      // The layer dir is the whole tree: its size (Docker's, the layer's own bytes) lives beside.
      await fsp.mkdir(path.join(this.base, 'size'), { recursive: true, mode: 0o700 });
      await fsp.writeFile(this.sizePath(id), String(meta.bytes));
      try {
        await fsp.rename(tmp, this.layerPath(id));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        // Another unpack of the same layer won.
        await fsp.rm(tmp, { recursive: true, force: true });
      }
    } catch (e) {
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }

  async prepare(containerId: string, layerIds: string[], init: InitFiles): Promise<ContainerRootfs> {
    checkContainerId(containerId);
    checkInitFiles(init);
    if (!Array.isArray(layerIds)) throw new SnapshotterError('prepare: layerIds must be an array');
    for (const id of layerIds) {
      if (!(await this.exists(this.layerPath(id)))) throw new SnapshotterError(`layer ${id} is not unpacked in the vfs snapshotter at ${this.root}`);
    }
    const rec: ContainerRecord = {
      id: containerId,
      driver: 'vfs',
      mountId: newMountId(),
      layers: [...layerIds],
      state: 'preparing',
      created: new Date().toISOString(),
    };
    claimContainer(this.root, rec);
    const rw = this.rwPath(rec.mountId);
    try {
      await fsp.mkdir(path.dirname(rw), { recursive: true, mode: 0o700 });
      const top = layerIds[layerIds.length - 1];
      if (top) {
        await copyTree(this.layerPath(top), rw);
      } else {
        await fsp.mkdir(rw, { mode: 0o755 });
        await fsp.chmod(rw, 0o755);
      }
      const { records, warnings } = writeInitLayer(rw, init, (rel) => lookupNoFollow(rw, rel), 'vfs');
      rec.state = 'ready';
      rec.init = records;
      rec.warnings = warnings;
      writeRecord(this.root, rec);
      return this.rootfsOf(rec);
    } catch (e) {
      try {
        assertNothingMounted(rw);
        await fsp.rm(rw, { recursive: true, force: true }).catch(() => undefined);
        dropRecord(this.root, containerId);
      } catch {
        /* the first error is the one to report */
      }
      throw e;
    }
  }

  private rootfsOf(rec: ContainerRecord): ContainerRootfs {
    return { driver: 'vfs', path: this.rwPath(rec.mountId), annotations: {}, warnings: rec.warnings ?? [] };
  }

  private async ready(containerId: string): Promise<ContainerRecord> {
    const rec = readRecord(this.root, containerId, 'vfs');
    if (rec.state !== 'ready') throw new SnapshotterError(`container ${containerId}: its root filesystem is still being prepared (or preparing it failed)`);
    return rec;
  }

  async rootfs(containerId: string): Promise<ContainerRootfs> {
    return this.rootfsOf(await this.ready(containerId));
  }

  /** The image's top layer with the init entries over it. */
  private baseTree(rec: ContainerRecord): BaseTree {
    const topId = rec.layers[rec.layers.length - 1];
    const top = topId ? this.layerPath(topId) : undefined;
    const init = new Map<string, EntryState>((rec.init ?? []).map((r) => [r.path, r.state]));
    return {
      async state(rel) {
        const s = init.get(rel);
        if (s) return s;
        if (!top) return undefined;
        const st = lookupNoFollow(top, rel);
        return st ? entryState(under(top, rel), st) : undefined;
      },
      async names(rel) {
        const out = new Set<string>();
        const s = init.get(rel);
        const st = top ? lookupNoFollow(top, rel) : undefined;
        // A directory the init layer put where the image has something else holds only its own.
        if (top && st?.isDirectory() && (!s || s.type === 'dir')) for (const n of await fsp.readdir(under(top, rel))) out.add(n);
        for (const p of init.keys()) if (path.posix.dirname(p) === (rel === '' ? '.' : rel)) out.add(path.posix.basename(p));
        return [...out].sort();
      },
    };
  }

  async changes(containerId: string): Promise<Change[]> {
    const rec = await this.ready(containerId);
    return naiveChanges(this.rwPath(rec.mountId), this.baseTree(rec));
  }

  async diffTar(containerId: string): Promise<Readable> {
    const rec = await this.ready(containerId);
    return changesToTar(this.rwPath(rec.mountId), await this.changes(containerId));
  }

  async exportTar(containerId: string): Promise<Readable> {
    const rec = await this.ready(containerId);
    return dirToTar(this.rwPath(rec.mountId));
  }

  async usage(containerId: string): Promise<number> {
    const rec = await this.ready(containerId);
    const rw = this.rwPath(rec.mountId);
    let total = 0;
    const seen = new Set<string>();
    for (const c of await this.changes(containerId)) {
      if (c.Kind === ChangeKind.Deleted) continue;
      const st = lookupNoFollow(rw, c.Path.slice(1));
      if (!st || st.isDirectory()) continue;
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += Number(st.size);
    }
    return total;
  }

  async remove(containerId: string): Promise<void> {
    const rec = readRecord(this.root, containerId, 'vfs');
    const rw = this.rwPath(rec.mountId);
    const real = await fsp.realpath(rw).catch(() => rw);
    const pid = mountedInSomeNamespace((f) => f[3] === real || (f[3] ?? '').startsWith(`${real}/`));
    if (pid !== undefined) throw stillMounted(containerId, pid);
    assertNothingMounted(rw);
    await fsp.rm(rw, { recursive: true, force: true });
    dropRecord(this.root, containerId);
  }

  async listLayers(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(path.join(this.base, 'dir'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).sort();
  }

  async removeLayer(layerId: string): Promise<boolean> {
    const dir = this.layerPath(layerId);
    if (!(await this.exists(dir))) return false;
    assertLayerUnused(this.root, 'vfs', layerId);
    assertNothingMounted(dir);
    // Out of the way first (one rename), then deleted: never a half-removed layer under its name.
    const doomed = path.join(this.base, 'tmp', `rm-${layerId}-${randomBytes(4).toString('hex')}`);
    await fsp.rename(dir, doomed);
    await fsp.rm(this.sizePath(layerId), { force: true });
    await fsp.rm(doomed, { recursive: true, force: true });
    return true;
  }
}
