import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { decompressed, sniffCompression } from './decompress';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function zstd(data: Buffer, ...args: string[]): Buffer {
  return execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 64 << 20 });
}

/** `b` as chunks: the first bytes one at a time (the magic split across chunks), then `size`-sized. */
function chunked(b: Buffer, size: number): Readable {
  const parts: Buffer[] = [b.subarray(0, 1), b.subarray(1, 2), b.subarray(2, 3)];
  for (let i = 3; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

const payload = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 'berth ')]);

test('sniffCompression tells gzip, zstd and plain apart by magic bytes', () => {
  assert.equal(sniffCompression(gzipSync(Buffer.from('x'))), 'gzip');
  assert.equal(sniffCompression(zstd(Buffer.from('x'))), 'zstd');
  assert.equal(sniffCompression(Buffer.from('ustar')), 'none');
  assert.equal(sniffCompression(Buffer.alloc(0)), 'none');
});

test('decompressed passes plain data through, in small chunks too', async () => {
  assert.deepEqual(await collect(decompressed(chunked(payload, 4096))), payload);
});

test('decompressed gunzips', async () => {
  assert.ok((await collect(decompressed(chunked(gzipSync(payload), 1000)))).equals(payload));
});

test('decompressed un-zstds one frame, multiple frames, and with a checksum', async () => {
  const one = zstd(payload, '-3');
  assert.ok((await collect(decompressed(chunked(one, 7)))).equals(payload));
  const two = Buffer.concat([zstd(payload.subarray(0, 1000)), zstd(payload.subarray(1000), '--check')]);
  assert.ok((await collect(decompressed(chunked(two, 65536)))).equals(payload));
});

test('a truncated zstd stream is an error, not short data', async () => {
  const z = zstd(payload);
  await assert.rejects(collect(decompressed(Readable.from([z.subarray(0, z.length >> 1)]))), /zstd/);
});

test('a truncated gzip stream is an error', async () => {
  const z = gzipSync(payload);
  await assert.rejects(collect(decompressed(Readable.from([z.subarray(0, z.length >> 1)]))), /unexpected end|incorrect|invalid/i);
});

test('an empty stream stays empty', async () => {
  assert.equal((await collect(decompressed(Readable.from([])))).length, 0);
});

test('a consumer that stops early releases the source stream too (plain, gzip, zstd)', async () => {
  const payload = randomBytes(256 << 10);
  for (const [kind, bytes] of [['plain', payload], ['gzip', gzipSync(payload)], ['zstd', zstd(payload)]] as const) {
    // An endless source (concatenated gzip members / zstd frames are valid streams): it is only
    // ever destroyed if the decompressed stream passes its consumer's early stop back to it.
    let off = 0;
    const src = new Readable({
      read() {
        this.push(bytes.subarray(off, off + 65536));
        off = off + 65536 >= bytes.length ? 0 : off + 65536;
      },
    });
    const d = decompressed(src);
    for await (const _ of d) break;
    for (let i = 0; i < 100 && !src.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(src.destroyed, `${kind}: source destroyed`);
  }
});
