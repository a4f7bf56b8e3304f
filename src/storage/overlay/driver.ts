/**
 * The overlay snapshotter, on moby overlay2's layout (`./layout.ts`):
 *
 *   overlay/<chain id hex>/{diff,link,lower,work,committed}   image layers (./unpack.ts)
 *   overlay/<mount id>-init/{diff,link,lower,work}             the container's init layer
 *   overlay/<mount id>/{diff,link,lower,work,merged}          its writable layer; merged is the
 *                                                            (empty, on the host) mount point
 *
 * Nothing is mounted here: the runtime mounts `lowerdir=<init>:<image top…bottom>,upperdir=
 * <mount id>/diff,workdir=<mount id>/work` on `merged` inside the container's mount namespace
 * (annotation org.berth.rootfs.overlay). Diffs and exports read the directories, with opaque
 * markers read by the stage (`readLayerXattrs`).
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { ContentStore } from '../../image/content/store';
import type { ImageConfig, ImageManifest } from '../../image/oci-types';
import { ROOTFS_OVERLAY_ANNOTATION, type OverlayRootfsSpec } from '../../runtime/plan/overlay-rootfs';
import {
  assertLayerUnused,
  assertNothingMounted,
  checkContainerId,
  checkImageLayerId,
  checkInitFiles,
  claimContainer,
  dropRecord,
  initLookupPaths,
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
import type { ContainerRootfs, Snapshotter } from '../snapshotter';
import { changesToTar, dirSize, LayeredView, opaqueDirs, overlayChanges, viewToTar, type Change, type St, type ViewLayer } from '../tree';
import { createLayerDir, diffDir, layerDir, overlayDir, purgeTrash, readLower, readShortLink, removeLayer } from './layout';
import { COMMITTED_MARKER, committedLayerSize, isLayerCommitted, unpackImage } from './unpack';

export class OverlaySnapshotter implements Snapshotter {
  readonly driver = 'overlay' as const;
  /** Opaque directories of immutable layers (image layers, init layers), by layer id. */
  private readonly opaqueCache = new Map<string, Promise<Set<string>>>();
  /** What an image (its layers, top first, joined by ':') has at the init layer's paths. */
  private readonly initViewCache = new Map<string, Promise<Map<string, St | undefined>>>();

  constructor(
    readonly root: string,
    readonly reason: string,
  ) {
    void purgeTrash(root); // what a crash left on its way out
  }

  unpack(store: ContentStore, manifest: ImageManifest, config: ImageConfig): Promise<string[]> {
    return unpackImage(store, this.root, manifest, config);
  }

  private immutableLayer(id: string): Promise<ViewLayer> {
    let op = this.opaqueCache.get(id);
    if (!op) {
      op = opaqueDirs(diffDir(this.root, id));
      op.catch(() => this.opaqueCache.delete(id));
      this.opaqueCache.set(id, op);
    }
    return op.then((opaque) => ({ dir: diffDir(this.root, id), opaque }));
  }

  private async checkLayers(layerIds: string[]): Promise<void> {
    if (!Array.isArray(layerIds)) throw new SnapshotterError('prepare: layerIds must be an array');
    for (const id of layerIds) {
      checkImageLayerId(id);
      if (!(await isLayerCommitted(this.root, id))) throw new SnapshotterError(`layer ${id} is not unpacked in the overlay snapshotter at ${this.root}`);
    }
  }

  /**
   * The image's entries at the init layer's paths and their parents, looked up once per image
   * (its layers never change) so that preparing a container is a few synchronous writes.
   */
  private initView(topFirst: string[]): Promise<Map<string, St | undefined>> {
    const key = topFirst.join(':');
    let view = this.initViewCache.get(key);
    if (!view) {
      view = (async () => {
        const out = new Map<string, St | undefined>();
        if (!topFirst.length) return out;
        const image = new LayeredView(await Promise.all(topFirst.map((l) => this.immutableLayer(l))));
        for (const rel of initLookupPaths()) out.set(rel, (await image.lookup(rel))?.st);
        return out;
      })();
      view.catch(() => this.initViewCache.delete(key));
      this.initViewCache.set(key, view);
    }
    return view;
  }

  async prepare(containerId: string, layerIds: string[], init: InitFiles): Promise<ContainerRootfs> {
    checkContainerId(containerId);
    checkInitFiles(init);
    await this.checkLayers(layerIds);
    const rec: ContainerRecord = {
      id: containerId,
      driver: 'overlay',
      mountId: newMountId(),
      layers: [...layerIds],
      state: 'preparing',
      created: new Date().toISOString(),
    };
    const topFirst = [...layerIds].reverse();
    const imageView = await this.initView(topFirst);
    claimContainer(this.root, rec);
    const initId = `${rec.mountId}-init`;
    try {
      createLayerDir(this.root, initId, topFirst);
      const { warnings } = writeInitLayer(diffDir(this.root, initId), init, (rel) => imageView.get(rel), 'overlay');
      createLayerDir(this.root, rec.mountId, [initId, ...topFirst]);
      fs.mkdirSync(path.join(layerDir(this.root, rec.mountId), 'merged'), { mode: 0o700 });
      rec.state = 'ready';
      rec.warnings = warnings;
      writeRecord(this.root, rec);
      return this.rootfsOf(rec);
    } catch (e) {
      for (const undo of [() => removeLayer(this.root, rec.mountId), () => removeLayer(this.root, initId), () => dropRecord(this.root, containerId)]) {
        try {
          undo();
        } catch {
          /* the first error is the one to report */
        }
      }
      throw e;
    }
  }

  private rootfsOf(rec: ContainerRecord): ContainerRootfs {
    const lower = readLower(this.root, rec.mountId).split(':');
    const overlay: OverlayRootfsSpec = { base: overlayDir(this.root), lower, upper: `${rec.mountId}/diff`, work: `${rec.mountId}/work` };
    return {
      driver: 'overlay',
      path: path.join(layerDir(this.root, rec.mountId), 'merged'),
      overlay,
      annotations: { [ROOTFS_OVERLAY_ANNOTATION]: JSON.stringify(overlay) },
      warnings: rec.warnings ?? [],
    };
  }

  private async ready(containerId: string): Promise<ContainerRecord> {
    const rec = readRecord(this.root, containerId, 'overlay');
    if (rec.state !== 'ready') throw new SnapshotterError(`container ${containerId}: its root filesystem is still being prepared (or preparing it failed)`);
    return rec;
  }

  async rootfs(containerId: string): Promise<ContainerRootfs> {
    return this.rootfsOf(await this.ready(containerId));
  }

  /** The image plus the init layer, top first. */
  private async below(rec: ContainerRecord): Promise<ViewLayer[]> {
    return Promise.all([`${rec.mountId}-init`, ...[...rec.layers].reverse()].map((l) => this.immutableLayer(l)));
  }

  async changes(containerId: string): Promise<Change[]> {
    const rec = await this.ready(containerId);
    const upper = diffDir(this.root, rec.mountId);
    return overlayChanges(upper, await opaqueDirs(upper), new LayeredView(await this.below(rec)));
  }

  async diffTar(containerId: string): Promise<Readable> {
    const rec = await this.ready(containerId);
    return changesToTar(diffDir(this.root, rec.mountId), await this.changes(containerId));
  }

  async exportTar(containerId: string): Promise<Readable> {
    const rec = await this.ready(containerId);
    const upper = diffDir(this.root, rec.mountId);
    return viewToTar(new LayeredView([{ dir: upper, opaque: await opaqueDirs(upper) }, ...(await this.below(rec))]));
  }

  async usage(containerId: string): Promise<number> {
    const rec = await this.ready(containerId);
    return dirSize(diffDir(this.root, rec.mountId));
  }

  async remove(containerId: string): Promise<void> {
    const rec = readRecord(this.root, containerId, 'overlay');
    const initId = `${rec.mountId}-init`;
    const opt = `upperdir=${rec.mountId}/diff`;
    const pid = mountedInSomeNamespace((f) => f.includes('overlay') && (f[f.length - 1] ?? '').split(',').includes(opt));
    if (pid !== undefined) throw stillMounted(containerId, pid);
    assertNothingMounted(layerDir(this.root, rec.mountId));
    assertNothingMounted(layerDir(this.root, initId));
    removeLayer(this.root, rec.mountId);
    removeLayer(this.root, initId);
    this.opaqueCache.delete(initId);
    dropRecord(this.root, containerId);
  }

  async layerSize(layerId: string): Promise<number | undefined> {
    checkImageLayerId(layerId);
    return committedLayerSize(this.root, layerId);
  }

  async listLayers(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(overlayDir(this.root));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: string[] = [];
    for (const n of names.sort()) {
      if (/^[a-f0-9]{64}$/.test(n) && (await isLayerCommitted(this.root, n))) out.push(n);
    }
    return out;
  }

  async removeLayer(layerId: string): Promise<boolean> {
    checkImageLayerId(layerId);
    const dir = layerDir(this.root, layerId);
    if (!(await fsp.lstat(dir).catch(() => undefined))) return false;
    if (!(await isLayerCommitted(this.root, layerId))) throw new SnapshotterError(`${layerId} is not an image layer (no ${COMMITTED_MARKER} marker)`);
    assertLayerUnused(this.root, 'overlay', layerId);
    const link = `l/${readShortLink(this.root, layerId)}`;
    for (const n of await fsp.readdir(overlayDir(this.root))) {
      if (n === 'l' || n === layerId) continue;
      let lower = '';
      try {
        lower = readLower(this.root, n);
      } catch {
        continue;
      }
      if (lower.split(':').includes(link)) throw new SnapshotterError(`layer ${layerId} is a parent of ${n}; remove that first`);
    }
    assertNothingMounted(dir);
    removeLayer(this.root, layerId);
    this.opaqueCache.delete(layerId);
    for (const key of this.initViewCache.keys()) if (key.split(':').includes(layerId)) this.initViewCache.delete(key);
    return true;
  }
}
