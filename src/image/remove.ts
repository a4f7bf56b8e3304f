/**
 * Removing images (`docker rmi`, `docker image prune`) and collecting what nothing references
 * any more: blobs no image record reaches, unpacked layers no image or container uses.
 * Docker's rules (moby daemon/images/image_delete.go): removing a name only untags while other
 * names remain; a container keeps its image (a running one even against --force); an ID with
 * several repositories needs --force.
 */
import { promises as fsp } from 'node:fs';
import { referencedBlobs } from './content/refs';
import { parseDigest, type Digest } from './digest';
import { parseDockerRef, parseNormalizedNamed } from './reference';
import { chainIds } from '../storage/overlay/unpack';
import { ImageConflictError, type Image, type ImageService } from './service';

/** A container that uses an image. */
export interface ImageUser {
  containerId: string;
  running: boolean;
}

export interface ImageUsage {
  /** Containers per image ID. */
  byImage: Map<Digest, ImageUser[]>;
  /** Layer ids containers are built on (kept even when their image is force-removed). */
  layers: Set<string>;
}

export const NO_USAGE: ImageUsage = { byImage: new Map(), layers: new Set() };

/** One line of Docker's delete response. */
export type DeleteItem = { Untagged: string } | { Deleted: string };

const short = (d: string): string => d.slice(d.indexOf(':') + 1, d.indexOf(':') + 13);

function isIdLike(nameOrId: string, img: Image): boolean {
  const hex = nameOrId.startsWith('sha256:') ? nameOrId.slice(7) : nameOrId;
  return /^[0-9a-f]+$/.test(hex) && img.id.slice(7).startsWith(hex);
}

/** `docker rmi [-f] NAME|ID`. */
export async function removeImage(
  svc: ImageService,
  nameOrId: string,
  opts: { force?: boolean; prune?: boolean; usage?: ImageUsage } = {},
): Promise<DeleteItem[]> {
  const usage = opts.usage ?? NO_USAGE;
  const force = opts.force ?? false;
  const img = await svc.get(nameOrId);
  const users = usage.byImage.get(img.id) ?? [];
  const names = [...img.repoTags, ...img.repoDigests];
  const out: DeleteItem[] = [];
  // A tag that is the image's only name would remove the image too: was a name given?
  let byName = false;
  if (!isIdLike(nameOrId, img) || names.length === 0) {
    try {
      const ref = parseDockerRef(nameOrId);
      byName = (await svc.refs.resolve(ref.toString()))?.target === img.manifestDigest;
    } catch {
      byName = false;
    }
  }

  if (byName) {
    const ref = parseDockerRef(nameOrId);
    const tagsLeft = img.repoTags.filter((t) => parseDockerRef(t).toString() !== ref.toString());
    if (tagsLeft.length === 0 && users.length > 0 && !force) {
      throw new ImageConflictError(
        `conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${short(users[0]!.containerId)} is using its referenced image ${short(img.id)}`,
      );
    }
    await svc.refs.untag(ref.toString());
    out.push({ Untagged: ref.familiarString() });
    if (tagsLeft.length > 0 || users.length > 0) return out;
    // Last tag gone: the repo digests of the image go with it, then the image.
    for (const d of img.repoDigests) {
      await svc.refs.untag(parseNormalizedNamed(d).toString());
      out.push({ Untagged: d });
    }
  } else {
    const running = users.find((u) => u.running);
    if (running) {
      throw new ImageConflictError(
        `conflict: unable to delete ${short(img.id)} (cannot be forced) - image is being used by running container ${short(running.containerId)}`,
      );
    }
    if (!force && users.length > 0) {
      throw new ImageConflictError(
        `conflict: unable to delete ${short(img.id)} (must be forced) - image is being used by stopped container ${short(users[0]!.containerId)}`,
      );
    }
    const repos = new Set([...names].map((n) => parseNormalizedNamed(n).name()));
    if (!force && (img.repoTags.length > 1 || repos.size > 1)) {
      throw new ImageConflictError(
        `conflict: unable to delete ${short(img.id)} (must be forced) - image is referenced in multiple repositories`,
      );
    }
    for (const n of names) {
      await svc.refs.untag(parseNormalizedNamed(n).toString());
      out.push({ Untagged: n });
    }
  }
  await svc.images.remove(img.id);
  out.push({ Deleted: img.id });
  if (opts.prune !== false) out.push(...(await collectGarbage(svc, usage)).layers.map((l) => ({ Deleted: `sha256:${l}` })));
  return out;
}

/** `docker image prune [-a]`: dangling images (or, with all, every unused one). */
export async function pruneImages(
  svc: ImageService,
  opts: { all?: boolean; usage?: ImageUsage; filter?: (img: Image) => boolean } = {},
): Promise<{ ImagesDeleted: DeleteItem[]; SpaceReclaimed: number }> {
  const usage = opts.usage ?? NO_USAGE;
  const deleted: DeleteItem[] = [];
  let reclaimed = 0;
  for (const img of await svc.list()) {
    if ((usage.byImage.get(img.id) ?? []).length > 0) continue;
    if (!opts.all && img.repoTags.length > 0) continue;
    if (opts.filter && !opts.filter(img)) continue;
    for (const n of [...img.repoTags, ...img.repoDigests]) {
      await svc.refs.untag(parseNormalizedNamed(n).toString());
      deleted.push({ Untagged: n });
    }
    await svc.images.remove(img.id);
    deleted.push({ Deleted: img.id });
  }
  const gc = await collectGarbage(svc, usage);
  reclaimed += gc.bytes;
  deleted.push(...gc.layers.map((l) => ({ Deleted: `sha256:${l}` })));
  return { ImagesDeleted: deleted, SpaceReclaimed: reclaimed };
}

/**
 * Deletes blobs no image record reaches and layers no image or container uses. Blobs newer
 * than the oldest operation still writing (a pull, a load) are left for the next round.
 */
export async function collectGarbage(svc: ImageService, usage: ImageUsage = NO_USAGE): Promise<{ blobs: Digest[]; layers: string[]; bytes: number }> {
  const entries = await svc.images.list();
  const refs = await svc.refs.list();
  const roots: Digest[] = [];
  for (const e of entries) {
    roots.push(e.manifest, e.id);
    if (e.index) roots.push(e.index);
  }
  for (const r of refs) roots.push(r.target);
  const live = await referencedBlobs(roots, async (d) => ((await svc.content.has(d)) ? svc.content.read(d) : undefined));
  const cutoff = svc.oldestActiveOperation();
  const blobs: Digest[] = [];
  let bytes = 0;
  for (const d of await svc.content.list()) {
    if (live.has(d)) continue;
    const p = svc.content.blobPath(d);
    const st = await fsp.stat(p).catch(() => undefined);
    if (!st || st.mtimeMs >= cutoff) continue;
    if (await svc.content.delete(d)) {
      blobs.push(d);
      bytes += st.size;
    }
  }
  const layers: string[] = [];
  if (svc.layers && cutoff === Infinity) {
    const keep = new Set(usage.layers);
    for (const e of entries) {
      const cfg = await svc.readJson<{ rootfs?: { diff_ids?: string[] } }>(e.id).catch(() => undefined);
      for (const c of chainIds(cfg?.rootfs?.diff_ids ?? [])) keep.add(c.slice(c.indexOf(':') + 1));
    }
    for (const id of await svc.layers.listLayers()) {
      if (keep.has(id)) continue;
      await svc.layers.removeLayer(id);
      layers.push(id);
    }
  }
  return { blobs: blobs.map((b) => parseDigest(b)), layers, bytes };
}
