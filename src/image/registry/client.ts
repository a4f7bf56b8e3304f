/**
 * A client of the OCI distribution spec (pull side):
 *
 *   const client = new RegistryClient({ configPath: '~/.docker/config.json' });
 *   const ref = normalizeReference('busybox');
 *   const r = await client.resolveManifest(ref);                 // platform manifest
 *   const p = await client.pull(ref, store, { onProgress });     // config + layers → store
 *
 * Endpoints: docker.io → https://registry-1.docker.io; localhost:*, 127.0.0.1:*,
 * [::1]:* and `insecureRegistries` → plain http; anything else https.
 * Blobs stream into the ContentStore, which verifies digest and size before a
 * blob becomes visible: a lying registry never leaves a blob behind.
 */
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { DigestError, digestAlgorithm, isDigest, parseDigest, type Digest } from '../digest';
import {
  MANIFEST_ACCEPT,
  MediaTypes,
  isIndexMediaType,
  isManifestMediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from '../oci-types';
import { DEFAULT_DOMAIN, type ImageReference } from '../reference';
import type { ContentStore } from '../content/store';
import { Authorizer, TokenError, describeCause, loadCredentials, type Credentials, type FetchFn } from './auth';

export type RegistryErrorCode =
  | 'not-found'
  | 'unauthorized'
  | 'unreachable'
  | 'digest-mismatch'
  | 'no-platform'
  | 'protocol';

export class RegistryError extends Error {
  constructor(readonly code: RegistryErrorCode, message: string, readonly status?: number) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface RegistryClientOptions {
  /** Docker-style config.json with `auths`. */
  configPath?: string;
  /** Explicit credentials per host (take precedence over configPath). */
  credentials?: Record<string, Credentials>;
  /** Hosts (host[:port]) reached over plain http. */
  insecureRegistries?: string[];
  userAgent?: string;
  /** For tests / custom agents. */
  fetch?: FetchFn;
  /** Largest manifest accepted (bytes, default 4 MiB). */
  maxManifestSize?: number;
}

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ResolvedManifest {
  /** Digest of the platform manifest. */
  digest: Digest;
  mediaType: string;
  manifest: ImageManifest;
  /** Raw bytes of the platform manifest, exactly as served. */
  bytes: Buffer;
  /** When the reference pointed at an index / manifest list. */
  index?: { digest: Digest; mediaType: string; index: ImageIndex; bytes: Buffer };
}

export type ProgressStatus =
  | 'Pulling fs layer'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Already exists';

export interface ProgressEvent {
  /** Short digest (12 hex chars), like Docker's progress ids. */
  id: string;
  status: ProgressStatus;
  current?: number;
  total?: number;
}

export interface PullOptions {
  onProgress?: (e: ProgressEvent) => void;
  /** Parallel blob downloads (default 3). */
  concurrency?: number;
  platform?: PlatformSpec;
  signal?: AbortSignal;
}

export interface PullResult {
  manifestDigest: Digest;
  manifest: ImageManifest;
  config: ImageConfig;
  mediaType: string;
  configDigest: Digest;
  indexDigest?: Digest;
}

const DEFAULT_PLATFORM: PlatformSpec = { os: 'linux', architecture: 'amd64' };

/** Size of the pieces a blob download is written to the store in (see fetchBlob). */
const BLOB_WRITE_CHUNK = 1 << 20;

export function shortId(d: Digest | string): string {
  return d.slice(d.indexOf(':') + 1, d.indexOf(':') + 13);
}

/** Base URL of the registry serving `domain`. */
export function registryEndpoint(domain: string, insecure: readonly string[] = []): string {
  if (domain === DEFAULT_DOMAIN || domain === 'index.docker.io') return 'https://registry-1.docker.io';
  const hostOnly = domain.startsWith('[') ? domain.slice(0, domain.indexOf(']') + 1) : domain.split(':')[0]!;
  const plain =
    hostOnly === 'localhost' || hostOnly === '127.0.0.1' || hostOnly === '[::1]' || insecure.includes(domain) || insecure.includes(hostOnly);
  return `${plain ? 'http' : 'https'}://${domain}`;
}

function platformString(p: { os?: string; architecture?: string; variant?: string } | undefined): string {
  if (!p) return 'unknown';
  return [p.os ?? 'unknown', p.architecture ?? 'unknown', p.variant].filter(Boolean).join('/');
}

function normalizeVariant(arch: string, variant: string | undefined): string | undefined {
  if (arch === 'arm64' && (variant === undefined || variant === '' || variant === 'v8')) return 'v8';
  if (arch === 'arm' && (variant === undefined || variant === '')) return 'v7';
  return variant || undefined;
}

/** Pick the manifest for `want` from an index (os/arch/variant). */
export function selectPlatform(index: ImageIndex, want: PlatformSpec, refString: string): Descriptor {
  const candidates = index.manifests.filter((m) => m.platform && isManifestMediaType(m.mediaType ?? MediaTypes.OCI_MANIFEST));
  const matches = candidates.filter(
    (m) => m.platform!.os === want.os && m.platform!.architecture === want.architecture,
  );
  let pick: Descriptor | undefined;
  if (want.variant !== undefined || want.architecture === 'arm64' || want.architecture === 'arm') {
    const wv = normalizeVariant(want.architecture, want.variant);
    pick = matches.find((m) => normalizeVariant(m.platform!.architecture, m.platform!.variant) === wv);
  } else {
    pick = matches.find((m) => !m.platform!.variant) ?? matches[0];
  }
  if (!pick) {
    const available = [
      ...new Set(
        candidates
          .map((m) => platformString(m.platform))
          .filter((s) => s !== 'unknown/unknown'),
      ),
    ];
    throw new RegistryError(
      'no-platform',
      `no manifest for ${platformString(want)} in ${refString} (available: ${available.join(', ') || 'none'})`,
    );
  }
  return pick;
}

/**
 * A descriptor from a registry is untrusted input: its digest goes into URLs and store paths,
 * its size bounds the download. Reject malformed ones up front, saying where they are.
 */
function checkDescriptor(d: Descriptor, what: string): void {
  if (typeof d !== 'object' || d === null) throw new RegistryError('protocol', `${what} is not a descriptor`);
  if (!isDigest(d.digest)) throw new RegistryError('protocol', `${what} has an invalid digest ${JSON.stringify(d.digest)}`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new RegistryError('protocol', `${what} has an invalid size ${JSON.stringify(d.size)}`);
}

interface ErrorBody {
  errors?: { code?: string; message?: string }[];
}

async function readErrorBody(res: Response): Promise<string> {
  try {
    const text = await res.text();
    const body = JSON.parse(text) as ErrorBody;
    const e = body.errors?.[0];
    if (e) return [e.code?.toLowerCase().replace(/_/g, ' '), e.message].filter(Boolean).join(': ');
    return '';
  } catch {
    return '';
  }
}

async function readLimited(res: Response, limit: number, what: string): Promise<Buffer> {
  const len = Number(res.headers.get('content-length') ?? '-1');
  if (len > limit) {
    await res.body?.cancel();
    throw new RegistryError('protocol', `${what} too large (${len} bytes > ${limit})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (res.body) {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += c.length;
      if (total > limit) throw new RegistryError('protocol', `${what} too large (more than ${limit} bytes)`);
      chunks.push(Buffer.from(c));
    }
  }
  return Buffer.concat(chunks);
}

/** Run `fn` over `items` with at most `n` in flight; first error rejects (after in-flight work settles). */
async function mapLimit<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed) throw failed.e;
  return out;
}

export class RegistryClient {
  private readonly fetchFn: FetchFn;
  private readonly insecure: string[];
  private readonly auth: Authorizer;
  private readonly userAgent: string;
  private readonly maxManifestSize: number;

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.fetchFn = opts.fetch ?? fetch;
    this.insecure = opts.insecureRegistries ?? [];
    this.userAgent = opts.userAgent ?? 'berth/0.1';
    this.maxManifestSize = opts.maxManifestSize ?? 4 * 1024 * 1024;
    this.auth = new Authorizer((host) => this.credentialsFor(host), this.fetchFn);
  }

  /** What push and login share with the pull side: one Authorizer (and its token cache). */
  transport(): { auth: Authorizer; fetchFn: FetchFn; userAgent: string; configPath?: string } {
    return { auth: this.auth, fetchFn: this.fetchFn, userAgent: this.userAgent, configPath: this.opts.configPath };
  }

  private async credentialsFor(host: string): Promise<Credentials | undefined> {
    const explicit = this.opts.credentials?.[host];
    if (explicit) return explicit;
    if (!this.opts.configPath) return undefined;
    return loadCredentials(this.opts.configPath, host);
  }

  endpoint(domain: string): string {
    return registryEndpoint(domain, this.insecure);
  }

  /**
   * One request with Docker's auth dance: anonymous (or cached auth) first,
   * then on 401 authenticate from the challenge and retry once.
   */
  private async request(
    domain: string,
    urlPath: string,
    init: { method?: string; headers?: Record<string, string>; scope: string; signal?: AbortSignal },
  ): Promise<Response> {
    const url = this.endpoint(domain) + urlPath;
    const send = async (authorization: string | undefined): Promise<Response> => {
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...init.headers };
      if (authorization) headers.Authorization = authorization;
      try {
        return await this.fetchFn(url, { method: init.method ?? 'GET', headers, redirect: 'follow', signal: init.signal });
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') throw e;
        throw new RegistryError('unreachable', `cannot reach registry ${domain}: ${describeCause(e)}`);
      }
    };
    let res = await send(await this.auth.headerFor(domain, init.scope));
    if (res.status !== 401) return res;
    const challenge = res.headers.get('www-authenticate');
    await res.body?.cancel();
    let retry: string | undefined;
    try {
      retry = await this.auth.onUnauthorized(domain, init.scope, challenge);
    } catch (e) {
      if (e instanceof TokenError) throw this.unauthorized(domain, e.message);
      throw e;
    }
    if (!retry) throw this.unauthorized(domain, 'authentication required');
    res = await send(retry);
    if (res.status === 401) {
      const detail = (await readErrorBody(res)) || 'authentication required';
      throw this.unauthorized(domain, detail.replace(/^unauthorized: /, ''));
    }
    return res;
  }

  private unauthorized(domain: string, detail: string): RegistryError {
    return new RegistryError('unauthorized', `unauthorized: ${detail} (log in with berth login ${domain})`, 401);
  }

  /** GET /v2/: true when the registry speaks v2 (after authenticating if asked to). */
  async ping(domain: string): Promise<void> {
    const res = await this.request(domain, '/v2/', { scope: '' });
    await res.body?.cancel();
    if (!res.ok) throw new RegistryError('protocol', `registry ${domain} answered HTTP ${res.status} to /v2/`, res.status);
  }

  private scope(ref: ImageReference): string {
    return `repository:${ref.path}:pull`;
  }

  /** Fetch a manifest or index by tag or digest; verifies its digest. */
  async fetchManifest(
    ref: ImageReference,
    reference: string,
    signal?: AbortSignal,
  ): Promise<{ digest: Digest; mediaType: string; bytes: Buffer; body: ImageManifest | ImageIndex }> {
    const refString = ref.familiarString();
    const res = await this.request(ref.domain, `/v2/${ref.path}/manifests/${reference}`, {
      headers: { Accept: MANIFEST_ACCEPT },
      scope: this.scope(ref),
      signal,
    });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new RegistryError('not-found', `manifest for ${refString} not found: manifest unknown`, 404);
    }
    if (!res.ok) {
      const detail = await readErrorBody(res);
      throw new RegistryError('protocol', `fetching manifest for ${refString}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`, res.status);
    }
    const bytes = await readLimited(res, this.maxManifestSize, `manifest for ${refString}`);
    // Verify against what we asked for (a digest) or what the registry claims.
    const expected = reference.includes(':') ? parseDigest(reference) : undefined;
    const headerDigest = res.headers.get('docker-content-digest');
    const algo = expected ? digestAlgorithm(expected) : 'sha256';
    const actual = `${algo}:${createHash(algo).update(bytes).digest('hex')}` as Digest;
    if (expected && actual !== expected) {
      throw new RegistryError('digest-mismatch', `manifest for ${refString}: digest mismatch: expected ${expected}, got ${actual}`);
    }
    if (headerDigest) {
      let hd: Digest | undefined;
      try {
        hd = parseDigest(headerDigest);
      } catch {
        hd = undefined; // unsupported algorithm: ignore the hint
      }
      if (hd) {
        const check = digestAlgorithm(hd) === algo ? actual : (`${digestAlgorithm(hd)}:${createHash(digestAlgorithm(hd)).update(bytes).digest('hex')}` as Digest);
        if (check !== hd) {
          throw new RegistryError(
            'digest-mismatch',
            `manifest for ${refString}: digest mismatch: registry says ${hd}, content is ${check}`,
          );
        }
      }
    }
    let body: ImageManifest | ImageIndex;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new RegistryError('protocol', `manifest for ${refString} is not valid JSON: ${(e as Error).message}`);
    }
    const ct = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const mediaType = (body as { mediaType?: string }).mediaType || ct || ('manifests' in body ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST);
    return { digest: actual, mediaType, bytes, body };
  }

  /**
   * Resolve `ref` (tag or digest) to a single-platform manifest; for an index
   * / manifest list, the entry for `platform` (default linux/amd64).
   */
  async resolveManifest(ref: ImageReference, platform: PlatformSpec = DEFAULT_PLATFORM, signal?: AbortSignal): Promise<ResolvedManifest> {
    if (!ref.path) throw new RegistryError('protocol', `reference ${ref.toString()} has no repository name`);
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const first = await this.fetchManifest(ref, reference, signal);
    const refString = ref.familiarString();
    if (isIndexMediaType(first.mediaType) || 'manifests' in first.body) {
      const index = first.body as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new RegistryError('protocol', `index for ${refString} has no manifests`);
      const desc = selectPlatform(index, platform, refString);
      checkDescriptor(desc, `index for ${refString}: manifest for ${platformString(platform)}`);
      const m = await this.fetchManifest(ref, desc.digest, signal);
      if (m.digest !== desc.digest) {
        throw new RegistryError('digest-mismatch', `manifest for ${refString}: digest mismatch: expected ${desc.digest}, got ${m.digest}`);
      }
      if (!isManifestMediaType(m.mediaType) || !('layers' in m.body)) {
        throw new RegistryError('protocol', `unsupported manifest type ${m.mediaType} for ${platformString(platform)} in ${refString}`);
      }
      return {
        digest: m.digest,
        mediaType: m.mediaType,
        manifest: m.body as ImageManifest,
        bytes: m.bytes,
        index: { digest: first.digest, mediaType: first.mediaType, index, bytes: first.bytes },
      };
    }
    if (!isManifestMediaType(first.mediaType) || !('layers' in first.body) || !('config' in first.body)) {
      throw new RegistryError('protocol', `unsupported manifest type ${first.mediaType} for ${refString}`);
    }
    return { digest: first.digest, mediaType: first.mediaType, manifest: first.body as ImageManifest, bytes: first.bytes };
  }

  /** GET a blob: the response, checked to be a 2xx with a body. */
  private async blobResponse(ref: ImageReference, digest: Digest, signal?: AbortSignal): Promise<Response & { body: ReadableStream<Uint8Array> }> {
    const res = await this.request(ref.domain, `/v2/${ref.path}/blobs/${digest}`, { scope: this.scope(ref), signal });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new RegistryError('not-found', `blob ${digest} not found in ${ref.name()}: blob unknown`, 404);
    }
    if (!res.ok || !res.body) {
      const detail = await readErrorBody(res);
      throw new RegistryError('protocol', `fetching blob ${digest}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`, res.status);
    }
    return res as Response & { body: ReadableStream<Uint8Array> };
  }

  /** GET a blob as a stream (no verification: callers ingest it into a store). */
  async openBlob(ref: ImageReference, digest: Digest, signal?: AbortSignal): Promise<{ stream: Readable; size?: number }> {
    const res = await this.blobResponse(ref, digest, signal);
    const len = res.headers.get('content-length');
    return {
      stream: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
      size: len !== null ? Number(len) : undefined,
    };
  }

  /**
   * Download one blob into the store (digest + size verified by the store). The body is read
   * straight from fetch's web stream (no Readable.fromWeb + Transform in between) and handed to
   * the store in BLOB_WRITE_CHUNK pieces: fetch delivers 16-64 KiB chunks, and one awaited write
   * (a thread-pool round trip) per chunk cost more than copying them into larger buffers
   * (bench/images.sh: ~25% of the pull time of a 80 MiB image on loopback).
   */
  async fetchBlob(
    ref: ImageReference,
    desc: Descriptor,
    store: ContentStore,
    onBytes?: (current: number, total: number) => void,
    onReceived?: () => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const digest = parseDigest(desc.digest);
    const res = await this.blobResponse(ref, digest, signal);
    const reader = res.body.getReader();
    let current = 0;
    let lastReport = 0;
    async function* pieces(): AsyncGenerator<Buffer> {
      let buf = Buffer.allocUnsafe(BLOB_WRITE_CHUNK);
      let n = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        current += value.byteLength;
        const now = Date.now();
        if (onBytes && (now - lastReport >= 100 || current === desc.size)) {
          lastReport = now;
          onBytes(current, desc.size);
        }
        if (n === 0 && value.byteLength >= BLOB_WRITE_CHUNK) {
          yield Buffer.from(value.buffer, value.byteOffset, value.byteLength); // already large: no copy
          continue;
        }
        for (let off = 0; off < value.byteLength; ) {
          const k = Math.min(BLOB_WRITE_CHUNK - n, value.byteLength - off);
          buf.set(value.subarray(off, off + k), n);
          n += k;
          off += k;
          if (n === BLOB_WRITE_CHUNK) {
            yield buf; // the store writes it before asking for more, but a fresh buffer is cheap
            buf = Buffer.allocUnsafe(BLOB_WRITE_CHUNK);
            n = 0;
          }
        }
      }
      if (n > 0) yield buf.subarray(0, n);
      onReceived?.();
    }
    try {
      await store.ingest(pieces(), digest, desc.size);
    } catch (e) {
      await reader.cancel().catch(() => undefined); // stop the download (no-op once it ended or failed)
      if (e instanceof DigestError) {
        throw new RegistryError('digest-mismatch', `failed to pull blob ${digest} from ${ref.name()}: ${e.message}`);
      }
      throw e;
    }
  }

  /**
   * Pull `ref`: resolve the platform manifest, download config and layers
   * (skipping blobs already in the store), store manifest (and index) too.
   */
  async pull(ref: ImageReference, store: ContentStore, opts: PullOptions = {}): Promise<PullResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const resolved = await this.resolveManifest(ref, opts.platform ?? DEFAULT_PLATFORM, opts.signal);
    const { manifest } = resolved;
    if (!manifest.config?.digest || !Array.isArray(manifest.layers)) {
      throw new RegistryError('protocol', `manifest for ${ref.familiarString()} has no config or layers`);
    }
    checkDescriptor(manifest.config, `manifest for ${ref.familiarString()}: config`);
    manifest.layers.forEach((l, i) => checkDescriptor(l, `manifest for ${ref.familiarString()}: layer ${i}`));
    const layerDigests = new Set(manifest.layers.map((l) => l.digest));
    const blobs: Descriptor[] = [manifest.config];
    const seen = new Set<string>([manifest.config.digest]);
    for (const l of manifest.layers) {
      if (seen.has(l.digest)) continue;
      seen.add(l.digest);
      blobs.push(l);
    }
    const present = await Promise.all(blobs.map((b) => store.has(b.digest)));
    blobs.forEach((b, i) => {
      if (!layerDigests.has(b.digest)) return;
      progress({ id: shortId(b.digest), status: present[i] ? 'Already exists' : 'Pulling fs layer' });
    });
    const todo = blobs.filter((_, i) => !present[i]);
    await mapLimit(todo, opts.concurrency ?? 3, async (desc) => {
      const isLayer = layerDigests.has(desc.digest);
      const id = shortId(desc.digest);
      await this.fetchBlob(
        ref,
        desc,
        store,
        isLayer ? (current, total) => progress({ id, status: 'Downloading', current, total }) : undefined,
        isLayer ? () => progress({ id, status: 'Verifying Checksum' }) : undefined,
        opts.signal,
      );
      if (isLayer) progress({ id, status: 'Download complete' });
    });
    const configBytes = await store.read(manifest.config.digest);
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8'));
    } catch (e) {
      throw new RegistryError('protocol', `image config of ${ref.familiarString()} is not valid JSON: ${(e as Error).message}`);
    }
    await store.put(resolved.bytes, resolved.digest);
    if (resolved.index) await store.put(resolved.index.bytes, resolved.index.digest);
    const result: PullResult = {
      manifestDigest: resolved.digest,
      manifest,
      config,
      mediaType: resolved.mediaType,
      configDigest: parseDigest(manifest.config.digest),
    };
    if (resolved.index) result.indexDigest = resolved.index.digest;
    return result;
  }
}
