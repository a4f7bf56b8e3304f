/**
 * Push side of the OCI distribution spec:
 *
 *   await push(client, normalizeReference('127.0.0.1:5000/app:v1'), store, manifestDigest, { onProgress });
 *
 * For every blob (config + layers; for an index every child manifest's blobs,
 * child manifests before the index):
 *   HEAD /v2/<name>/blobs/<digest>                       → exists: "Layer already exists"
 *   POST /v2/<name>/blobs/uploads/?mount=<d>&from=<repo>  → 201: "Mounted from <repo>"
 *   POST /v2/<name>/blobs/uploads/ → Location, then
 *     PUT <location>?digest=<d>            (blob ≤ chunkSize, monolithic)
 *     PATCH <location> (Content-Range)…, PUT <location>?digest=<d>   (chunked)
 * and finally PUT /v2/<name>/manifests/<tag>, checking Docker-Content-Digest.
 * Auth goes through the client's Authorizer with scope repository:<name>:pull,push.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { parseDigest, type Digest } from '../digest';
import { MediaTypes, isIndexMediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci-types';
import type { ImageReference } from '../reference';
import type { ContentStore } from '../content/store';
import { TokenError, describeCause, type Authorizer, type FetchFn } from './auth';
import { RegistryError, shortId, type RegistryClient } from './client';

export type PushStatus = 'Preparing' | 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | `Mounted from ${string}`;

export interface PushProgressEvent {
  /** Short digest (12 hex chars), like Docker's progress ids. */
  id: string;
  status: PushStatus;
  current?: number;
  total?: number;
}

export interface PushOptions {
  onProgress?: (e: PushProgressEvent) => void;
  /** Parallel blob uploads (default 3). */
  concurrency?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 8 MiB). */
  chunkSize?: number;
  /** Other repositories on the same registry to try a cross-repo mount from ("other/repo" or "host/other/repo"). */
  mountFrom?: string[];
  signal?: AbortSignal;
}

export interface PushResult {
  /** Digest of the pushed top-level manifest (or index). */
  digest: Digest;
  mediaType: string;
  size: number;
  /** Tag pushed (undefined when pushed by digest). */
  tag?: string;
  /** Blob counts (config and layers, deduplicated). */
  pushed: number;
  existed: number;
  mounted: number;
}

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

interface ErrorBody {
  errors?: { code?: string; message?: string; detail?: unknown }[];
}

/** "name unknown: repository name not known to registry" from an error body; '' if none. */
async function errorDetail(res: Response): Promise<string> {
  try {
    const text = await res.text();
    try {
      const e = (JSON.parse(text) as ErrorBody).errors?.[0];
      if (e) return [e.code?.toLowerCase().replace(/_/g, ' '), e.message].filter(Boolean).join(': ');
    } catch {
      /* not JSON */
    }
    return text.trim().slice(0, 200);
  } catch {
    return '';
  }
}

/** Run `fn` over `items` with at most `n` in flight; first error rejects after in-flight work settles. */
async function mapLimit<T>(items: readonly T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed) throw failed.e;
}

/** Re-chunk a stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* rechunk(src: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const c of src as AsyncIterable<Buffer>) {
    let buf = c;
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts);
}

type BlobOutcome = 'pushed' | 'existed' | 'mounted';

class PushSession {
  private readonly auth: Authorizer;
  private readonly fetchFn: FetchFn;
  private readonly userAgent: string;
  private readonly base: string;
  private readonly scope: string;
  private readonly blobs = new Map<string, Promise<BlobOutcome>>();
  private readonly progress: (e: PushProgressEvent) => void;
  private readonly chunkSize: number;
  private readonly mountFrom: string[];

  constructor(
    client: RegistryClient,
    private readonly ref: ImageReference,
    private readonly store: ContentStore,
    private readonly opts: PushOptions,
  ) {
    // The client's own Authorizer and fetch, so tokens / challenges are shared with pulls.
    const t = client.transport();
    this.auth = t.auth;
    this.fetchFn = t.fetchFn;
    this.userAgent = t.userAgent;
    this.base = client.endpoint(ref.domain);
    this.scope = `repository:${ref.path}:pull,push`;
    this.progress = opts.onProgress ?? (() => undefined);
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize <= 0) throw new RangeError(`invalid chunk size ${opts.chunkSize}`);
    const prefix = ref.domain + '/';
    this.mountFrom = (opts.mountFrom ?? [])
      .map((r) => (r.startsWith(prefix) ? r.slice(prefix.length) : r))
      .filter((r) => r !== ref.path && !/^[^/]*[.:][^/]*\//.test(r) && /^[a-z0-9]/.test(r));
  }

  private get name(): string {
    return this.ref.name();
  }

  private unauthorized(detail: string): RegistryError {
    return new RegistryError('unauthorized', `unauthorized: ${detail} (log in with berth login ${this.ref.domain})`, 401);
  }

  /** One request with the auth dance; `body` must be re-sendable (a Buffer). */
  async send(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Response> {
    const go = async (authorization: string | undefined): Promise<Response> => {
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...init.headers };
      if (authorization) headers.Authorization = authorization;
      if (init.body !== undefined) headers['Content-Length'] = String(init.body.length);
      try {
        return await this.fetchFn(url, { method, headers, body: init.body, redirect: 'follow', signal: this.opts.signal });
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') throw e;
        throw new RegistryError('unreachable', `cannot reach registry ${this.ref.domain}: ${describeCause(e)}`);
      }
    };
    let res = await go(await this.auth.headerFor(this.ref.domain, this.scope));
    if (res.status !== 401) return res;
    const challenge = res.headers.get('www-authenticate');
    await res.body?.cancel();
    let retry: string | undefined;
    try {
      retry = await this.auth.onUnauthorized(this.ref.domain, this.scope, challenge);
    } catch (e) {
      if (e instanceof TokenError) throw this.unauthorized(e.message);
      throw e;
    }
    if (!retry) throw this.unauthorized('authentication required');
    res = await go(retry);
    if (res.status === 401) {
      const detail = (await errorDetail(res)) || 'authentication required';
      throw this.unauthorized(detail.replace(/^unauthorized: /, ''));
    }
    return res;
  }

  /** An actionable error for an unexpected response. */
  async fail(res: Response, what: string): Promise<RegistryError> {
    const detail = await errorDetail(res);
    if (res.status === 404) {
      return new RegistryError('not-found', `${what}: ${detail || 'name unknown'}: repository ${this.name} not found (HTTP 404)`, 404);
    }
    if (res.status === 403) {
      return new RegistryError(
        'unauthorized',
        `${what}: denied${detail ? `: ${detail}` : ''} (HTTP 403; does your account have push access to ${this.name}? log in with berth login ${this.ref.domain})`,
        403,
      );
    }
    const where = res.status >= 500 ? `registry ${this.ref.domain} failed` : 'unexpected response';
    return new RegistryError('protocol', `${what}: ${where}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`, res.status);
  }

  private url(p: string): string {
    return `${this.base}/v2/${this.ref.path}${p}`;
  }

  /** Resolve a Location header (relative or absolute) against the registry. */
  private location(res: Response, what: string): URL {
    const loc = res.headers.get('location');
    if (!loc) throw new RegistryError('protocol', `${what}: registry sent no Location header`);
    return new URL(loc, this.base + '/');
  }

  private async blobExists(digest: Digest): Promise<boolean> {
    const res = await this.send('HEAD', this.url(`/blobs/${digest}`));
    await res.body?.cancel();
    if (res.ok) return true;
    if (res.status === 404) return false;
    throw await this.fail(res, `checking blob ${digest}`);
  }

  /** Push one blob once per session (deduplicated across manifests). */
  pushBlob(desc: Descriptor, isLayer: boolean): Promise<BlobOutcome> {
    let p = this.blobs.get(desc.digest);
    if (!p) {
      p = this.uploadBlob(desc, isLayer);
      this.blobs.set(desc.digest, p);
    }
    return p;
  }

  private async uploadBlob(desc: Descriptor, isLayer: boolean): Promise<BlobOutcome> {
    const digest = parseDigest(desc.digest);
    const id = shortId(digest);
    const emit = (status: PushStatus, current?: number, total?: number) => {
      if (!isLayer) return;
      const e: PushProgressEvent = { id, status };
      if (current !== undefined) e.current = current;
      if (total !== undefined) e.total = total;
      this.progress(e);
    };
    if (!(await this.store.has(digest))) {
      throw new RegistryError('not-found', `blob ${digest} of ${this.ref.familiarString()} is not in the local content store`);
    }
    const size = await this.store.size(digest);
    if (desc.size !== undefined && size !== desc.size) {
      throw new RegistryError('digest-mismatch', `blob ${digest}: local size ${size} differs from manifest size ${desc.size}`);
    }
    if (await this.blobExists(digest)) {
      emit('Layer already exists');
      return 'existed';
    }
    let session: URL | undefined;
    for (const from of this.mountFrom) {
      const q = new URLSearchParams({ mount: digest, from });
      const res = await this.send('POST', this.url(`/blobs/uploads/?${q}`));
      await res.body?.cancel();
      if (res.status === 201) {
        emit(`Mounted from ${from}`);
        return 'mounted';
      }
      if (res.status === 202) {
        // Mount refused; the registry opened an ordinary upload instead. Keep the last one.
        if (session) await this.cancelUpload(session);
        session = this.location(res, `uploading blob ${digest}`);
        continue;
      }
      if (session) await this.cancelUpload(session);
      throw await this.fail(res, `mounting blob ${digest} from ${from}`);
    }
    if (!session) {
      const res = await this.send('POST', this.url('/blobs/uploads/'));
      if (res.status !== 202) throw await this.fail(res, `starting upload of blob ${digest}`);
      await res.body?.cancel();
      session = this.location(res, `starting upload of blob ${digest}`);
    }
    emit('Pushing', 0, size);
    try {
      if (size <= this.chunkSize) {
        const data = await this.store.read(digest);
        await this.finish(session, digest, data);
      } else {
        let offset = 0;
        const src = await this.store.open(digest);
        try {
          for await (const chunk of rechunk(src, this.chunkSize)) {
            const res = await this.send('PATCH', session.toString(), {
              headers: {
                'Content-Type': 'application/octet-stream',
                'Content-Range': `${offset}-${offset + chunk.length - 1}`,
              },
              body: chunk,
            });
            if (res.status !== 202) throw await this.fail(res, `uploading blob ${digest} (bytes ${offset}-${offset + chunk.length - 1})`);
            await res.body?.cancel();
            offset += chunk.length;
            session = this.location(res, `uploading blob ${digest}`);
            emit('Pushing', offset, size);
          }
        } finally {
          src.destroy();
        }
        if (offset !== size) throw new RegistryError('digest-mismatch', `blob ${digest}: read ${offset} bytes, expected ${size}`);
        await this.finish(session, digest);
      }
    } catch (e) {
      await this.cancelUpload(session);
      throw e;
    }
    emit('Pushing', size, size);
    emit('Pushed');
    return 'pushed';
  }

  /** Final PUT <location>?digest=<d> (with the whole blob when monolithic). */
  private async finish(session: URL, digest: Digest, data?: Buffer): Promise<void> {
    const u = new URL(session.toString());
    u.searchParams.set('digest', digest);
    const res = await this.send('PUT', u.toString(), {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data ?? Buffer.alloc(0),
    });
    if (res.status !== 201 && res.status !== 204) throw await this.fail(res, `completing upload of blob ${digest}`);
    await res.body?.cancel();
    const got = res.headers.get('docker-content-digest');
    if (got && got !== digest) {
      throw new RegistryError('digest-mismatch', `blob ${digest}: registry stored it as ${got}`);
    }
  }

  private async cancelUpload(session: URL): Promise<void> {
    try {
      const res = await this.send('DELETE', session.toString());
      await res.body?.cancel();
    } catch {
      /* best effort */
    }
  }

  async putManifest(reference: string, bytes: Buffer, mediaType: string, digest: Digest): Promise<void> {
    const res = await this.send('PUT', this.url(`/manifests/${reference}`), {
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 204) {
      throw await this.fail(res, `pushing manifest ${this.ref.path}:${reference}`);
    }
    await res.body?.cancel();
    const got = res.headers.get('docker-content-digest');
    if (got && got !== digest) {
      throw new RegistryError('digest-mismatch', `manifest ${this.ref.path}:${reference}: registry says ${got}, ours is ${digest}`);
    }
  }

  /** Push the blobs of a manifest (or, for an index, its children) and then the manifest itself. */
  async pushManifestTree(digest: Digest, reference: string, hintMediaType?: string, depth = 0): Promise<{ mediaType: string; size: number }> {
    if (depth > 4) throw new RegistryError('protocol', `index nesting too deep at ${digest}`);
    if (!(await this.store.has(digest))) {
      throw new RegistryError('not-found', `manifest ${digest} of ${this.ref.familiarString()} is not in the local content store`);
    }
    const bytes = await this.store.read(digest);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new RegistryError('digest-mismatch', `local manifest ${digest} is corrupted (content is ${actual})`);
    }
    let body: ImageManifest | ImageIndex;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new RegistryError('protocol', `manifest ${digest} is not valid JSON: ${(e as Error).message}`);
    }
    const mediaType =
      (body as { mediaType?: string }).mediaType || hintMediaType || ('manifests' in body ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST);
    if (isIndexMediaType(mediaType) || 'manifests' in body) {
      const index = body as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new RegistryError('protocol', `index ${digest} has no manifests`);
      // Children one after another (their blobs in parallel), each before the index.
      for (const m of index.manifests) {
        await this.pushManifestTree(parseDigest(m.digest), m.digest, m.mediaType, depth + 1);
      }
    } else {
      const manifest = body as ImageManifest;
      if (!manifest.config?.digest || !Array.isArray(manifest.layers)) {
        throw new RegistryError('protocol', `manifest ${digest} has no config or layers`);
      }
      const layers = manifest.layers.filter((l, i) => manifest.layers.findIndex((x) => x.digest === l.digest) === i);
      for (const l of layers) {
        if (!this.blobs.has(l.digest)) this.progress({ id: shortId(l.digest), status: 'Preparing' });
      }
      const todo: { desc: Descriptor; isLayer: boolean }[] = [
        ...layers.map((desc) => ({ desc, isLayer: true })),
        { desc: manifest.config, isLayer: false },
      ];
      await mapLimit(todo, this.opts.concurrency ?? 3, async (t) => {
        await this.pushBlob(t.desc, t.isLayer);
      });
    }
    await this.putManifest(reference, bytes, mediaType, digest);
    return { mediaType, size: bytes.length };
  }

  async counts(): Promise<{ pushed: number; existed: number; mounted: number }> {
    const c = { pushed: 0, existed: 0, mounted: 0 };
    for (const p of this.blobs.values()) c[await p]++;
    return c;
  }
}

/**
 * Push the manifest (or index) `manifestDigest` from `store` to `ref`
 * (its tag, "latest" by default, or its digest), uploading missing blobs first.
 */
export async function push(
  client: RegistryClient,
  ref: ImageReference,
  store: ContentStore,
  manifestDigest: Digest | string,
  opts: PushOptions = {},
): Promise<PushResult> {
  if (!ref.path) throw new RegistryError('protocol', `reference ${ref.toString()} has no repository name`);
  const digest = parseDigest(manifestDigest);
  if (ref.digest && ref.digest !== digest) {
    throw new RegistryError('digest-mismatch', `reference ${ref.toString()} names ${ref.digest}, but the image is ${digest}`);
  }
  const reference = ref.digest ? digest : (ref.tag ?? 'latest');
  const session = new PushSession(client, ref, store, opts);
  const { mediaType, size } = await session.pushManifestTree(digest, reference);
  const result: PushResult = { digest, mediaType, size, ...(await session.counts()) };
  if (!ref.digest) result.tag = reference;
  return result;
}
