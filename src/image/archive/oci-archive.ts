/**
 * OCI image layout archives (`skopeo copy ... oci-archive:`, `ctr export`, the OCI half of a
 * docker ≥ 25 save).
 *
 *   oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   blobs/<algo>/<hex>    every blob reachable from the saved refs, byte for byte as stored
 *   index.json            one descriptor per saved name
 *
 * save — blobs are streamed from the store (re-verified while read) and kept as stored: layers
 * stay compressed (gzip, zstd or none), manifests and indexes keep their digests, so the image
 * has the same identity on the other side. Each index.json entry carries containerd's
 * `io.containerd.image.name` (the full canonical name) and `org.opencontainers.image.ref.name`
 * (the tag), which is what containerd and Docker ≥ 25 write. Blobs come before the manifests
 * that reference them and index.json comes last.
 *
 * load — the tar (optionally gzip/zstd-compressed) is read once; every blob is verified against
 * its name while it is ingested. index.json is then walked: nested indexes and Docker manifest
 * lists are followed, every descriptor's blob must be in the archive with the size the
 * descriptor gives (a platform manifest of an index may be absent, as in an archive saved with
 * only some platforms pulled; Docker's loader skips those too), an image config's diff_ids must
 * match the number of layers. Names: `io.containerd.image.name` when present, otherwise
 * `org.opencontainers.image.ref.name` when it is a full reference (contains '/', ':' or '@');
 * a bare tag such as "latest" names no repository and leaves the image untagged. Tags are
 * written only after everything was verified: on any error nothing is tagged (blobs already
 * ingested stay in the store, unreferenced, for GC).
 */
import type { Readable, Writable } from 'node:stream';
import { BlobNotFoundError, type ContentStore } from '../content/store';
import { canonicalRefName, type RefStore } from '../content/refs';
import { digestAlgorithm, digestHex, isDigest, type Digest } from '../digest';
import {
  Annotations,
  CONFIG_MEDIA_TYPES,
  isIndexMediaType,
  isManifestMediaType,
  MediaTypes,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from '../oci-types';
import { normalizeReference } from '../reference';
import { ArchiveError, parseJson, readArchive, tarWriter, type ArchiveContents, type LoadedImage } from './archive-io';

const MAX_DEPTH = 8;

const blobPath = (d: Digest): string => `blobs/${digestAlgorithm(d)}/${digestHex(d)}`;

type Doc = Partial<ImageIndex & ImageManifest> & { mediaType?: string };

function kindOf(mediaType: string | undefined, doc: Doc): 'index' | 'manifest' | undefined {
  if (isIndexMediaType(mediaType)) return 'index';
  if (isManifestMediaType(mediaType)) return 'manifest';
  if (Array.isArray(doc.manifests)) return 'index';
  if (doc.config !== undefined && Array.isArray(doc.layers)) return 'manifest';
  return undefined;
}

// ---- save -------------------------------------------------------------------------------

/** Write `refNames` (tags or name@digest references) as an OCI image layout tar to `out`. */
export async function saveOciArchive(store: ContentStore, refs: RefStore, refNames: readonly string[], out: Writable): Promise<void> {
  // Resolve and walk everything first, so a bad name or a missing blob fails before any byte.
  const blobs = new Map<Digest, number>(); // digest → size, children before their parents
  const top: Descriptor[] = [];
  const seenNames = new Set<string>();
  for (const name of refNames) {
    let canonical: string;
    try {
      canonical = canonicalRefName(name);
    } catch (e) {
      throw new ArchiveError(`save: invalid reference ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
    if (seenNames.has(canonical)) continue;
    seenNames.add(canonical);
    const rec = await refs.resolve(canonical);
    if (!rec) throw new ArchiveError(`save: reference ${name} not found`);
    const desc = await walkForSave(store, rec.target, rec.mediaType, blobs, canonical, 'image', 0);
    const annotations: Record<string, string> = { [Annotations.CONTAINERD_IMAGE_NAME]: canonical };
    const tag = normalizeReference(canonical).tag;
    if (tag !== undefined) annotations[Annotations.REF_NAME] = tag;
    top.push({ ...desc, annotations });
  }

  const w = tarWriter(out);
  try {
    await w.file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await w.dir('blobs/');
    for (const algo of new Set([...blobs.keys()].map(digestAlgorithm))) await w.dir(`blobs/${algo}/`);
    for (const [d, size] of blobs) await w.stream(blobPath(d), size, await store.open(d, { verify: true }));
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: top };
    await w.file('index.json', Buffer.from(JSON.stringify(index)));
  } catch (e) {
    await w.abort(e as Error);
    throw e;
  }
  await w.finish();
}

async function storedSize(store: ContentStore, d: Digest, name: string, what: string): Promise<number> {
  try {
    return await store.size(d);
  } catch (e) {
    if (e instanceof BlobNotFoundError) throw new ArchiveError(`save: ${name}: ${what} ${d} is not in the store`);
    throw e;
  }
}

async function walkForSave(
  store: ContentStore,
  digest: string,
  hint: string | undefined,
  blobs: Map<Digest, number>,
  name: string,
  what: string,
  depth: number,
): Promise<{ mediaType: string; digest: Digest; size: number }> {
  if (!isDigest(digest)) throw new ArchiveError(`save: ${name}: ${what} has an invalid digest ${JSON.stringify(digest)}`);
  if (depth > MAX_DEPTH) throw new ArchiveError(`save: ${name}: indexes nested more than ${MAX_DEPTH} deep`);
  const size = await storedSize(store, digest, name, what);
  const bytes = await store.read(digest);
  let doc: Doc;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Doc;
  } catch {
    throw new ArchiveError(`save: ${name}: ${what} ${digest} is not a manifest or index (not JSON)`);
  }
  const kind = kindOf(doc.mediaType ?? hint, doc);
  if (kind === 'index') {
    for (const m of doc.manifests!) {
      const p = m.platform ? ` (${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''})` : '';
      await walkForSave(store, m.digest, m.mediaType, blobs, name, `manifest${p} of index ${digest}`, depth + 1);
    }
  } else if (kind === 'manifest') {
    const leaves: [Descriptor, string][] = [[doc.config!, `config of manifest ${digest}`], ...doc.layers!.map((l, i): [Descriptor, string] => [l, `layer ${i} of manifest ${digest}`])];
    for (const [l, lwhat] of leaves) {
      if (!isDigest(l?.digest)) throw new ArchiveError(`save: ${name}: ${lwhat} has an invalid digest`);
      if (!blobs.has(l.digest)) blobs.set(l.digest, await storedSize(store, l.digest, name, lwhat));
    }
  } else {
    throw new ArchiveError(`save: ${name}: ${what} ${digest} is neither an image manifest nor an index`);
  }
  blobs.set(digest, size);
  const mediaType = doc.mediaType ?? hint ?? (kind === 'index' ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST);
  return { mediaType, digest, size };
}

// ---- load -------------------------------------------------------------------------------

export interface OciLoadOptions {
  /**
   * Names for index.json entries that carry none, by config digest: `loadArchive` passes
   * manifest.json's RepoTags here when an archive holds both layouts.
   */
  fallbackNames?: () => Promise<Map<Digest, string[]>>;
}

/** Read `input` (an OCI image layout tar, optionally compressed) and import its images. */
export async function loadOciArchive(store: ContentStore, refs: RefStore, input: Readable, opts: OciLoadOptions = {}): Promise<LoadedImage[]> {
  return importOciLayout(refs, await readArchive(store, input), opts);
}

interface Walked {
  digest: Digest;
  mediaType: string;
  /** Platform manifests (the node itself for a manifest). */
  manifests: { digest: Digest; configDigest: Digest; platform?: Platform }[];
}

/** The name an index.json entry's annotations give, canonical, or undefined. */
export function annotatedName(annotations: Record<string, string> | undefined, where = 'index.json'): string | undefined {
  const full = annotations?.[Annotations.CONTAINERD_IMAGE_NAME];
  const ref = annotations?.[Annotations.REF_NAME];
  const candidate = typeof full === 'string' && full !== '' ? full : typeof ref === 'string' && /[/:@]/.test(ref) ? ref : undefined;
  if (candidate === undefined) return undefined;
  try {
    // A digest pins content, it names nothing to tag.
    if (normalizeReference(candidate).digest !== undefined) return undefined;
    return canonicalRefName(candidate);
  } catch (e) {
    throw new ArchiveError(`load: ${where}: invalid image name ${JSON.stringify(candidate)}: ${(e as Error).message}`);
  }
}

/** Import the OCI image layout of an archive read by readArchive. */
export async function importOciLayout(refs: RefStore, contents: ArchiveContents, opts: OciLoadOptions = {}): Promise<LoadedImage[]> {
  if (contents.has('oci-layout')) {
    const layout = parseJson<{ imageLayoutVersion?: unknown }>(await contents.readSmall('oci-layout'), 'oci-layout');
    if (typeof layout?.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
      throw new ArchiveError(`load: oci-layout: unsupported imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)}`);
    }
  }
  if (!contents.has('index.json')) throw new ArchiveError('load: archive has no index.json (corrupt, truncated or not an OCI image layout)');
  const index = parseJson<ImageIndex>(await contents.readSmall('index.json'), 'index.json');
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) {
    throw new ArchiveError('load: index.json has no manifests list');
  }
  const walker = new LayoutWalker(contents);
  const byDigest = new Map<Digest, LoadedImage>();
  let fallback: Map<Digest, string[]> | undefined;
  for (const [i, desc] of index.manifests.entries()) {
    const where = `index.json manifests[${i}]`;
    const node = (await walker.visit(desc, where, 0, false))!;
    const names: string[] = [];
    const named = annotatedName(desc.annotations, where);
    if (named !== undefined) names.push(named);
    else if (opts.fallbackNames && node.manifests.length === 1 && node.manifests[0]!.digest === node.digest) {
      fallback ??= await opts.fallbackNames();
      names.push(...(fallback.get(node.manifests[0]!.configDigest) ?? []));
    }
    let img = byDigest.get(node.digest);
    if (!img) {
      img = { manifestDigest: node.digest, mediaType: node.mediaType, configDigest: node.manifests[0]!.configDigest, tags: [] };
      if (node.manifests.length !== 1 || node.manifests[0]!.digest !== node.digest) img.manifests = node.manifests;
      byDigest.set(node.digest, img);
    }
    for (const n of names) if (!img.tags.includes(n)) img.tags.push(n);
  }
  const loaded = [...byDigest.values()];
  for (const img of loaded) for (const t of img.tags) await refs.tag(t, img.manifestDigest, img.mediaType);
  return loaded;
}

class LayoutWalker {
  private readonly memo = new Map<Digest, Walked>();
  constructor(private readonly contents: ArchiveContents) {}

  /** Check `desc`'s blob is in the archive with its size; returns its digest, or undefined if absent and `optional`. */
  private blob(desc: Descriptor, where: string, optional: boolean): Digest | undefined {
    if (typeof desc !== 'object' || desc === null) throw new ArchiveError(`load: ${where}: not a descriptor`);
    if (!isDigest(desc.digest)) throw new ArchiveError(`load: ${where}: invalid digest ${JSON.stringify(desc.digest)}`);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new ArchiveError(`load: ${where}: invalid size ${JSON.stringify(desc.size)}`);
    const p = blobPath(desc.digest);
    if (!this.contents.has(p)) {
      if (optional) return undefined;
      throw new ArchiveError(`load: ${where}: blob ${p} is missing from the archive`);
    }
    const e = this.contents.lookup(p);
    if (e.kind !== 'blob' || e.digest !== desc.digest) throw new ArchiveError(`load: ${where}: ${p} is not the blob ${desc.digest}`);
    if (e.size !== desc.size) throw new ArchiveError(`load: ${where}: blob ${p} has ${e.size} bytes, the descriptor says ${desc.size}`);
    return desc.digest;
  }

  async visit(desc: Descriptor, where: string, depth: number, optional: boolean): Promise<Walked | undefined> {
    const digest = this.blob(desc, where, optional);
    if (digest === undefined) return undefined;
    const memo = this.memo.get(digest);
    if (memo) return memo;
    if (depth > MAX_DEPTH) throw new ArchiveError(`load: ${where}: indexes nested more than ${MAX_DEPTH} deep`);
    const loc = blobPath(digest);
    const doc = parseJson<Doc>(await this.contents.readSmall(loc), `${loc} (${where})`);
    if (typeof doc !== 'object' || doc === null) throw new ArchiveError(`load: ${loc} (${where}) is not a manifest or index`);
    const kind = kindOf(desc.mediaType ?? doc.mediaType, doc);
    const mediaType = desc.mediaType ?? doc.mediaType ?? (kind === 'index' ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST);
    let node: Walked;
    if (kind === 'index') {
      if (!Array.isArray(doc.manifests)) throw new ArchiveError(`load: ${loc} (${where}): index has no manifests list`);
      const manifests: Walked['manifests'] = [];
      for (const [j, child] of doc.manifests.entries()) {
        const c = await this.visit(child, `${loc} manifests[${j}]`, depth + 1, true);
        if (!c) continue; // a platform not in the archive (Docker skips those too)
        for (const m of c.manifests) manifests.push(c.digest === m.digest && child.platform ? { ...m, platform: child.platform } : m);
      }
      if (manifests.length === 0) throw new ArchiveError(`load: ${loc} (${where}): none of the index's ${doc.manifests.length} manifests is in the archive`);
      node = { digest, mediaType, manifests };
    } else if (kind === 'manifest') {
      node = { digest, mediaType, manifests: [{ digest, configDigest: await this.manifest(doc, loc) }] };
    } else {
      throw new ArchiveError(`load: ${loc} (${where}): unsupported media type ${JSON.stringify(mediaType)}`);
    }
    this.memo.set(digest, node);
    return node;
  }

  /** Check a manifest's config and layers; returns the config digest. */
  private async manifest(doc: Doc, loc: string): Promise<Digest> {
    if (!Array.isArray(doc.layers)) throw new ArchiveError(`load: ${loc}: manifest has no layers list`);
    const configDigest = this.blob(doc.config!, `${loc} config`, false)!;
    for (const [i, l] of doc.layers.entries()) {
      // Non-distributable ("foreign") layers are fetched from their urls, never shipped.
      const foreign = Array.isArray(l?.urls) && l.urls.length > 0 && /nondistributable|foreign/.test(l.mediaType ?? '');
      this.blob(l, `${loc} layers[${i}]`, foreign);
    }
    if (CONFIG_MEDIA_TYPES.includes(doc.config!.mediaType)) {
      const cloc = blobPath(configDigest);
      const config = parseJson<ImageConfig>(await this.contents.readSmall(cloc), `config ${cloc}`);
      const diffIds = config?.rootfs?.diff_ids;
      if (!Array.isArray(diffIds) || !diffIds.every(isDigest)) throw new ArchiveError(`load: config ${cloc} has no valid rootfs.diff_ids`);
      if (diffIds.length !== doc.layers.length) {
        throw new ArchiveError(`load: ${loc}: ${doc.layers.length} layers but config ${cloc} has ${diffIds.length} diff_ids`);
      }
    }
    return configDigest;
  }
}
