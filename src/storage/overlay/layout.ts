/**
 * moby overlay2's on-disk layout, so the driver's directories look like dockerd's:
 *
 *   <root>/overlay/<id>/diff      the layer's contents (extracted tar / container writes)
 *   <root>/overlay/<id>/link      its short link name (26 chars [A-Z0-9])
 *   <root>/overlay/<id>/lower     (non-base layers) its parents' short links, "l/A:l/B" top first
 *   <root>/overlay/<id>/work      (non-base layers) overlayfs workdir
 *   <root>/overlay/l/<short>   →  ../<id>/diff
 *
 * Mount options use the short links relative to `<root>/overlay` so that they stay under a page
 * (the kernel limit for mount data) even for > 100 layers; the mount must therefore be done with
 * `<root>/overlay` as the working directory (as moby does), see `overlayDir`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export const SHORT_LINK_LEN = 26;
const SHORT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const LINK_RE = /^[A-Z0-9]{26}$/;

export class OverlayLayoutError extends Error {}

/** `<root>/overlay`: the working directory for mounts made with `mountData`/`lowerdirOption`. */
export function overlayDir(root: string): string {
  return path.join(root, 'overlay');
}

export function checkLayerId(id: string): void {
  if (!ID_RE.test(id) || id === 'l' || /^\.+$/.test(id)) throw new OverlayLayoutError(`invalid layer id ${JSON.stringify(id)}`);
}

export function layerDir(root: string, id: string): string {
  checkLayerId(id);
  return path.join(overlayDir(root), id);
}
export function diffDir(root: string, id: string): string {
  return path.join(layerDir(root, id), 'diff');
}
export function workDir(root: string, id: string): string {
  return path.join(layerDir(root, id), 'work');
}

/** 26 random characters of [A-Z0-9] (uniform: rejection sampling on bytes). */
export function randomShortLink(): string {
  let out = '';
  while (out.length < SHORT_LINK_LEN) {
    for (const b of randomBytes(SHORT_LINK_LEN * 2)) {
      if (b < 252 && out.length < SHORT_LINK_LEN) out += SHORT_CHARS[b % 36];
    }
  }
  return out;
}

/** A layer's short link name (content of its `link` file). */
export async function readShortLink(root: string, id: string): Promise<string> {
  const link = (await fsp.readFile(path.join(layerDir(root, id), 'link'), 'utf8')).trim();
  if (!LINK_RE.test(link)) throw new OverlayLayoutError(`layer ${id}: malformed link file`);
  return link;
}

/** Content of a layer's `lower` file ("" for a base layer). */
export async function readLower(root: string, id: string): Promise<string> {
  try {
    return (await fsp.readFile(path.join(layerDir(root, id), 'lower'), 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** `lowerdir=l/A:l/B:...` for `layerIds` (top first), relative to `overlayDir(root)`. */
export async function lowerdirOption(root: string, layerIds: string[]): Promise<string> {
  if (layerIds.length === 0) throw new OverlayLayoutError('lowerdir needs at least one layer');
  const links: string[] = [];
  for (const id of layerIds) links.push(`l/${await readShortLink(root, id)}`);
  return `lowerdir=${links.join(':')}`;
}

/**
 * Mount data for layer `id` mounted read-write over its parents, as moby builds it:
 * `lowerdir=<its lower file>,upperdir=<id>/diff,workdir=<id>/work`, relative to `overlayDir(root)`.
 */
export async function mountData(root: string, id: string): Promise<string> {
  checkLayerId(id);
  const lower = await readLower(root, id);
  if (!lower) throw new OverlayLayoutError(`layer ${id} has no parents to mount over`);
  return `lowerdir=${lower},upperdir=${id}/diff,workdir=${id}/work`;
}

/**
 * Creates `<root>/overlay/<id>/{diff,link}` and its short link; with parents (the whole chain,
 * immediate parent first, all already created) also `work` and `lower`. Fails if `id` exists.
 */
export async function createLayerDir(root: string, id: string, parentIds: string[] = []): Promise<string> {
  const dir = layerDir(root, id);
  const ovl = overlayDir(root);
  await fsp.mkdir(path.join(ovl, 'l'), { recursive: true, mode: 0o700 });
  const lowers = await parentLinks(root, id, parentIds);
  await fsp.mkdir(dir, { mode: 0o700 }); // EEXIST: the id is taken
  try {
    await fsp.mkdir(path.join(dir, 'diff'), { mode: 0o755 });
    let link = '';
    for (let tries = 0; ; tries++) {
      link = randomShortLink();
      try {
        await fsp.symlink(`../${id}/diff`, path.join(ovl, 'l', link));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 5) throw e;
      }
    }
    await fsp.writeFile(path.join(dir, 'link'), link, { mode: 0o644 });
    await writeLower(dir, lowers);
  } catch (e) {
    await removeLayer(root, id).catch(() => undefined);
    throw e;
  }
  return dir;
}

/**
 * Gives layer `id`, created without parents, its parent chain (immediate parent first, all
 * already created): `work` and `lower`, as createLayerDir would have. For layers filled before
 * their parents exist (unpackImage extracts several at once and commits them bottom-up).
 */
export async function setLayerParents(root: string, id: string, parentIds: string[]): Promise<void> {
  await writeLower(layerDir(root, id), await parentLinks(root, id, parentIds));
}

async function parentLinks(root: string, id: string, parentIds: string[]): Promise<string[]> {
  const lowers: string[] = [];
  for (const p of parentIds) {
    if (p === id) throw new OverlayLayoutError(`layer ${id} cannot be its own parent`);
    lowers.push(`l/${await readShortLink(root, p)}`);
  }
  return lowers;
}

async function writeLower(dir: string, lowers: string[]): Promise<void> {
  if (lowers.length === 0) return;
  await fsp.mkdir(path.join(dir, 'work'), { mode: 0o700 });
  await fsp.writeFile(path.join(dir, 'lower'), lowers.join(':'), { mode: 0o644 });
}

/** Removes the layer directory and its short link; a missing layer is not an error. */
export async function removeLayer(root: string, id: string): Promise<void> {
  const dir = layerDir(root, id);
  let link = '';
  try {
    link = await readShortLink(root, id);
  } catch {
    /* no (valid) link file: nothing to unlink */
  }
  if (link) {
    const lp = path.join(overlayDir(root), 'l', link);
    try {
      // Only our own link: it must point at this layer's diff.
      if ((await fsp.readlink(lp)) === `../${id}/diff`) await fsp.unlink(lp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  await fsp.rm(dir, { recursive: true, force: true });
}
