/**
 * The image service: what the engine asks of images, over the content store (blobs), the refs
 * DB (tags and repo digests), the image records (one per image ID = config digest) and a layer
 * store (the snapshotter that unpacks layers). Pull, push, tag, import, save/load and history
 * live here; removal and garbage collection in `remove.ts`, commit in `commit.ts`.
 *
 * On disk, under `root`: `content/` (blobs), `refs.json`, `images.json`.
 */
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ContentStore } from './content/store';
import { RefStore, type RefRecord } from './content/refs';
import { ImageDb, type ImageEntry } from './content/images';
import { parseDigest, type Digest } from './digest';
import { parseDockerRef, parseNormalizedNamed, ReferenceError, type ImageReference } from './reference';
import { isIndexMediaType, MediaTypes, type ImageConfig, type ImageManifest } from './oci-types';
import { RegistryClient, type PlatformSpec, type RegistryClientOptions } from './registry/client';
import { push as pushImage } from './registry/push';
import type { Credentials } from './registry/auth';
import { importTarball, type ImportOptions } from './archive/import';
import { saveDockerArchive } from './archive/docker-archive';
import { loadArchive } from './archive/load';
import { layerMessage, throttled, type ProgressSink } from './progress';

/** The part of a snapshotter the image service needs. */
export interface LayerStore {
  /** Unpacks (idempotently) an image's layers; returns the layer ids, bottom first. */
  unpack(store: ContentStore, manifest: ImageManifest, config: ImageConfig): Promise<string[]>;
  listLayers(): Promise<string[]>;
  removeLayer(id: string): Promise<unknown>;
  /** A layer's uncompressed bytes (Docker's image size is their sum), when known. */
  layerSize?(id: string): Promise<number | undefined>;
}

/** An image as the engine and API see it. */
export interface Image {
  id: Digest;
  manifestDigest: Digest;
  manifest: ImageManifest;
  config: ImageConfig;
  /** Familiar names: "busybox:latest". */
  repoTags: string[];
  /** Familiar "name@digest" of the digests the image was pulled or pushed by. */
  repoDigests: string[];
  size: number;
  created: string;
  entry: ImageEntry;
}

export class ImageNotFoundError extends Error {
  constructor(readonly ref: string) {
    super(`No such image: ${ref}`);
    this.name = 'ImageNotFoundError';
  }
}

/** An operation conflicts with the image's use or names (HTTP 409 in the API). */
export class ImageConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageConflictError';
  }
}

export interface ImageServiceOptions {
  /** Directory of the image metadata and content (e.g. /var/lib/berth/image). */
  root: string;
  /** Where layers are unpacked; without one, images are stored but not unpacked. */
  layers?: LayerStore;
  /** Registry client settings (insecure registries, credentials file). */
  registry?: RegistryClientOptions;
}

export interface PullOptions {
  onProgress?: ProgressSink;
  platform?: PlatformSpec;
  /** Credentials for this request (the API's X-Registry-Auth), over the credentials file. */
  auth?: Credentials;
  signal?: AbortSignal;
}

const HEX_ID = /^(?:sha256:)?([0-9a-f]{1,64})$/;

export class ImageService {
  readonly root: string;
  readonly content: ContentStore;
  readonly refs: RefStore;
  readonly images: ImageDb;
  readonly layers: LayerStore | undefined;
  private readonly registryOptions: RegistryClientOptions;
  /** Start times of operations that are writing blobs (pull, import, load), for GC. */
  private readonly writers = new Map<symbol, number>();

  constructor(opts: ImageServiceOptions) {
    this.root = path.resolve(opts.root);
    this.content = new ContentStore(path.join(this.root, 'content'));
    this.refs = new RefStore(path.join(this.root, 'refs.json'));
    this.images = new ImageDb(path.join(this.root, 'images.json'));
    this.layers = opts.layers;
    this.registryOptions = opts.registry ?? {};
  }

  async init(): Promise<void> {
    await this.content.init();
    // Half-written blobs of a killed pull: nothing points at them.
    await this.content.cleanupIngests(0);
  }

  registry(auth?: Credentials, domain?: string): RegistryClient {
    if (!auth || !domain) return new RegistryClient(this.registryOptions);
    return new RegistryClient({ ...this.registryOptions, credentials: { ...this.registryOptions.credentials, [domain]: auth } });
  }

  /** Runs `fn` as a blob-writing operation: GC leaves blobs newer than its start alone. */
  async writing<T>(fn: () => Promise<T>): Promise<T> {
    const key = Symbol('writer');
    this.writers.set(key, Date.now() - 1000);
    try {
      return await fn();
    } finally {
      this.writers.delete(key);
    }
  }

  /** Start (ms) of the oldest blob-writing operation, Infinity when none runs. */
  oldestActiveOperation(): number {
    return Math.min(Infinity, ...this.writers.values());
  }

  // ---- lookup ---------------------------------------------------------------------------

  async readJson<T>(d: Digest): Promise<T> {
    return JSON.parse((await this.content.read(d)).toString('utf8')) as T;
  }

  /** The full image of a record. */
  async describe(entry: ImageEntry, refs?: RefRecord[]): Promise<Image> {
    const manifest = await this.readJson<ImageManifest>(entry.manifest);
    const config = await this.readJson<ImageConfig>(entry.id);
    const all = refs ?? (await this.refs.list());
    const mine = all.filter((r) => r.target === entry.manifest);
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const r of mine) {
      const ref = parseNormalizedNamed(r.name);
      (ref.digest ? repoDigests : repoTags).push(ref.familiarString());
    }
    return {
      id: entry.id,
      manifestDigest: entry.manifest,
      manifest,
      config,
      repoTags: repoTags.sort(),
      repoDigests: repoDigests.sort(),
      size: entry.size,
      created: config.created ?? entry.added,
      entry,
    };
  }

  /** Every image, newest first. */
  async list(): Promise<Image[]> {
    const refs = await this.refs.list();
    const out = await Promise.all((await this.images.list()).map((e) => this.describe(e, refs)));
    return out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  /**
   * Finds an image by reference (`busybox`, `busybox:1`, `name@sha256:…`), full ID or unique
   * ID prefix, as Docker does: a name that is tagged wins over an ID prefix.
   */
  async get(nameOrId: string): Promise<Image> {
    const entry = await this.findEntry(nameOrId);
    if (!entry) throw new ImageNotFoundError(nameOrId);
    return this.describe(entry);
  }

  async findEntry(nameOrId: string): Promise<ImageEntry | undefined> {
    let ref: ImageReference | undefined;
    try {
      ref = parseDockerRef(nameOrId);
    } catch (e) {
      if (!(e instanceof ReferenceError)) throw e;
    }
    const entries = await this.images.list();
    if (ref) {
      const rec = await this.refs.resolve(ref.toString());
      if (rec) return entries.find((e) => e.manifest === rec.target);
      // Pulled by tag, asked for by digest: any image stored under that manifest or index.
      if (ref.digest) {
        const byDigest = entries.find((e) => e.manifest === ref!.digest || e.index === ref!.digest);
        if (byDigest) return byDigest;
      }
    }
    const m = HEX_ID.exec(nameOrId);
    if (!m) return undefined;
    const prefix = `sha256:${m[1]}`;
    const hits = entries.filter((e) => e.id.startsWith(prefix));
    if (hits.length > 1) throw new ImageConflictError(`image ID prefix ${nameOrId} is ambiguous: it matches ${hits.length} images`);
    return hits[0];
  }

  // ---- storing --------------------------------------------------------------------------

  /** Records an image stored under `manifestDigest` (unpacking its layers) and returns its entry. */
  async register(manifestDigest: Digest, opts: { index?: Digest; mediaType?: string; onProgress?: ProgressSink } = {}): Promise<ImageEntry> {
    const manifest = await this.readJson<ImageManifest>(manifestDigest);
    if (isIndexMediaType(manifest.mediaType) || !manifest.config) {
      throw new Error(`${manifestDigest} is not a single-platform image manifest`);
    }
    const id = parseDigest(manifest.config.digest);
    const config = await this.readJson<ImageConfig>(id);
    let unpackedSize: number | undefined;
    if (this.layers) {
      const ids = manifest.layers.map((l) => l.digest.slice(l.digest.indexOf(':') + 1, l.digest.indexOf(':') + 13));
      for (const i of ids) opts.onProgress?.(layerMessage(i, 'Extracting'));
      const layerIds = await this.layers.unpack(this.content, manifest, config);
      for (const i of ids) opts.onProgress?.(layerMessage(i, 'Pull complete'));
      const sizes = this.layers.layerSize ? await Promise.all(layerIds.map((l) => this.layers!.layerSize!(l))) : [];
      if (sizes.length === layerIds.length && sizes.every((n) => n !== undefined)) unpackedSize = sizes.reduce((a, b) => a! + b!, 0);
    }
    // The same image (config) arriving under another manifest (a docker-archive load re-makes
    // it): keep the one it has, and point the new names at it, so no other tag is orphaned.
    const existing = await this.images.get(id);
    if (existing && existing.manifest !== manifestDigest) {
      for (const r of await this.refs.list(manifestDigest)) await this.refs.tag(r.name, existing.manifest, existing.manifestMediaType);
      return existing;
    }
    // Docker's SIZE: the layers as unpacked; without a snapshotter, the content's bytes.
    const size = unpackedSize ?? manifest.config.size + manifest.layers.reduce((n, l) => n + (l.size ?? 0), 0);
    const entry: ImageEntry = {
      id,
      manifest: manifestDigest,
      manifestMediaType: opts.mediaType ?? manifest.mediaType ?? MediaTypes.OCI_MANIFEST,
      size,
      added: new Date().toISOString(),
    };
    if (opts.index) entry.index = opts.index;
    return this.images.put(entry);
  }

  /** Points `name` (a tag reference) at an image. */
  async tag(source: string, target: string): Promise<Image> {
    const img = await this.get(source);
    let ref: ImageReference;
    try {
      ref = parseNormalizedNamed(target);
    } catch (e) {
      throw new ReferenceError('invalid-format', `invalid reference format: ${target}: ${(e as Error).message}`);
    }
    if (ref.digest) throw new ReferenceError('invalid-format', `refusing to create a tag with a digest reference: ${target}`);
    const tagged = ref.tag ? ref : ref.withTag('latest');
    await this.refs.tag(tagged.toString(), img.manifestDigest, img.entry.manifestMediaType);
    await this.images.markTagged(img.id);
    return this.get(img.id);
  }

  // ---- registries ------------------------------------------------------------------------

  /** `docker pull`: fetch, verify, unpack, record, tag; progress as Docker's JSON messages. */
  pull(refString: string, opts: PullOptions = {}): Promise<Image> {
    return this.writing(() => this.pullNow(refString, opts));
  }

  private async pullNow(refString: string, opts: PullOptions): Promise<Image> {
    const ref = parseDockerRef(refString);
    const emit = throttled(opts.onProgress ?? (() => undefined));
    // "Pulling from" once the manifest is resolved (dockerd's order): a failure before is an HTTP error.
    let announced = false;
    const announce = (): void => {
      if (!announced) emit({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest ?? 'latest' });
      announced = true;
    };
    const client = this.registry(opts.auth, ref.domain);
    const result = await client.pull(ref, this.content, {
      onProgress: (e) => {
        announce();
        emit(layerMessage(e.id, e.status, e.current, e.total));
      },
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    announce();
    const before = await this.refs.resolve(ref.toString());
    const entry = await this.register(result.manifestDigest, {
      ...(result.indexDigest ? { index: result.indexDigest } : {}),
      mediaType: result.mediaType,
      onProgress: emit,
    });
    const pulledBy = result.indexDigest ?? result.manifestDigest;
    await this.refs.tag(ref.trimNamed().withDigest(pulledBy).toString(), entry.manifest, entry.manifestMediaType);
    if (ref.tag) {
      await this.refs.tag(ref.toString(), entry.manifest, entry.manifestMediaType);
      await this.images.markTagged(entry.id);
    }
    emit({ status: `Digest: ${pulledBy}` });
    const upToDate = before?.target === entry.manifest;
    emit({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${ref.familiarString()}` });
    return this.get(entry.id);
  }

  /** `docker push`: uploads the image tagged `refString`. */
  async push(refString: string, opts: { onProgress?: ProgressSink; auth?: Credentials; signal?: AbortSignal } = {}): Promise<{ digest: Digest; size: number; tag?: string }> {
    const ref = parseDockerRef(refString);
    const img = await this.get(refString);
    const emit = throttled(opts.onProgress ?? (() => undefined));
    emit({ status: `The push refers to repository [${ref.name()}]` });
    const res = await pushImage(this.registry(opts.auth, ref.domain), ref, this.content, img.manifestDigest, {
      onProgress: (e) => emit(layerMessage(e.id, e.status, e.current, e.total)),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await this.refs.tag(ref.trimNamed().withDigest(res.digest).toString(), img.manifestDigest, img.entry.manifestMediaType);
    emit({ status: `${res.tag ?? ref.digest}: digest: ${res.digest} size: ${res.size}` });
    emit({ aux: { Tag: res.tag ?? '', Digest: res.digest, Size: res.size } });
    return { digest: res.digest, size: res.size, ...(res.tag ? { tag: res.tag } : {}) };
  }

  // ---- archives ----------------------------------------------------------------------------

  /** `docker import`: a filesystem tarball becomes a one-layer image. */
  import(tar: Readable, opts: ImportOptions = {}): Promise<Image> {
    return this.writing(() => this.importNow(tar, opts));
  }

  private async importNow(tar: Readable, opts: ImportOptions): Promise<Image> {
    // Tag only after the image is recorded and unpacked, so a failed unpack leaves no tag.
    const { ref, ...rest } = opts;
    const res = await importTarball(this.content, this.refs, tar, rest);
    const entry = await this.register(res.manifestDigest, { mediaType: MediaTypes.DOCKER_MANIFEST });
    if (ref !== undefined) {
      await this.refs.tag(parseDockerRef(ref).toString(), entry.manifest, entry.manifestMediaType);
      await this.images.markTagged(entry.id);
    }
    return this.get(entry.id);
  }

  /** `docker load`: returns the loaded images and the messages Docker prints ("Loaded image: …"). */
  load(input: Readable, onProgress?: ProgressSink): Promise<Image[]> {
    return this.writing(() => this.loadNow(input, onProgress));
  }

  private async loadNow(input: Readable, onProgress?: ProgressSink): Promise<Image[]> {
    const loaded = await loadArchive(this.content, this.refs, input);
    const out: Image[] = [];
    for (const l of loaded) {
      let manifest = l.manifestDigest;
      let index: Digest | undefined;
      if (isIndexMediaType(l.mediaType) && l.manifests?.length) {
        // Tags name the platform manifest berth runs (the index is kept as its origin).
        const pick = l.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? l.manifests[0]!;
        index = l.manifestDigest;
        manifest = pick.digest;
        for (const t of l.tags) await this.refs.tag(t, manifest);
      }
      const entry = await this.register(manifest, index ? { index } : {});
      const img = await this.get(entry.id);
      out.push(img);
      if (img.repoTags.length === 0) onProgress?.({ stream: `Loaded image ID: ${img.id}\n` });
      for (const t of img.repoTags) onProgress?.({ stream: `Loaded image: ${t}\n` });
    }
    return out;
  }

  /** `docker save`: names or IDs → a docker-archive tar on `out`. */
  async save(names: readonly string[], out: Writable): Promise<void> {
    const refNames: string[] = [];
    for (const n of names) {
      const img = await this.get(n);
      const named = (() => {
        try {
          return parseDockerRef(n).toString();
        } catch {
          return undefined;
        }
      })();
      const rec = named !== undefined ? await this.refs.resolve(named) : undefined;
      if (rec && rec.target === img.manifestDigest) refNames.push(rec.name);
      else if (img.repoTags.length > 0) refNames.push(...img.repoTags);
      else throw new ImageConflictError(`save: image ${n} has no tag; tag it first (berth tag ${n} NAME:TAG)`);
    }
    await saveDockerArchive(this.content, this.refs, [...new Set(refNames)], out);
  }

  /** `docker history`: newest first, layer-bearing entries carry the layer's size. */
  async history(nameOrId: string): Promise<{ id: string; created: number; createdBy: string; tags: string[]; size: number; comment: string }[]> {
    const img = await this.get(nameOrId);
    const hist = img.config.history ?? [];
    const layers = [...img.manifest.layers];
    const rows = hist.map((h) => {
      const size = h.empty_layer ? 0 : (layers.shift()?.size ?? 0);
      return { id: '<missing>', created: Math.floor(Date.parse(h.created ?? img.created) / 1000), createdBy: h.created_by ?? '', tags: [] as string[], size, comment: h.comment ?? '' };
    });
    rows.reverse();
    if (rows[0]) {
      rows[0].id = img.id;
      rows[0].tags = img.repoTags;
    }
    return rows;
  }
}
