/**
 * The storage snapshotters: image layers unpacked from the content store, and per container an
 * init layer (moby's initlayer: /etc/hosts, /etc/hostname, /etc/resolv.conf, /.dockerenv, the
 * /dev /proc /sys stubs, /etc/mtab) and a writable layer.
 *
 *  - overlay (`./overlay/driver.ts`): moby's overlay2 layout under `<root>/overlay`; the
 *    container's root is NOT mounted here: `prepare` returns the directories and the annotation
 *    `org.berth.rootfs.overlay`, and berth-runtime mounts the overlay inside the container's own
 *    mount namespace, so no host mount exists that could leak.
 *  - vfs (`./vfs/driver.ts`): every layer a full copy (`cp -a`) of its parent with the layer
 *    applied; works on any filesystem, costs space and time.
 *
 * Diffs (`changes`, `diffTar`), exports and sizes are computed in TypeScript from the layer
 * directories (see `./tree.ts`), never through a mount.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { ContentStore } from '../image/content/store';
import type { ImageConfig, ImageManifest } from '../image/oci-types';
import { probeOverlayMount } from '../kernel/host-ops';
import type { OverlayRootfsSpec } from '../runtime/plan/overlay-rootfs';
import { mountsUnder, SnapshotterError, type InitFiles } from './common';
import { OverlaySnapshotter } from './overlay/driver';
import { isWhiteout, lstatOrUndef, type Change } from './tree';
import { VfsSnapshotter } from './vfs/driver';

export { SnapshotterError, type InitFiles } from './common';
export { ChangeKind, type Change } from './tree';
export { ROOTFS_OVERLAY_ANNOTATION, type OverlayRootfsSpec } from '../runtime/plan/overlay-rootfs';

export type DriverName = 'overlay' | 'vfs';

/** How the runtime gets the container's root. */
export type ContainerRootfs =
  | {
      driver: 'vfs';
      /** a plain directory: the spec's root.path */
      path: string;
      annotations: Record<string, string>;
      /** what the init layer could not do (an image with /etc as a symlink…) */
      warnings: string[];
    }
  | {
      driver: 'overlay';
      /** the (empty) mount point: the spec's root.path */
      path: string;
      /** what the runtime mounts there, inside the container's mount namespace */
      overlay: OverlayRootfsSpec;
      /** `{"org.berth.rootfs.overlay": JSON of overlay}`: add to the spec's annotations */
      annotations: Record<string, string>;
      warnings: string[];
    };

export interface Snapshotter {
  readonly driver: DriverName;
  /** The storage root given to openSnapshotter. */
  readonly root: string;
  /** Why this driver (for `auto`: what the probe found). */
  readonly reason: string;
  /**
   * Unpacks the image's layers (verified against config.rootfs.diff_ids) unless present.
   * Idempotent; concurrent calls for the same layers are safe. Returns the layer ids (chain id
   * hex), bottom first.
   */
  unpack(store: ContentStore, manifest: ImageManifest, config: ImageConfig): Promise<string[]>;
  /** Creates the container's init and writable layers over `layerIds` (bottom first; may be empty). */
  prepare(containerId: string, layerIds: string[], init: InitFiles): Promise<ContainerRootfs>;
  /** The root of a prepared container (as `prepare` returned it). */
  rootfs(containerId: string): Promise<ContainerRootfs>;
  /** `docker diff`: the writable layer against the image plus the init layer. */
  changes(containerId: string): Promise<Change[]>;
  /** The writable layer as a layer tar (for commit): whiteouts for deletions, no init-layer files. */
  diffTar(containerId: string): Promise<Readable>;
  /** The container's merged filesystem as a tar (`docker export`), whiteouts applied. */
  exportTar(containerId: string): Promise<Readable>;
  /** Bytes in the writable layer (`docker ps -s`). */
  usage(containerId: string): Promise<number>;
  /** Removes the container's layers and record (its root must no longer be in use). */
  remove(containerId: string): Promise<void>;
  /** An image layer's own bytes, recorded at unpack (undefined when not known). */
  layerSize(layerId: string): Promise<number | undefined>;
  /** Image layers present (committed), for garbage collection by the image service. */
  listLayers(): Promise<string[]>;
  /** Removes an image layer; refuses while a container or another layer needs it. False when absent. */
  removeLayer(layerId: string): Promise<boolean>;
}

export interface ProbeResult {
  ok: boolean;
  reason: string;
}

/**
 * Can `root`'s filesystem be an overlay upper/work dir under this kernel? Asks the kernel for
 * real: a tiny overlay is mounted in a throwaway mount namespace of a stage of its own (never in
 * ours or the host's), a lower file deleted and a file created through it, then the upper dir is
 * checked for the whiteout and the new file. Leaves nothing behind.
 */
export async function probeOverlay(root: string): Promise<ProbeResult> {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'overlay needs root (CAP_SYS_ADMIN) to mount; not running as root' };
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  const dir = path.join(root, `probe-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(dir, { mode: 0o700 });
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await fsp.mkdir(path.join(dir, d));
    await fsp.writeFile(path.join(dir, 'lower', 'f'), 'probe');
    try {
      await probeOverlayMount(dir);
    } catch (e) {
      return { ok: false, reason: `overlay cannot be mounted with ${root} as the upper filesystem: ${(e as Error).message}` };
    }
    const wh = await lstatOrUndef(path.join(dir, 'upper', 'f'));
    if (!wh || !isWhiteout(wh)) return { ok: false, reason: `overlay on ${root} did not record a deletion as a whiteout` };
    if (!(await lstatOrUndef(path.join(dir, 'upper', 'n')))?.isFile()) return { ok: false, reason: `overlay on ${root} did not write to its upper dir` };
    return { ok: true, reason: `the kernel mounted a test overlay on ${root} (whiteouts and copy-up work)` };
  } finally {
    // The probe's namespace died with its stage; still, never rm -rf through a mount.
    if ((await mountsUnder(dir)).length === 0) await fsp.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The snapshotter for `root` (created if missing). `auto` takes overlay when `probeOverlay`
 * succeeds, else vfs; `reason` says why. An explicit `overlay` is not probed.
 */
export async function openSnapshotter(root: string, driver: DriverName | 'auto'): Promise<Snapshotter> {
  if (!path.isAbsolute(root)) throw new SnapshotterError(`storage root must be an absolute path (got ${JSON.stringify(root)})`);
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  switch (driver) {
    case 'overlay':
      return new OverlaySnapshotter(root, 'requested');
    case 'vfs':
      return new VfsSnapshotter(root, 'requested');
    case 'auto': {
      const p = await probeOverlay(root);
      return p.ok ? new OverlaySnapshotter(root, p.reason) : new VfsSnapshotter(root, `falling back to vfs: ${p.reason}`);
    }
    default:
      throw new SnapshotterError(`unknown storage driver ${JSON.stringify(driver)} (overlay, vfs or auto)`);
  }
}
