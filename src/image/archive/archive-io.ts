/**
 * What docker-archive.ts and oci-archive.ts share: the error type, the result of a load, a
 * streaming tar writer, and a one-pass tar reader that ingests blobs into the content store
 * while it reads (`blobs/<algo>/<hex>` verified against their names, other large files hashed)
 * and keeps the small metadata files (manifest.json, index.json, configs) in memory.
 *
 * Both formats may list their files in any order, and a docker ≥ 25 archive holds both, so
 * the whole archive is read once and the format decided afterwards from what it contained.
 */
import { pipeline, Readable, Writable } from 'node:stream';
import { pipeline as pipelineP } from 'node:stream/promises';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { createDigester, parseDigest, type Digest } from '../digest';
import type { ContentStore } from '../content/store';
import type { Platform } from '../oci-types';
import { decompressed, sniffCompression, type Compression } from '../layer/decompress';
import { tarBlockWalker } from '../layer/tar-blocks';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export interface LoadedImage {
  /** What the tags point at: an image manifest, or an index for a multi-platform image. */
  manifestDigest: Digest;
  /** Media type of `manifestDigest`. */
  mediaType: string;
  /** The image config; for an index, that of its first platform manifest in the archive. */
  configDigest: Digest;
  /** Canonical names tagged (may be empty: an untagged image is loaded but not named). */
  tags: string[];
  /** For an index: every platform manifest loaded (nested indexes flattened). */
  manifests?: { digest: Digest; configDigest: Digest; platform?: Platform }[];
}

// ---- small helpers ----------------------------------------------------------------------

/** Compression of a stored blob, from its magic bytes. */
export async function blobCompression(store: ContentStore, d: Digest): Promise<Compression> {
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

export async function hashStream(s: Readable): Promise<{ digest: Digest; size: number }> {
  const d = createDigester('sha256');
  for await (const c of s) d.update(c as Buffer);
  return { digest: d.digest(), size: d.size };
}

export function parseJson<T>(buf: Buffer, what: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (e) {
    throw new ArchiveError(`load: ${what} is not valid JSON: ${(e as Error).message}`);
  }
}

// ---- writing ----------------------------------------------------------------------------

export interface TarWriter {
  dir(name: string): Promise<void>;
  file(name: string, data: Buffer): Promise<void>;
  /** Stream `size` bytes from `src` (an error on `src` fails the archive). */
  stream(name: string, size: number, src: Readable): Promise<void>;
  /** Finish the archive; resolves when `out` has taken everything. */
  finish(): Promise<void>;
  /** Abandon the archive after an error (waits for the pipeline to wind down). */
  abort(e: Error): Promise<void>;
}

/** A deterministic (mtime 0, root-owned) tar written to `out`. */
export function tarWriter(out: Writable): TarWriter {
  const pack = tar.pack();
  const done = pipelineP(pack, out);
  done.catch(() => undefined); // observed by finish()/abort()
  const mtime = new Date(0);
  const cb = (resolve: () => void, reject: (e: Error) => void) => (err?: Error | null) => (err ? reject(err) : resolve());
  return {
    dir: (name) => new Promise((res, rej) => pack.entry({ name, type: 'directory', mode: 0o755, mtime }, cb(res, rej))),
    file: (name, data) => new Promise((res, rej) => pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, cb(res, rej))),
    stream: (name, size, src) =>
      new Promise((res, rej) => {
        const entry = pack.entry({ name, size, mode: 0o644, mtime }, cb(res, rej));
        // The entry's callback reports a failure; without a listener its 'error' event would
        // also be an uncaught exception (e.g. a store blob failing verification mid-save).
        entry.on('error', () => undefined);
        src.on('error', (e) => entry.destroy(e));
        src.pipe(entry);
      }),
    finish: async () => {
      pack.finalize();
      await done;
    },
    abort: async (e) => {
      pack.destroy(e);
      await done.catch(() => undefined);
    },
  };
}

// ---- reading ----------------------------------------------------------------------------

/** Files up to this size outside blobs/ are kept in memory (manifest.json, configs, ...). */
const SMALL_FILE = 8 << 20;

export type Entry =
  | { kind: 'mem'; data: Buffer }
  | { kind: 'blob'; digest: Digest; size: number }
  | { kind: 'link'; target: string };

export function normPath(p: string): string {
  const n = path.posix.normalize(p.replace(/^\.?\/+/, ''));
  return n.replace(/\/+$/, '');
}

/** An archive read into the store: its file list, and accessors that follow symlinks. */
export class ArchiveContents {
  constructor(
    private readonly store: ContentStore,
    readonly entries: ReadonlyMap<string, Entry>,
  ) {}

  has(p: string): boolean {
    return this.entries.has(normPath(p));
  }

  lookup(p: string): Entry {
    let name = normPath(p);
    for (let hops = 0; hops < 16; hops++) {
      const e = this.entries.get(name);
      if (!e) throw new ArchiveError(`load: archive has no file ${p}`);
      if (e.kind !== 'link') return e;
      name = e.target;
    }
    throw new ArchiveError(`load: too many symlinks resolving ${p}`);
  }

  /** A small file's bytes (from memory or, for a blob, the store). */
  async readSmall(p: string): Promise<Buffer> {
    const e = this.lookup(p);
    if (e.kind === 'mem') return e.data;
    if (e.kind === 'blob' && e.size <= SMALL_FILE) return this.store.read(e.digest);
    throw new ArchiveError(`load: ${p} is too large`);
  }

  /** A file as a blob in the store (small in-memory files are stored on demand). */
  async toBlob(p: string): Promise<{ digest: Digest; size: number }> {
    const e = this.lookup(p);
    if (e.kind === 'blob') return { digest: e.digest, size: e.size };
    if (e.kind === 'mem') return this.store.put(e.data);
    throw new ArchiveError(`load: ${p} is not a file`);
  }
}

/**
 * Read a tar (optionally gzip/zstd-compressed) in one pass. Files under blobs/<algo>/<hex>
 * are ingested with their name as the expected digest (a mismatch fails the load, naming the
 * entry), other large files and *layer.tar are ingested and hashed, the rest kept in memory.
 * Throws ArchiveError for a corrupt, truncated or non-tar input.
 */
export async function readArchive(store: ContentStore, input: Readable): Promise<ArchiveContents> {
  const entries = new Map<string, Entry>();
  const extract = tar.extract();
  const src = decompressed(input);
  const walker = tarBlockWalker();
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
  return new ArchiveContents(store, entries);
}
