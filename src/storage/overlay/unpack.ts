/**
 * Unpacks an image's layers (from a ContentStore) into the overlay2 layout, one directory per
 * layer named by the hex of its chain id, as dockerd does:
 *
 *   chainID(L0) = diffID(L0);  chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))
 *
 * A layer is extracted into a temporary layer directory (`tmp-<hex>-<rand>`), its uncompressed
 * stream hashed and checked against `rootfs.diff_ids[i]`, its device/whiteout/xattr metadata
 * applied; up to UNPACK_CONCURRENCY layers at once, as a layer's contents do not depend on its
 * parents. Then, bottom-up (a layer's `lower` names its parents' short links), its `work` and
 * `lower` are made, its short link re-pointed at the final name and the `committed` marker
 * written, and the temp directory is renamed into place in one step. A directory rename fails
 * when the target exists (non-empty), so of concurrent unpacks of one layer exactly one wins and
 * the others remove their temp directory and link. Layers whose directory already holds
 * `committed` are skipped.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContentStore } from '../../image/content/store';
import { createDigester, digestOf, parseDigest, type Digest } from '../../image/digest';
import { decompressed } from '../../image/layer/decompress';
import { extractLayer, type ExtractResult, type WhiteoutMode } from '../../image/layer/extract';
import type { ImageConfig, ImageManifest } from '../../image/oci-types';
import { applyLayerMeta } from '../../kernel/host-ops';
import { createLayerDir, layerDir, overlayDir, readShortLink, removeLayer, setLayerParents } from './layout';

export const COMMITTED_MARKER = 'committed';

/**
 * Layers extracted at once. Extraction is one gunzip (thread pool) + one tar parse and hash (main
 * thread) per layer, which leaves a second core mostly idle; two at once cut a 6-layer 240 MB
 * image's unpack by ~20% on a 2-core machine (bench/images.sh). Memory: two streams' buffers.
 */
export const UNPACK_CONCURRENCY = 2;

export class UnpackError extends Error {}

/** Docker chain ids (full digests) for `diffIds`, bottom first. */
export function chainIds(diffIds: readonly (Digest | string)[]): Digest[] {
  const out: Digest[] = [];
  for (const raw of diffIds) {
    const d = parseDigest(raw);
    out.push(out.length === 0 ? d : digestOf(`${out[out.length - 1]} ${d}`));
  }
  return out;
}

function chainHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** The layer's size as recorded at unpack (undefined for a layer unpacked before sizes were kept). */
export function committedLayerSize(root: string, id: string): number | undefined {
  try {
    const size = (JSON.parse(fs.readFileSync(path.join(layerDir(root, id), COMMITTED_MARKER), 'utf8')) as { size?: unknown }).size;
    return typeof size === 'number' ? size : undefined;
  } catch {
    return undefined;
  }
}

/** True when layer `id` exists and carries the `committed` marker. */
export async function isLayerCommitted(root: string, id: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path.join(layerDir(root, id), COMMITTED_MARKER))).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Unpacks `manifest.layers` (verified against `config.rootfs.diff_ids`) under `root`.
 * Returns the layer ids (chain id hex), bottom first.
 */
export async function unpackImage(
  store: ContentStore,
  root: string,
  manifest: ImageManifest,
  config: ImageConfig,
): Promise<string[]> {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new UnpackError(`manifest has ${manifest.layers.length} layers but config has ${diffIds.length} diff_ids`);
  }
  const ids = chainIds(diffIds).map(chainHex);
  const todo: number[] = [];
  for (let i = 0; i < ids.length; i++) if (!(await isLayerCommitted(root, ids[i]!))) todo.push(i);
  // Stage (extract) up to UNPACK_CONCURRENCY layers at once, in order; commit them bottom-up.
  let failure: { e: unknown } | undefined;
  const slots = limiter(UNPACK_CONCURRENCY);
  const staged = todo.map((i) =>
    slots(() => {
      if (failure) throw new UnpackError('cancelled'); // an earlier layer failed: do not start
      return stageLayer(store, root, ids[i]!, manifest.layers[i]!.digest, parseDigest(diffIds[i]!));
    }),
  );
  for (const p of staged) p.catch(() => undefined); // each is awaited below
  for (let k = 0; k < todo.length; k++) {
    const i = todo[k]!;
    let s: Staged;
    try {
      s = await staged[k]!;
    } catch (e) {
      failure ??= { e };
      continue;
    }
    if (failure) {
      quietly(() => removeLayer(root, s.tmpId));
      continue;
    }
    try {
      await commitLayer(root, ids[i]!, ids.slice(0, i).reverse(), s); // immediate parent first
    } catch (e) {
      failure ??= { e };
    }
  }
  if (failure) throw failure.e;
  return ids;
}

/** `fn`s run at most `n` at a time, started in call order. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

/**
 * Extracts blob `blob` (gzip/zstd/plain, sniffed) into `targetDir` with `extractLayer`, hashing
 * the uncompressed stream; rejects with an UnpackError when it is not `diffId`. The caller
 * extracts into a temporary directory and applies the returned metadata (`applyLayerMeta`).
 */
export async function extractVerified(
  store: ContentStore,
  blob: Digest,
  diffId: Digest,
  targetDir: string,
  whiteouts: WhiteoutMode,
): Promise<ExtractResult> {
  const src = decompressed(await store.open(blob));
  const digester = createDigester(diffId.startsWith('sha512:') ? 'sha512' : 'sha256');
  const tee = new PassThrough();
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      digester.update(chunk);
      cb(null, chunk);
    },
  });
  const done = pipeline(src, hashing, tee);
  done.catch(() => undefined);
  const meta = await extractLayer(tee, targetDir, { whiteouts });
  tee.resume(); // drain trailing padding after the end-of-archive marker
  await done;
  const got = digester.digest();
  if (got !== diffId) throw new UnpackError(`layer ${blob}: diff_id mismatch: expected ${diffId}, got ${got}`);
  return meta;
}

interface Staged {
  tmpId: string;
  tmpDir: string;
  /** Bytes of file content in the layer (Docker's layer size). */
  bytes: number;
}

/** Extracts and verifies one layer into a new temporary layer directory (no parents yet). */
async function stageLayer(store: ContentStore, root: string, id: string, blob: Digest, diffId: Digest): Promise<Staged> {
  const tmpId = `tmp-${id.slice(0, 64)}-${randomBytes(8).toString('hex')}`;
  const tmpDir = createLayerDir(root, tmpId);
  try {
    const diff = path.join(tmpDir, 'diff');
    const meta = await extractVerified(store, blob, diffId, diff, 'overlay');
    await applyLayerMeta(diff, meta);
    return { tmpId, tmpDir, bytes: meta.bytes };
  } catch (e) {
    quietly(() => removeLayer(root, tmpId));
    throw e;
  }
}

/** Gives a staged layer its parents (all committed) and renames it into place as `id`. */
async function commitLayer(root: string, id: string, parents: string[], staged: Staged): Promise<void> {
  const { tmpId, tmpDir } = staged;
  let linkPath = '';
  let linkRepointed = false;
  try {
    setLayerParents(root, tmpId, parents);
    linkPath = path.join(overlayDir(root), 'l', readShortLink(root, tmpId));
    // Point the short link at the final name (dangling until the rename below).
    const tmpLink = `${linkPath}.${randomBytes(4).toString('hex')}`;
    await fsp.symlink(`../${id}/diff`, tmpLink);
    await fsp.rename(tmpLink, linkPath);
    linkRepointed = true;
    await fsp.writeFile(path.join(tmpDir, COMMITTED_MARKER), JSON.stringify({ size: staged.bytes }), { mode: 0o644 });
    try {
      await fsp.rename(tmpDir, layerDir(root, id));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Lost a race (or a foreign directory is in the way).
      await cleanup();
      if (!(await isLayerCommitted(root, id))) throw new UnpackError(`layer ${id} exists but is not committed`);
    }
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }

  async function cleanup(): Promise<void> {
    if (linkRepointed) await fsp.unlink(linkPath).catch(() => undefined);
    removeLayer(root, tmpId);
  }
}

/** Undo steps after a failure: the first error is the one to report. */
function quietly(undo: () => void): void {
  try {
    undo();
  } catch {
    /* ignored */
  }
}
