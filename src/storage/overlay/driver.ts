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
import { changesToTar, dirSize, LayeredView, opaqueDirs, overlayChanges, viewToTar, type Change, type ViewLayer } from '../tree';
import { createLayerDir, diffDir, layerDir, overlayDir, readLower, readShortLink, removeLayer } from './layout';
import { COMMITTED_MARKER, isLayerCommitted, unpackImage } from './unpack';

export class OverlaySnapshotter implements Snapshotter {
  readonly driver = 'overlay' as const;
  /** Opaque directories of immutable layers (image layers, init layers), by layer id. */
  private readonly opaqueCache = new Map<string, Promise<Set<string>>>();

  constructor(
    readonly root: string,
    readonly reason: string,
  ) {}

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
    await claimContainer(this.root, rec);
    const initId = `${rec.mountId}-init`;
    try {
      const topFirst = [...layerIds].reverse();
      await createLayerDir(this.root, initId, topFirst);
      const image = topFirst.length ? new LayeredView(await Promise.all(topFirst.map((l) => this.immutableLayer(l)))) : undefined;
      const { warnings } = await writeInitLayer(diffDir(this.root, initId), init, async (rel) => (await image?.lookup(rel))?.st, 'overlay');
      await createLayerDir(this.root, rec.mountId, [initId, ...topFirst]);
      await fsp.mkdir(path.join(layerDir(this.root, rec.mountId), 'merged'), { mode: 0o700 });
      rec.state = 'ready';
      rec.warnings = warnings;
      await writeRecord(this.root, rec);
      return await this.rootfsOf(rec);
    } catch (e) {
      await removeLayer(this.root, rec.mountId).catch(() => undefined);
      await removeLayer(this.root, initId).catch(() => undefined);
      await dropRecord(this.root, containerId).catch(() => undefined);
      throw e;
    }
  }

  private async rootfsOf(rec: ContainerRecord): Promise<ContainerRootfs> {
    const lower = (await readLower(this.root, rec.mountId)).split(':');
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
    const rec = await readRecord(this.root, containerId, 'overlay');
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
    const rec = await readRecord(this.root, containerId, 'overlay');
    const initId = `${rec.mountId}-init`;
    const opt = `upperdir=${rec.mountId}/diff`;
    const pid = await mountedInSomeNamespace((f) => f.includes('overlay') && (f[f.length - 1] ?? '').split(',').includes(opt));
    if (pid !== undefined) throw stillMounted(containerId, pid);
    await assertNothingMounted(layerDir(this.root, rec.mountId));
    await assertNothingMounted(layerDir(this.root, initId));
    await removeLayer(this.root, rec.mountId);
    await removeLayer(this.root, initId);
    this.opaqueCache.delete(initId);
    await dropRecord(this.root, containerId);
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
    await assertLayerUnused(this.root, 'overlay', layerId);
    const link = `l/${await readShortLink(this.root, layerId)}`;
    for (const n of await fsp.readdir(overlayDir(this.root))) {
      if (n === 'l' || n === layerId) continue;
      let lower = '';
      try {
        lower = await readLower(this.root, n);
      } catch {
        continue;
      }
      if (lower.split(':').includes(link)) throw new SnapshotterError(`layer ${layerId} is a parent of ${n}; remove that first`);
    }
    await assertNothingMounted(dir);
    await removeLayer(this.root, layerId);
    this.opaqueCache.delete(layerId);
    return true;
  }
}
