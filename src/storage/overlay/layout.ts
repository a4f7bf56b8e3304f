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
 *
 * Every call here is synchronous: a few tiny files per layer on the path of each `docker run`,
 * where promise-based calls would each cost a thread-pool round trip. Deleting a layer's tree
 * (possibly big) is the exception: it is renamed into `<root>/trash` and removed in the
 * background (`purgeTrash`).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
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
export function readShortLink(root: string, id: string): string {
  const link = fs.readFileSync(path.join(layerDir(root, id), 'link'), 'utf8').trim();
  if (!LINK_RE.test(link)) throw new OverlayLayoutError(`layer ${id}: malformed link file`);
  return link;
}

/** Content of a layer's `lower` file ("" for a base layer). */
export function readLower(root: string, id: string): string {
  try {
    return fs.readFileSync(path.join(layerDir(root, id), 'lower'), 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** `lowerdir=l/A:l/B:...` for `layerIds` (top first), relative to `overlayDir(root)`. */
export function lowerdirOption(root: string, layerIds: string[]): string {
  if (layerIds.length === 0) throw new OverlayLayoutError('lowerdir needs at least one layer');
  const links: string[] = [];
  for (const id of layerIds) links.push(`l/${readShortLink(root, id)}`);
  return `lowerdir=${links.join(':')}`;
}

/**
 * Mount data for layer `id` mounted read-write over its parents, as moby builds it:
 * `lowerdir=<its lower file>,upperdir=<id>/diff,workdir=<id>/work`, relative to `overlayDir(root)`.
 */
export function mountData(root: string, id: string): string {
  checkLayerId(id);
  const lower = readLower(root, id);
  if (!lower) throw new OverlayLayoutError(`layer ${id} has no parents to mount over`);
  return `lowerdir=${lower},upperdir=${id}/diff,workdir=${id}/work`;
}

/**
 * Creates `<root>/overlay/<id>/{diff,link}` and its short link; with parents (the whole chain,
 * immediate parent first, all already created) also `work` and `lower`. Fails if `id` exists.
 */
export function createLayerDir(root: string, id: string, parentIds: string[] = []): string {
  const dir = layerDir(root, id);
  const ovl = overlayDir(root);
  fs.mkdirSync(path.join(ovl, 'l'), { recursive: true, mode: 0o700 });
  const lowers = parentLinks(root, id, parentIds);
  fs.mkdirSync(dir, { mode: 0o700 }); // EEXIST: the id is taken
  try {
    fs.mkdirSync(path.join(dir, 'diff'), { mode: 0o755 });
    let link = '';
    for (let tries = 0; ; tries++) {
      link = randomShortLink();
      try {
        fs.symlinkSync(`../${id}/diff`, path.join(ovl, 'l', link));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 5) throw e;
      }
    }
    fs.writeFileSync(path.join(dir, 'link'), link, { mode: 0o644 });
    writeLower(dir, lowers);
  } catch (e) {
    try {
      removeLayer(root, id);
    } catch {
      /* the first error is the one to report */
    }
    throw e;
  }
  return dir;
}

/**
 * Gives layer `id`, created without parents, its parent chain (immediate parent first, all
 * already created): `work` and `lower`, as createLayerDir would have. For layers filled before
 * their parents exist (unpackImage extracts several at once and commits them bottom-up).
 */
export function setLayerParents(root: string, id: string, parentIds: string[]): void {
  writeLower(layerDir(root, id), parentLinks(root, id, parentIds));
}

function parentLinks(root: string, id: string, parentIds: string[]): string[] {
  const lowers: string[] = [];
  for (const p of parentIds) {
    if (p === id) throw new OverlayLayoutError(`layer ${id} cannot be its own parent`);
    lowers.push(`l/${readShortLink(root, p)}`);
  }
  return lowers;
}

function writeLower(dir: string, lowers: string[]): void {
  if (lowers.length === 0) return;
  fs.mkdirSync(path.join(dir, 'work'), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'lower'), lowers.join(':'), { mode: 0o644 });
}

/** `<root>/trash`: layer trees on their way out (same filesystem as the layers, so a rename). */
export function trashDir(root: string): string {
  return path.join(root, 'trash');
}

/**
 * Removes the layer directory and its short link; a missing layer is not an error. The tree is
 * renamed into the trash at once (the layer is gone for every reader) and deleted in the
 * background.
 */
export function removeLayer(root: string, id: string): void {
  const dir = layerDir(root, id);
  let link = '';
  try {
    link = readShortLink(root, id);
  } catch {
    /* no (valid) link file: nothing to unlink */
  }
  if (link) {
    const lp = path.join(overlayDir(root), 'l', link);
    try {
      // Only our own link: it must point at this layer's diff.
      if (fs.readlinkSync(lp) === `../${id}/diff`) fs.unlinkSync(lp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const trash = trashDir(root);
  try {
    fs.mkdirSync(trash, { recursive: true, mode: 0o700 });
    fs.renameSync(dir, path.join(trash, `${id}.${randomBytes(4).toString('hex')}`));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EXDEV') throw e;
    fs.rmSync(dir, { recursive: true, force: true }); // the trash is elsewhere: delete in place
    return;
  }
  void purgeTrash(root);
}

const purging = new Map<string, Promise<void>>();

/**
 * Deletes what is in the trash (layers removed before; a crash may have left some). One pass
 * per root at a time; a pass asked for while one runs follows it. Resolves when the trash is
 * empty, never rejects (what cannot be deleted stays for the next pass).
 */
export function purgeTrash(root: string): Promise<void> {
  const prev = purging.get(root);
  const next = (prev ?? Promise.resolve()).then(async () => {
    const trash = trashDir(root);
    let names: string[] = [];
    try {
      names = await fs.promises.readdir(trash);
    } catch {
      return;
    }
    await Promise.all(names.map((n) => fs.promises.rm(path.join(trash, n), { recursive: true, force: true }).catch(() => undefined)));
  });
  purging.set(root, next);
  void next.then(() => {
    if (purging.get(root) === next) purging.delete(root);
  });
  return next;
}
