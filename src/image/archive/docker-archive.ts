/**
 * `docker save` / `docker load` archives.
 *
 * save — writes the layout Docker ≥ 25 writes, which `docker load` (all
 * versions since 1.10, via manifest.json), skopeo `docker-archive:` and
 * containerd all accept:
 *
 *   oci-layout                        {"imageLayoutVersion":"1.0.0"}
 *   index.json                        OCI index, one OCI manifest per saved ref
 *   blobs/sha256/<hex>                OCI manifests, configs and *uncompressed* layer tars
 *   manifest.json                     [{Config:"blobs/sha256/<hex>", RepoTags, Layers:["blobs/sha256/<diffid hex>"]}]
 *   repositories                      {"<repo>":{"<tag>":"<config hex>"}}
 *
 * Layers are written uncompressed (digest = diffID), as docker save does; a
 * gzip layer in the store is decompressed on the fly (two passes: one to learn
 * the size for the tar header, one to write it).
 *
 * load — reads manifest.json and so accepts both that layout and the classic
 * one (`<hex>.json` configs, `<id>/layer.tar` layers, symlinked layers); a
 * gzip-compressed archive is accepted too. Every layer's diffID is checked
 * against the config's rootfs.diff_ids before any tag is written; blobs under
 * blobs/<algo>/<hex> are verified against their names. Layers are stored
 * as-is (uncompressed in archives Docker writes) and referenced from a new
 * Docker schema2 manifest (layer media type ...rootfs.diff.tar, or
 * ...tar.gzip for a compressed layer). On any error nothing is tagged; blobs
 * already ingested stay in the store unreferenced (garbage for GC).
 *
 * `loadArchive` (load.ts) reads an archive once and uses importDockerArchive only when it has
 * no OCI index.json; the tar reading and writing shared with oci-archive.ts is in archive-io.ts.
 */
import { Readable, Writable } from 'node:stream';
import * as path from 'node:path';
import { digestHex, digestOf, isDigest, type Digest } from '../digest';
import {
  Annotations,
  isIndexMediaType,
  MediaTypes,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from '../oci-types';
import type { ContentStore } from '../content/store';
import { canonicalRefName, type RefStore } from '../content/refs';
import { normalizeReference } from '../reference';
import { decompressed, type Compression } from '../layer/decompress';
import {
  ArchiveError,
  blobCompression,
  hashStream,
  parseJson,
  readArchive,
  tarWriter,
  type ArchiveContents,
  type LoadedImage,
} from './archive-io';

export { ArchiveError, type LoadedImage } from './archive-io';

const LAYER_MEDIA_TYPE: Record<Compression, string> = {
  gzip: MediaTypes.DOCKER_LAYER_GZIP,
  zstd: MediaTypes.OCI_LAYER_ZSTD,
  none: MediaTypes.DOCKER_LAYER,
};

/** One entry of manifest.json. */
export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** Uncompressed content of a stored layer. */
async function openPlain(store: ContentStore, d: Digest, compressed: boolean): Promise<Readable> {
  const s = await store.open(d);
  return compressed ? decompressed(s) : s;
}

function familiarTag(canonical: string): { repo: string; tag: string; familiar: string } {
  const r = normalizeReference(canonical);
  const familiar = r.familiarString();
  const tag = r.tag ?? 'latest';
  const repo = familiar.slice(0, familiar.length - tag.length - 1);
  return { repo, tag, familiar };
}

// ---- save -----------------------------------------------------------------------------

interface SaveImage {
  config: Digest;
  configSize: number;
  layers: { stored: Digest; compressed: boolean }[];
  diffIds: Digest[];
  tags: string[];
}

/** Write `refNames` as a docker-save archive to `out` (resolves when `out` has finished). */
export async function saveDockerArchive(
  store: ContentStore,
  refs: RefStore,
  refNames: readonly string[],
  out: Writable,
): Promise<void> {
  // Resolve everything first so that a bad name fails before any byte is written.
  const images = new Map<Digest, SaveImage>();
  for (const name of refNames) {
    const canonical = canonicalRefName(name);
    const rec = await refs.resolve(canonical);
    if (!rec) throw new ArchiveError(`save: reference ${name} not found`);
    const manifest = JSON.parse((await store.read(rec.target)).toString('utf8')) as ImageManifest & ImageIndex;
    if (isIndexMediaType(manifest.mediaType) || Array.isArray(manifest.manifests)) {
      throw new ArchiveError(`save: ${name} is a multi-platform index; only single-platform images are supported`);
    }
    let img = images.get(manifest.config.digest);
    if (!img) {
      const config = JSON.parse((await store.read(manifest.config.digest)).toString('utf8')) as ImageConfig;
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) {
        throw new ArchiveError(`save: ${name}: manifest has ${manifest.layers.length} layers, config ${diffIds.length} diff_ids`);
      }
      const layers: SaveImage['layers'] = [];
      for (const l of manifest.layers) layers.push({ stored: l.digest, compressed: (await blobCompression(store, l.digest)) !== 'none' });
      img = {
        config: manifest.config.digest,
        configSize: await store.size(manifest.config.digest),
        layers,
        diffIds,
        tags: [],
      };
      images.set(manifest.config.digest, img);
    }
    const tag = normalizeReference(canonical).tag;
    if (tag !== undefined && !img.tags.includes(canonical)) img.tags.push(canonical);
  }

  const w = tarWriter(out);
  const addBuf = w.file;
  const addStream = w.stream;
  const written = new Set<string>();

  try {
    await w.dir('blobs/');
    await w.dir('blobs/sha256/');
    await addBuf('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));

    const manifestJson: ArchiveManifestEntry[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    const indexManifests: Descriptor[] = [];
    for (const img of images.values()) {
      const blobName = (d: Digest) => `blobs/sha256/${digestHex(d)}`;
      // config
      if (!written.has(img.config)) {
        await addStream(blobName(img.config), img.configSize, await store.open(img.config, { verify: true }));
        written.add(img.config);
      }
      // layers, uncompressed
      const layerDescs: Descriptor[] = [];
      for (let i = 0; i < img.layers.length; i++) {
        const l = img.layers[i]!;
        const diffId = img.diffIds[i]!;
        const { digest, size } = await hashStream(await openPlain(store, l.stored, l.compressed));
        if (digest !== diffId) {
          throw new ArchiveError(`save: layer ${l.stored} has diffID ${digest}, config expects ${diffId}`);
        }
        if (!written.has(diffId)) {
          await addStream(blobName(diffId), size, await openPlain(store, l.stored, l.compressed));
          written.add(diffId);
        }
        layerDescs.push({ mediaType: MediaTypes.OCI_LAYER, digest: diffId, size });
      }
      // OCI manifest
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaTypes.OCI_MANIFEST,
        config: { mediaType: MediaTypes.OCI_CONFIG, digest: img.config, size: img.configSize },
        layers: layerDescs,
      };
      const mbuf = Buffer.from(JSON.stringify(manifest));
      const md = digestOf(mbuf);
      if (!written.has(md)) {
        await addBuf(blobName(md), mbuf);
        written.add(md);
      }
      const repoTags: string[] = [];
      for (const t of img.tags) {
        const { repo, tag, familiar } = familiarTag(t);
        repoTags.push(familiar);
        (repositories[repo] ??= {})[tag] = digestHex(img.config);
        indexManifests.push({
          mediaType: MediaTypes.OCI_MANIFEST,
          digest: md,
          size: mbuf.length,
          annotations: { [Annotations.CONTAINERD_IMAGE_NAME]: t, [Annotations.REF_NAME]: tag },
        });
      }
      if (img.tags.length === 0) indexManifests.push({ mediaType: MediaTypes.OCI_MANIFEST, digest: md, size: mbuf.length });
      manifestJson.push({
        Config: blobName(img.config),
        RepoTags: repoTags,
        Layers: img.diffIds.map(blobName),
      });
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: indexManifests };
    await addBuf('index.json', Buffer.from(JSON.stringify(index)));
    await addBuf('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    if (Object.keys(repositories).length > 0) await addBuf('repositories', Buffer.from(JSON.stringify(repositories)));
  } catch (e) {
    await w.abort(e as Error);
    throw e;
  }
  await w.finish();
}

// ---- load -----------------------------------------------------------------------------

/** Read `input` (a docker-save archive, optionally gzipped) and import its images. */
export async function loadDockerArchive(store: ContentStore, refs: RefStore, input: Readable): Promise<LoadedImage[]> {
  return importDockerArchive(store, refs, await readArchive(store, input));
}

/** The RepoTags of manifest.json, canonical, by config digest (for index.json entries without a name). */
export async function dockerArchiveNames(contents: ArchiveContents): Promise<Map<Digest, string[]>> {
  const out = new Map<Digest, string[]>();
  for (const m of await readManifestJson(contents)) {
    const d = digestOf(await contents.readSmall(m.Config));
    out.set(d, [...(out.get(d) ?? []), ...canonicalTags(m.RepoTags)]);
  }
  return out;
}

function canonicalTags(repoTags: string[] | null): string[] {
  return (repoTags ?? []).map((t) => {
    try {
      return canonicalRefName(t);
    } catch (e) {
      throw new ArchiveError(`load: manifest.json: invalid RepoTag ${JSON.stringify(t)}: ${(e as Error).message}`);
    }
  });
}

async function readManifestJson(contents: ArchiveContents): Promise<ArchiveManifestEntry[]> {
  if (!contents.has('manifest.json')) throw new ArchiveError('load: archive has no manifest.json (corrupt, truncated or not a docker-save archive)');
  const manifestJson = parseJson<ArchiveManifestEntry[]>(await contents.readSmall('manifest.json'), 'manifest.json');
  if (!Array.isArray(manifestJson)) throw new ArchiveError('load: manifest.json is not an array');
  for (const [i, m] of manifestJson.entries()) {
    if (typeof m?.Config !== 'string' || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string')) {
      throw new ArchiveError(`load: manifest.json entry ${i} is malformed`);
    }
  }
  return manifestJson;
}

/** Import the images manifest.json of an archive read by readArchive describes. */
export async function importDockerArchive(store: ContentStore, refs: RefStore, contents: ArchiveContents): Promise<LoadedImage[]> {
  const manifestJson = await readManifestJson(contents);
  // Verify and store every image before tagging anything.
  const results: LoadedImage[] = [];
  for (const m of manifestJson) {
    const tags = canonicalTags(m.RepoTags);
    const configBuf = await contents.readSmall(m.Config);
    const configDigest = digestOf(configBuf);
    const hexName = /^([a-f0-9]{64})\.json$/.exec(path.posix.basename(m.Config));
    if (hexName && `sha256:${hexName[1]}` !== configDigest) {
      throw new ArchiveError(`load: config ${m.Config} has digest ${configDigest}`);
    }
    const config = parseJson<ImageConfig>(configBuf, `config ${m.Config}`);
    const diffIds = config?.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || !diffIds.every(isDigest)) throw new ArchiveError(`load: config ${m.Config} has no valid rootfs.diff_ids`);
    if (diffIds.length !== m.Layers.length) {
      throw new ArchiveError(`load: ${m.Config}: ${m.Layers.length} layers but ${diffIds.length} diff_ids`);
    }
    const layers: Descriptor[] = [];
    for (const [j, lp] of m.Layers.entries()) {
      const blob = await contents.toBlob(lp);
      const compression = await blobCompression(store, blob.digest);
      const diffId = compression !== 'none' ? (await hashStream(await openPlain(store, blob.digest, true))).digest : blob.digest;
      if (diffId !== diffIds[j]) {
        throw new ArchiveError(`load: layer ${lp}: diffID mismatch: config expects ${diffIds[j]}, layer has ${diffId}`);
      }
      layers.push({ mediaType: LAYER_MEDIA_TYPE[compression], digest: blob.digest, size: blob.size });
    }
    const cfg = await store.put(configBuf, configDigest);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.DOCKER_MANIFEST,
      config: { mediaType: MediaTypes.DOCKER_CONFIG, digest: cfg.digest, size: cfg.size },
      layers,
    };
    const man = await store.put(Buffer.from(JSON.stringify(manifest)));
    results.push({ manifestDigest: man.digest, mediaType: MediaTypes.DOCKER_MANIFEST, configDigest: cfg.digest, tags });
  }
  for (const r of results) for (const t of r.tags) await refs.tag(t, r.manifestDigest, r.mediaType);
  return results;
}
