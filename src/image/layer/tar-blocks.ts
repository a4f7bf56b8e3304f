/**
 * A pass-through that follows a tar's block structure (512-byte header, then the entry's data
 * padded to a block, then the next header ... until an all-zero block) without parsing more
 * than each header's size field. Used to tell how a tar stream ended:
 *
 *   - archives (docker save / OCI layouts): `sawEnd()` says whether the end-of-archive block
 *     was reached, so an archive cut off exactly at an entry boundary counts as truncated;
 *   - layers: Go's archive/tar, and so Docker, containerd and umoci, accepts a tar that stops
 *     right after an entry's data, with the padding and end-of-archive blocks missing (umoci
 *     0.4.7 writes such layers), while tar-stream rejects it. With `completePadding` the missing
 *     padding of the last entry is supplied at the end, so such a layer extracts as with Docker;
 *     a stream that stops inside a header or inside an entry's data is left as it is (an error).
 */
import { Transform, type TransformCallback } from 'node:stream';

export class TarBlockError extends Error {}

function headerSize(h: Buffer): number {
  const f = h.subarray(124, 136);
  if (f[0]! & 0x80) {
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return v;
  }
  const s = f.toString('latin1').replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

export interface TarBlockWalker {
  stream: Transform;
  /** True once the all-zero end-of-archive block went through. */
  sawEnd(): boolean;
}

export function tarBlockWalker(opts: { completePadding?: boolean } = {}): TarBlockWalker {
  let pending = Buffer.alloc(0); // an incomplete header
  let data = 0; // data bytes of the current entry still to come
  let pad = 0; // padding bytes still to come after them
  let end = false;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!end) {
        let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          const n = Math.min(data + pad, buf.length);
          const fromData = Math.min(data, n);
          data -= fromData;
          pad -= n - fromData;
          buf = buf.subarray(n);
          if (data + pad > 0 || buf.length < 512) break;
          const h = buf.subarray(0, 512);
          buf = buf.subarray(512);
          if (h.every((b) => b === 0)) {
            end = true;
            break;
          }
          const size = headerSize(h);
          if (!Number.isSafeInteger(size) || size < 0) return cb(new TarBlockError('corrupt tar header'));
          data = size;
          pad = (512 - (size % 512)) % 512;
        }
        pending = end ? Buffer.alloc(0) : Buffer.from(buf);
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      // Only when the stream stopped at the end of an entry's data: nothing is made up.
      if (opts.completePadding && !end && data === 0 && pad > 0 && pending.length === 0) this.push(Buffer.alloc(pad));
      cb();
    },
  });
  return { stream, sawEnd: () => end };
}
