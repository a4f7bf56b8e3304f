/**
 * Content digests (OCI / go-digest compatible): `sha256:<64 lowercase hex>` and
 * `sha512:<128 lowercase hex>`, streaming hashers, and a verifying Transform.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type Algorithm = 'sha256' | 'sha512';

/** A validated digest string such as `sha256:e3b0...`. */
export type Digest = string & { readonly __digest: unique symbol };

export const ALGORITHMS: readonly Algorithm[] = ['sha256', 'sha512'];
const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
/** go-digest DigestRegexp: used to tell "malformed" from "unsupported algorithm". */
const GENERIC_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestErrorCode = 'invalid-format' | 'invalid-length' | 'unsupported' | 'mismatch' | 'size-mismatch';

export class DigestError extends Error {
  constructor(readonly code: DigestErrorCode, message: string) {
    super(message);
    this.name = 'DigestError';
  }
}

export function isAlgorithm(s: string): s is Algorithm {
  return s === 'sha256' || s === 'sha512';
}

/**
 * Validate and return `s` as a Digest. Error messages follow go-digest:
 * "invalid checksum digest format", "invalid checksum digest length",
 * "unsupported digest algorithm".
 */
export function parseDigest(s: string): Digest {
  const i = s.indexOf(':');
  if (i <= 0 || i + 1 === s.length) throw new DigestError('invalid-format', 'invalid checksum digest format');
  const algo = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (!isAlgorithm(algo)) {
    if (!GENERIC_DIGEST.test(s)) throw new DigestError('invalid-format', 'invalid checksum digest format');
    throw new DigestError('unsupported', 'unsupported digest algorithm');
  }
  if (hex.length !== HEX_LENGTH[algo]) throw new DigestError('invalid-length', 'invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new DigestError('invalid-format', 'invalid checksum digest format');
  return s as Digest;
}

export function isDigest(s: unknown): s is Digest {
  if (typeof s !== 'string') return false;
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(':')) as Algorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function makeDigest(algo: Algorithm, hex: string): Digest {
  return parseDigest(`${algo}:${hex}`);
}

/** One-shot digest of in-memory data. */
export function digestOf(data: Buffer | Uint8Array | string, algo: Algorithm = 'sha256'): Digest {
  return `${algo}:${createHash(algo).update(data).digest('hex')}` as Digest;
}

export interface Digester {
  readonly algorithm: Algorithm;
  /** Bytes hashed so far. */
  readonly size: number;
  update(chunk: Buffer | Uint8Array | string): this;
  /** Finalise; may be called once. */
  digest(): Digest;
}

export function createDigester(algo: Algorithm = 'sha256'): Digester {
  if (!isAlgorithm(algo)) throw new DigestError('unsupported', 'unsupported digest algorithm');
  const hash: Hash = createHash(algo);
  let size = 0;
  const d: Digester = {
    algorithm: algo,
    get size() {
      return size;
    },
    update(chunk) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      hash.update(buf);
      return d;
    },
    digest() {
      return `${algo}:${hash.digest('hex')}` as Digest;
    },
  };
  return d;
}

export function mismatchError(expected: Digest, actual: Digest): DigestError {
  return new DigestError('mismatch', `digest mismatch: expected ${expected}, got ${actual}`);
}

export function sizeMismatchError(expected: number, actual: number | string): DigestError {
  return new DigestError('size-mismatch', `size mismatch: expected ${expected} bytes, got ${actual}`);
}

export interface VerifyingStream extends Transform {
  /** Bytes seen so far. */
  readonly bytes: number;
}

/**
 * A pass-through Transform that hashes everything flowing through it and, at
 * the end, fails with "digest mismatch: expected X, got Y" if the content does
 * not match `expected`. When `expectedSize` is given, it fails as soon as more
 * bytes arrive than expected, and at the end if fewer arrived.
 */
export function verifyingStream(expected: Digest | string, expectedSize?: number): VerifyingStream {
  const want = parseDigest(expected);
  const digester = createDigester(digestAlgorithm(want));
  let failed = false;
  const t = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (failed) return cb();
      digester.update(chunk);
      if (expectedSize !== undefined && digester.size > expectedSize) {
        failed = true;
        return cb(sizeMismatchError(expectedSize, `at least ${digester.size}`));
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (expectedSize !== undefined && digester.size !== expectedSize) {
        return cb(sizeMismatchError(expectedSize, digester.size));
      }
      const got = digester.digest();
      if (got !== want) return cb(mismatchError(want, got));
      cb();
    },
  });
  Object.defineProperty(t, 'bytes', { get: () => digester.size });
  return t as VerifyingStream;
}
