/**
 * Content-addressed blob store.
 *
 *   <root>/blobs/<algo>/<hex>   complete, verified blobs (read-only files)
 *   <root>/ingest/<random>      in-flight writes
 *
 * A blob only ever appears under blobs/ through rename(2) of a fully written,
 * fsynced and verified temp file, so a writer killed at any moment leaves at
 * most a stray file under ingest/ (removed by cleanupIngests()), never
 * something that looks like a blob.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { pipeline, Readable } from 'node:stream';
import {
  ALGORITHMS,
  createDigester,
  digestAlgorithm,
  digestHex,
  mismatchError,
  parseDigest,
  sizeMismatchError,
  verifyingStream,
  type Algorithm,
  type Digest,
} from '../digest';

export class BlobNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(readonly digest: Digest) {
    super(`blob ${digest} not found`);
    this.name = 'BlobNotFoundError';
  }
}

export interface IngestResult {
  digest: Digest;
  size: number;
  /** False when the blob was already present (the new copy was discarded). */
  written: boolean;
}

export interface IngestOptions {
  /** Hash algorithm when no expected digest is given (default sha256). */
  algorithm?: Algorithm;
}

export type IngestSource = Readable | AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>;

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class ContentStore {
  readonly root: string;
  readonly blobsDir: string;
  readonly ingestDir: string;
  /** Temp files of ingests running in this process; cleanupIngests() leaves them alone. */
  private readonly active = new Set<string>();
  private initialized: Promise<void> | undefined;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.blobsDir = path.join(this.root, 'blobs');
    this.ingestDir = path.join(this.root, 'ingest');
  }

  /** Create the directory layout (idempotent; called implicitly). */
  init(): Promise<void> {
    this.initialized ??= (async () => {
      await fsp.mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
      for (const algo of ALGORITHMS) await fsp.mkdir(path.join(this.blobsDir, algo), { recursive: true, mode: 0o755 });
    })();
    return this.initialized;
  }

  /** Path of a blob (whether or not it exists). */
  blobPath(digest: Digest | string): string {
    const d = parseDigest(digest);
    return path.join(this.blobsDir, digestAlgorithm(d), digestHex(d));
  }

  /**
   * Stream `source` into the store. With `expectedDigest` (and optionally
   * `expectedSize`) the content is verified before it becomes visible; on any
   * failure the temp file is removed and the error rethrown, e.g.
   * "digest mismatch: expected X, got Y".
   */
  async ingest(
    source: IngestSource,
    expectedDigest?: Digest | string,
    expectedSize?: number,
    opts: IngestOptions = {},
  ): Promise<IngestResult> {
    const want = expectedDigest !== undefined ? parseDigest(expectedDigest) : undefined;
    if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
      throw new RangeError(`invalid expected size ${expectedSize}`);
    }
    await this.init();
    const algo = want ? digestAlgorithm(want) : (opts.algorithm ?? 'sha256');
    const digester = createDigester(algo);
    const tmpName = `${Date.now()}-${process.pid}-${randomBytes(8).toString('hex')}`;
    const tmp = path.join(this.ingestDir, tmpName);
    this.active.add(tmpName);
    let renamed = false;
    try {
      const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      try {
        for await (const chunk of source as AsyncIterable<Buffer | Uint8Array | string>) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          digester.update(buf);
          if (expectedSize !== undefined && digester.size > expectedSize) {
            throw sizeMismatchError(expectedSize, `at least ${digester.size}`);
          }
          let off = 0;
          while (off < buf.length) {
            const { bytesWritten } = await fh.write(buf, off, buf.length - off);
            off += bytesWritten;
          }
        }
        if (expectedSize !== undefined && digester.size !== expectedSize) {
          throw sizeMismatchError(expectedSize, digester.size);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const size = digester.size;
      const got = digester.digest();
      if (want !== undefined && got !== want) throw mismatchError(want, got);

      const final = this.blobPath(got);
      if (await this.has(got)) {
        return { digest: got, size, written: false };
      }
      await fsp.chmod(tmp, 0o444);
      // rename(2) is atomic; a concurrent ingest of the same content simply
      // replaces an identical file.
      await fsp.rename(tmp, final);
      renamed = true;
      await fsyncDir(path.dirname(final));
      return { digest: got, size, written: true };
    } finally {
      this.active.delete(tmpName);
      if (!renamed) await fsp.rm(tmp, { force: true });
    }
  }

  /** Convenience: ingest an in-memory buffer. */
  put(data: Buffer | Uint8Array | string, expectedDigest?: Digest | string, opts?: IngestOptions): Promise<IngestResult> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return this.ingest([buf], expectedDigest, undefined, opts);
  }

  async has(digest: Digest | string): Promise<boolean> {
    try {
      const st = await fsp.stat(this.blobPath(digest));
      return st.isFile();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Size in bytes; throws BlobNotFoundError. */
  async size(digest: Digest | string): Promise<number> {
    const d = parseDigest(digest);
    try {
      return (await fsp.stat(this.blobPath(d))).size;
    } catch (e) {
      if (isNotFound(e)) throw new BlobNotFoundError(d);
      throw e;
    }
  }

  /**
   * Open a blob for reading; throws BlobNotFoundError. With `verify`, the
   * stream re-hashes the content and errors with "digest mismatch: ..." at the
   * end if the file on disk was corrupted.
   */
  async open(digest: Digest | string, opts: { verify?: boolean } = {}): Promise<Readable> {
    const d = parseDigest(digest);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.blobPath(d), fsc.O_RDONLY);
    } catch (e) {
      if (isNotFound(e)) throw new BlobNotFoundError(d);
      throw e;
    }
    const rs = fh.createReadStream({ autoClose: true });
    if (!opts.verify) return rs;
    const v = verifyingStream(d);
    return pipeline(rs, v, () => {
      /* errors surface on v */
    });
  }

  /** Read a whole blob into memory (manifests, configs). */
  async read(digest: Digest | string, opts: { verify?: boolean } = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.open(digest, opts)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Remove a blob; returns false if it was not there. */
  async delete(digest: Digest | string): Promise<boolean> {
    const p = this.blobPath(digest);
    try {
      await fsp.unlink(p);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    await fsyncDir(path.dirname(p));
    return true;
  }

  /** All complete blobs (sorted). */
  async list(): Promise<Digest[]> {
    await this.init();
    const out: Digest[] = [];
    for (const algo of ALGORITHMS) {
      let names: string[];
      try {
        names = await fsp.readdir(path.join(this.blobsDir, algo));
      } catch (e) {
        if (isNotFound(e)) continue;
        throw e;
      }
      for (const n of names) {
        try {
          out.push(parseDigest(`${algo}:${n}`));
        } catch {
          /* not a blob */
        }
      }
    }
    return out.sort();
  }

  /**
   * Remove leftover temp files under ingest/ (from killed writers) that are
   * at least `olderThanMs` old; ingests running in this process are skipped.
   * Returns the number removed.
   */
  async cleanupIngests(olderThanMs = 0): Promise<number> {
    await this.init();
    const now = Date.now();
    let removed = 0;
    for (const n of await fsp.readdir(this.ingestDir)) {
      if (this.active.has(n)) continue;
      const p = path.join(this.ingestDir, n);
      try {
        const st = await fsp.lstat(p);
        if (now - st.mtimeMs < olderThanMs) continue;
        await fsp.rm(p, { force: true, recursive: true });
        removed++;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return removed;
  }
}
