/**
 * `docker import`: turn a root-filesystem tarball into a single-layer image.
 *
 * - Input may be a plain tar or a gzip-compressed tar (sniffed from the magic
 *   bytes 1f 8b).
 * - The layer is stored gzip-compressed. In one streaming pass the plain tar
 *   bytes are hashed (→ diffID) and gzip-compressed; the content store hashes
 *   the compressed bytes while writing them (→ layer digest).
 * - The manifest is a Docker schema2 manifest
 *   (application/vnd.docker.distribution.manifest.v2+json), like the one
 *   `docker import` produces with the classic image store; the config uses
 *   application/vnd.docker.container.image.v1+json.
 * - `changes` are parsed before anything is stored: an unknown or malformed
 *   instruction throws ImportChangeError and leaves the store untouched.
 */
import { createGzip } from 'node:zlib';
import { decompressed } from '../layer/decompress';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { createDigester, digestOf, type Digest } from '../digest';
import { MediaTypes, type ContainerConfig, type ImageConfig, type ImageManifest, type Platform } from '../oci-types';
import type { ContentStore, IngestSource } from '../content/store';
import { canonicalRefName, type RefStore } from '../content/refs';

export class ImportChangeError extends Error {
  constructor(readonly change: string, reason: string) {
    super(`invalid change "${change}": ${reason}`);
    this.name = 'ImportChangeError';
  }
}

export interface ImportOptions {
  /** Tag the result with this reference. */
  ref?: string;
  /** Dockerfile instructions applied to the config (`docker import --change`). */
  changes?: string[];
  /** Defaults to linux/amd64. */
  platform?: Partial<Platform>;
  /** Commit message stored in the history entry (default "Imported from -"). */
  message?: string;
  /** Creation time (default: now). */
  created?: Date;
}

export interface ImportResult {
  manifestDigest: Digest;
  configDigest: Digest;
  layerDigest: Digest;
  diffId: Digest;
}

// ---- stream helpers -----------------------------------------------------------------


/** Pass-through that hashes what flows through it. */
function hashingStream(): { stream: Transform; result: () => { digest: Digest; size: number } } {
  const d = createDigester('sha256');
  let final: { digest: Digest; size: number } | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      d.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      final = { digest: d.digest(), size: d.size };
      cb();
    },
  });
  return {
    stream,
    result: () => {
      if (!final) throw new Error('layer stream did not complete');
      return final;
    },
  };
}

// ---- change parsing -----------------------------------------------------------------

/** Instructions `docker import --change` accepts (HEALTHCHECK/ONBUILD are not supported here). */
const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'WORKDIR', 'VOLUME', 'STOPSIGNAL'];
const KNOWN_DOCKERFILE = ['FROM', 'RUN', 'ADD', 'COPY', 'ARG', 'SHELL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER'];

/** Split on whitespace honouring "double" / 'single' quotes and backslash escapes. */
function shellWords(s: string, change: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new ImportChangeError(change, 'unterminated quote');
  if (inWord) out.push(cur);
  return out;
}

/** Exec form (JSON array of strings) or undefined when `args` is not one. */
function jsonArray(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

/** key=value pairs, or the legacy single "key value" form. */
function keyValues(args: string, change: string, what: string): [string, string][] {
  const firstWord = args.split(/\s+/, 1)[0]!;
  if (!firstWord.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(args);
    if (!m || m[2]!.trim() === '') throw new ImportChangeError(change, `${what} needs a value`);
    return [[m[1]!, m[2]!.trim()]];
  }
  const pairs: [string, string][] = [];
  for (const w of shellWords(args, change)) {
    const i = w.indexOf('=');
    if (i <= 0) throw new ImportChangeError(change, `${what} expects key=value, got "${w}"`);
    pairs.push([w.slice(0, i), w.slice(i + 1)]);
  }
  return pairs;
}

/** Apply `changes` (Dockerfile instructions) to a container config; throws ImportChangeError. */
export function applyChanges(changes: readonly string[], base: ContainerConfig = {}): ContainerConfig {
  const cfg: ContainerConfig = JSON.parse(JSON.stringify(base));
  for (const raw of changes) {
    const line = raw.trim();
    const m = /^([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(line);
    if (!m) throw new ImportChangeError(raw, 'not a Dockerfile instruction');
    const instr = m[1]!.toUpperCase();
    const args = (m[2] ?? '').trim();
    if (!SUPPORTED.includes(instr)) {
      if (KNOWN_DOCKERFILE.includes(instr)) throw new ImportChangeError(raw, `${instr} is not a valid change command`);
      throw new ImportChangeError(raw, `unknown instruction: ${instr}`);
    }
    if (args === '') throw new ImportChangeError(raw, `${instr} requires at least one argument`);
    switch (instr) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const argv = jsonArray(args) ?? ['/bin/sh', '-c', args];
        if (instr === 'CMD') cfg.Cmd = argv;
        else cfg.Entrypoint = argv;
        break;
      }
      case 'ENV': {
        const env = cfg.Env ?? [];
        for (const [k, v] of keyValues(args, raw, 'ENV')) {
          const i = env.findIndex((e) => e.split('=', 1)[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        cfg.Env = env;
        break;
      }
      case 'LABEL': {
        const labels = cfg.Labels ?? {};
        for (const [k, v] of keyValues(args, raw, 'LABEL')) labels[k] = v;
        cfg.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = cfg.ExposedPorts ?? {};
        for (const p of args.split(/\s+/)) {
          const pm = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!pm) throw new ImportChangeError(raw, `invalid port "${p}"`);
          const lo = Number(pm[1]);
          const hi = pm[2] !== undefined ? Number(pm[2]) : lo;
          const proto = (pm[3] ?? 'tcp').toLowerCase();
          if (lo < 1 || hi > 65535 || hi < lo) throw new ImportChangeError(raw, `invalid port range "${p}"`);
          for (let n = lo; n <= hi; n++) ports[`${n}/${proto}`] = {};
        }
        cfg.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = cfg.Volumes ?? {};
        const list = jsonArray(args) ?? args.split(/\s+/);
        for (const v of list) {
          if (v === '') throw new ImportChangeError(raw, 'empty volume path');
          vols[v] = {};
        }
        cfg.Volumes = vols;
        break;
      }
      case 'USER':
        cfg.User = args;
        break;
      case 'STOPSIGNAL':
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(args)) throw new ImportChangeError(raw, `invalid signal "${args}"`);
        cfg.StopSignal = args;
        break;
      case 'WORKDIR': {
        const w = args;
        cfg.WorkingDir = w.startsWith('/') ? w : `${(cfg.WorkingDir ?? '/').replace(/\/$/, '')}/${w}`;
        break;
      }
    }
  }
  return cfg;
}

// ---- import -------------------------------------------------------------------------

/** Stores an uncompressed layer tar gzipped; returns the blob, its diff_id and plain size. */
export async function storeGzipLayer(
  store: ContentStore,
  plain: NodeJS.ReadableStream,
): Promise<{ layer: { digest: Digest; size: number }; diffId: Digest; plainSize: number }> {
  const hasher = hashingStream();
  const gz = createGzip();
  const compressed = pipeline(plain, hasher.stream, gz, () => {
    /* errors surface on gz, and so in ingest */
  });
  const layer = await store.ingest(compressed);
  const { digest: diffId, size: plainSize } = hasher.result();
  return { layer, diffId, plainSize };
}

export async function importTarball(
  store: ContentStore,
  refs: RefStore,
  tarStream: IngestSource,
  opts: ImportOptions = {},
): Promise<ImportResult> {
  // Validate everything that can fail cheaply before storing a byte.
  const containerConfig = applyChanges(opts.changes ?? []);
  const refName = opts.ref !== undefined ? canonicalRefName(opts.ref) : undefined;

  const { layer, diffId, plainSize } = await storeGzipLayer(store, decompressed(tarStream));
  if (plainSize === 0) throw new Error('import: the tarball is empty');

  const created = (opts.created ?? new Date()).toISOString();
  const platform = opts.platform ?? {};
  const config: ImageConfig = {
    architecture: platform.architecture ?? 'amd64',
    os: platform.os ?? 'linux',
    ...(platform.variant ? { variant: platform.variant } : {}),
    created,
    config: containerConfig,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, comment: opts.message ?? 'Imported from -' }],
  };
  const configBuf = Buffer.from(JSON.stringify(config));
  const cfg = await store.put(configBuf);

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.DOCKER_MANIFEST,
    config: { mediaType: MediaTypes.DOCKER_CONFIG, digest: cfg.digest, size: cfg.size },
    layers: [{ mediaType: MediaTypes.DOCKER_LAYER_GZIP, digest: layer.digest, size: layer.size }],
  };
  const manifestBuf = Buffer.from(JSON.stringify(manifest));
  const man = await store.put(manifestBuf, digestOf(manifestBuf));
  if (refName !== undefined) await refs.tag(refName, man.digest, MediaTypes.DOCKER_MANIFEST);
  return { manifestDigest: man.digest, configDigest: cfg.digest, layerDigest: layer.digest, diffId };
}
