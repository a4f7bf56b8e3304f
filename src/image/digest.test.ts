import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, DigestError, digestAlgorithm, digestHex, digestOf, isDigest, parseDigest, verifyingStream } from './digest';

const EMPTY256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('parseDigest accepts sha256/sha512 lowercase hex only, with go-digest messages', () => {
  assert.equal(parseDigest(EMPTY256), EMPTY256);
  assert.equal(parseDigest('sha512:' + 'a'.repeat(128)), 'sha512:' + 'a'.repeat(128));
  const bad: [string, string][] = [
    ['', 'invalid checksum digest format'],
    ['sha256', 'invalid checksum digest format'],
    ['sha256:', 'invalid checksum digest format'],
    [':abc', 'invalid checksum digest format'],
    ['sha256:' + 'A'.repeat(64), 'invalid checksum digest format'],
    ['sha256:' + 'g'.repeat(64), 'invalid checksum digest format'],
    ['sha256:' + 'a'.repeat(63), 'invalid checksum digest length'],
    ['sha512:' + 'a'.repeat(64), 'invalid checksum digest length'],
    ['md5:' + 'a'.repeat(32), 'unsupported digest algorithm'],
    ['SHA256:' + 'a'.repeat(64), 'invalid checksum digest format'],
  ];
  for (const [s, msg] of bad) {
    assert.throws(() => parseDigest(s), (e: Error) => e instanceof DigestError && e.message === msg, s);
    assert.equal(isDigest(s), false);
  }
  assert.equal(digestAlgorithm(parseDigest(EMPTY256)), 'sha256');
  assert.equal(digestHex(parseDigest(EMPTY256)).length, 64);
});

test('createDigester streams and matches digestOf', () => {
  const d = createDigester('sha256');
  d.update('hello ').update(Buffer.from('world'));
  assert.equal(d.size, 11);
  assert.equal(d.digest(), digestOf('hello world'));
  assert.equal(digestOf(''), EMPTY256);
  const d5 = createDigester('sha512').update('x');
  assert.match(d5.digest(), /^sha512:[a-f0-9]{128}$/);
});

async function run(data: Buffer[], expected: string, size?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(data), verifyingStream(expected, size), new Writable({
    write(c: Buffer, _e, cb) { out.push(c); cb(); },
  }));
  return Buffer.concat(out);
}

test('verifyingStream passes data through and verifies', async () => {
  const data = [Buffer.from('abc'), Buffer.from('def')];
  const dg = digestOf('abcdef');
  assert.equal((await run(data, dg, 6)).toString(), 'abcdef');
  assert.equal((await run(data, dg)).toString(), 'abcdef');
});

test('verifyingStream errors on digest and size mismatch', async () => {
  const dg = digestOf('abcdef');
  await assert.rejects(run([Buffer.from('abcdeX')], dg), {
    message: `digest mismatch: expected ${dg}, got ${digestOf('abcdeX')}`,
  });
  await assert.rejects(run([Buffer.from('abc')], dg, 6), { message: 'size mismatch: expected 6 bytes, got 3' });
  await assert.rejects(run([Buffer.from('abcdef'), Buffer.from('g')], dg, 6), /size mismatch: expected 6 bytes, got at least 7/);
  assert.throws(() => verifyingStream('nope'), DigestError);
});
