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
 */
import { pipeline, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline as pipelineP } from 'node:stream/promises';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { createDigester, digestHex, digestOf, isDigest, parseDigest, type Digest } from '../digest';
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
import { decompressed, sniffCompression, type Compression } from '../layer/decompress';

const LAYER_MEDIA_TYPE: Record<Compression, string> = {
  gzip: MediaTypes.DOCKER_LAYER_GZIP,
  zstd: MediaTypes.OCI_LAYER_ZSTD,
  none: MediaTypes.DOCKER_LAYER,
};

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** One entry of manifest.json. */
export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export interface LoadedImage {
  manifestDigest: Digest;
  configDigest: Digest;
  /** Canonical names tagged. */
  tags: string[];
}

// ---- helpers --------------------------------------------------------------------------

async function blobCompression(store: ContentStore, d: Digest): Promise<Compression> {
  const s = await store.open(d);
  try {
    const head: Buffer[] = [];
    let n = 0;
    for await (const c of s) {
      head.push(c as Buffer);
      n += (c as Buffer).length;
      if (n >= 4) break;
    }
    return sniffCompression(Buffer.concat(head));
  } finally {
    s.destroy();
  }
}

/** Uncompressed content of a stored layer. */
async function openPlain(store: ContentStore, d: Digest, compressed: boolean): Promise<Readable> {
  const s = await store.open(d);
  return compressed ? decompressed(s) : s;
}

async function hashStream(s: Readable): Promise<{ digest: Digest; size: number }> {
  const d = createDigester('sha256');
  for await (const c of s) d.update(c as Buffer);
  return { digest: d.digest(), size: d.size };
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

  const pack = tar.pack();
  const done = pipelineP(pack, out);
  const mtime = new Date(0);
  const addBuf = (name: string, buf: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: buf.length, mode: 0o644, mtime }, buf, (err) => (err ? reject(err) : resolve())),
    );
  const addStream = (name: string, size: number, src: Readable) =>
    new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
      src.on('error', (e) => entry.destroy(e));
      src.pipe(entry);
    });
  const written = new Set<string>();

  try {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime }, (e) => (e ? reject(e) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime }, (e) => (e ? reject(e) : resolve())),
    );
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
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await done.catch(() => undefined);
    throw e;
  }
  await done;
}

/**
 * Pass-through that walks the tar block structure (header → ceil(size/512)
 * data blocks → header ...) and records whether an all-zero header block (the
 * end-of-archive marker) was reached, so an archive cut off exactly at an
 * entry boundary is detected as truncated.
 */
function tarEndDetector(): { stream: Transform; sawEnd: () => boolean } {
  let pending = Buffer.alloc(0);
  let skip = 0; // data bytes still to skip
  let end = false;
  const headerSize = (h: Buffer): number => {
    const f = h.subarray(124, 136);
    if (f[0]! & 0x80) {
      let v = 0;
      for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
      return v;
    }
    const s = f.toString('latin1').replace(/\0.*$/s, '').trim();
    return s === '' ? 0 : parseInt(s, 8);
  };
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!end) {
        let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          if (skip > 0) {
            const n = Math.min(skip, buf.length);
            skip -= n;
            buf = buf.subarray(n);
            if (skip > 0) break;
          }
          if (buf.length < 512) break;
          const h = buf.subarray(0, 512);
          buf = buf.subarray(512);
          if (h.every((b) => b === 0)) {
            end = true;
            break;
          }
          const size = headerSize(h);
          if (!Number.isFinite(size) || size < 0) return cb(new ArchiveError('load: corrupt tar header'));
          skip = Math.ceil(size / 512) * 512;
        }
        pending = end ? Buffer.alloc(0) : Buffer.from(buf);
      }
      cb(null, chunk);
    },
  });
  return { stream, sawEnd: () => end };
}

// ---- load -----------------------------------------------------------------------------

/** Files up to this size outside blobs/ are kept in memory (manifest.json, configs, ...). */
const SMALL_FILE = 8 << 20;

type Entry =
  | { kind: 'mem'; data: Buffer }
  | { kind: 'blob'; digest: Digest; size: number }
  | { kind: 'link'; target: string };

function normPath(p: string): string {
  const n = path.posix.normalize(p.replace(/^\.?\/+/, ''));
  return n.replace(/\/+$/, '');
}

/** Read `in` (a docker-save archive, optionally gzipped) and import its images. */
export async function loadDockerArchive(store: ContentStore, refs: RefStore, input: Readable): Promise<LoadedImage[]> {
  const entries = new Map<string, Entry>();
  const extract = tar.extract();
  const src = decompressed(input);
  const walker = tarEndDetector();
  pipeline(src, walker.stream, extract, () => {
    /* errors surface on extract */
  });
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = normPath(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        const target = h.linkname ?? '';
        const resolved = h.type === 'symlink' ? normPath(path.posix.join(path.posix.dirname(name), target)) : normPath(target);
        entries.set(name, { kind: 'link', target: resolved });
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const blobMatch = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
      if (blobMatch) {
        let expected: Digest;
        try {
          expected = parseDigest(`${blobMatch[1]}:${blobMatch[2]}`);
        } catch {
          throw new ArchiveError(`load: invalid blob name ${name}`);
        }
        const r = await store.ingest(entry as unknown as Readable, expected, h.size ?? undefined).catch((e: Error) => {
          throw new ArchiveError(`load: blob ${name} is corrupt or truncated: ${e.message}`);
        });
        entries.set(name, { kind: 'blob', digest: r.digest, size: r.size });
      } else if ((h.size ?? 0) <= SMALL_FILE && !name.endsWith('layer.tar')) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        entries.set(name, { kind: 'mem', data: Buffer.concat(chunks) });
      } else {
        const r = await store.ingest(entry as unknown as Readable, undefined, h.size ?? undefined);
        entries.set(name, { kind: 'blob', digest: r.digest, size: r.size });
      }
    }
  } catch (e) {
    src.destroy();
    if (e instanceof ArchiveError) throw e;
    throw new ArchiveError(`load: corrupt or truncated archive: ${(e as Error).message}`);
  }

  if (!walker.sawEnd()) throw new ArchiveError('load: truncated archive (no end-of-archive marker)');

  const lookup = (p: string): Entry => {
    let name = normPath(p);
    for (let hops = 0; hops < 16; hops++) {
      const e = entries.get(name);
      if (!e) throw new ArchiveError(`load: archive has no file ${p}`);
      if (e.kind !== 'link') return e;
      name = e.target;
    }
    throw new ArchiveError(`load: too many symlinks resolving ${p}`);
  };
  const readSmall = async (p: string): Promise<Buffer> => {
    const e = lookup(p);
    if (e.kind === 'mem') return e.data;
    if (e.kind === 'blob' && e.size <= SMALL_FILE) return store.read(e.digest);
    throw new ArchiveError(`load: ${p} is too large`);
  };
  const toBlob = async (p: string): Promise<{ digest: Digest; size: number }> => {
    const e = lookup(p);
    if (e.kind === 'blob') return { digest: e.digest, size: e.size };
    if (e.kind === 'mem') return store.put(e.data);
    throw new ArchiveError(`load: ${p} is not a file`);
  };

  if (!entries.has('manifest.json')) throw new ArchiveError('load: archive has no manifest.json (corrupt, truncated or not a docker-save archive)');
  let manifestJson: ArchiveManifestEntry[];
  try {
    manifestJson = JSON.parse((await readSmall('manifest.json')).toString('utf8'));
  } catch (e) {
    throw new ArchiveError(`load: manifest.json is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(manifestJson)) throw new ArchiveError('load: manifest.json is not an array');

  // Verify and store every image before tagging anything.
  const results: { image: LoadedImage; mediaType: string }[] = [];
  for (const [i, m] of manifestJson.entries()) {
    if (typeof m?.Config !== 'string' || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string')) {
      throw new ArchiveError(`load: manifest.json entry ${i} is malformed`);
    }
    const tags = (m.RepoTags ?? []).map((t) => {
      try {
        return canonicalRefName(t);
      } catch (e) {
        throw new ArchiveError(`load: invalid RepoTag ${JSON.stringify(t)}: ${(e as Error).message}`);
      }
    });
    const configBuf = await readSmall(m.Config);
    const configDigest = digestOf(configBuf);
    const hexName = /^([a-f0-9]{64})\.json$/.exec(path.posix.basename(m.Config));
    if (hexName && `sha256:${hexName[1]}` !== configDigest) {
      throw new ArchiveError(`load: config ${m.Config} has digest ${configDigest}`);
    }
    let config: ImageConfig;
    try {
      config = JSON.parse(configBuf.toString('utf8'));
    } catch (e) {
      throw new ArchiveError(`load: config ${m.Config} is not valid JSON: ${(e as Error).message}`);
    }
    const diffIds = config?.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || !diffIds.every(isDigest)) throw new ArchiveError(`load: config ${m.Config} has no valid rootfs.diff_ids`);
    if (diffIds.length !== m.Layers.length) {
      throw new ArchiveError(`load: ${m.Config}: ${m.Layers.length} layers but ${diffIds.length} diff_ids`);
    }
    const layers: Descriptor[] = [];
    for (const [j, lp] of m.Layers.entries()) {
      const blob = await toBlob(lp);
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
    const mbuf = Buffer.from(JSON.stringify(manifest));
    const man = await store.put(mbuf);
    results.push({ image: { manifestDigest: man.digest, configDigest: cfg.digest, tags }, mediaType: MediaTypes.DOCKER_MANIFEST });
  }
  for (const r of results) for (const t of r.image.tags) await refs.tag(t, r.image.manifestDigest, r.mediaType);
  return results.map((r) => r.image);
}
