import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, type Digest } from '../digest';
import { BlobNotFoundError, ContentStore } from './store';

let tmp: string;
before(async () => { tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-test-store-')); });
after(async () => { await fsp.rm(tmp, { recursive: true, force: true }); });

let n = 0;
const fresh = () => new ContentStore(path.join(tmp, `s${n++}`));

async function readStream(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('ingest places a verified blob at blobs/<algo>/<hex>; has/size/open/list/delete', async () => {
  const s = fresh();
  const data = Buffer.from('hello blob');
  const dg = digestOf(data);
  const res = await s.ingest(Readable.from([data.subarray(0, 4), data.subarray(4)]), dg, data.length);
  assert.deepEqual(res, { digest: dg, size: data.length, written: true });
  assert.equal(s.blobPath(dg), path.join(s.root, 'blobs', 'sha256', dg.slice(7)));
  assert.equal(await s.has(dg), true);
  assert.equal(await s.size(dg), data.length);
  assert.deepEqual(await readStream(await s.open(dg)), data);
  assert.deepEqual(await s.read(dg, { verify: true }), data);
  assert.deepEqual(await s.list(), [dg]);
  assert.deepEqual(await fsp.readdir(s.ingestDir), []);
  // re-ingest is a no-op
  assert.equal((await s.put(data, dg)).written, false);
  assert.equal(await s.delete(dg), true);
  assert.equal(await s.delete(dg), false);
  assert.equal(await s.has(dg), false);
  await assert.rejects(s.open(dg), BlobNotFoundError);
  await assert.rejects(s.size(dg), BlobNotFoundError);
});

test('ingest without expected digest computes it (sha256 default, sha512 on request)', async () => {
  const s = fresh();
  const r = await s.put('abc');
  assert.equal(r.digest, digestOf('abc'));
  const r5 = await s.put('abc', undefined, { algorithm: 'sha512' });
  assert.equal(r5.digest, digestOf('abc', 'sha512'));
  assert.deepEqual(await s.list(), [r.digest, r5.digest].sort());
});

test('digest mismatch on ingest leaves nothing behind', async () => {
  const s = fresh();
  const want = digestOf('expected');
  await assert.rejects(s.ingest(Readable.from([Buffer.from('tampered')]), want), {
    message: `digest mismatch: expected ${want}, got ${digestOf('tampered')}`,
  });
  assert.equal(await s.has(want), false);
  assert.equal(await s.has(digestOf('tampered')), false);
  assert.deepEqual(await s.list(), []);
  assert.deepEqual(await fsp.readdir(s.ingestDir), []);
});

test('size mismatch (too long / too short) and source errors leave nothing', async () => {
  const s = fresh();
  const dg = digestOf('abcdef');
  await assert.rejects(s.ingest([Buffer.from('abcdef'), Buffer.from('xx')], dg, 6), /size mismatch: expected 6 bytes, got at least 8/);
  await assert.rejects(s.ingest([Buffer.from('abc')], dg, 6), /size mismatch: expected 6 bytes, got 3/);
  async function* broken() { yield Buffer.from('abc'); throw new Error('connection reset'); }
  await assert.rejects(s.ingest(broken(), dg), /connection reset/);
  assert.deepEqual(await s.list(), []);
  assert.deepEqual(await fsp.readdir(s.ingestDir), []);
});

test('concurrent ingests of the same blob all succeed and leave one blob', async () => {
  const s = fresh();
  const data = Buffer.alloc(256 * 1024, 7);
  const dg = digestOf(data);
  const chunks = (): Readable => Readable.from([data.subarray(0, 1000), data.subarray(1000, 100000), data.subarray(100000)]);
  const results = await Promise.all(Array.from({ length: 8 }, () => s.ingest(chunks(), dg, data.length)));
  for (const r of results) assert.equal(r.digest, dg);
  assert.ok(results.some((r) => r.written));
  assert.deepEqual(await s.list(), [dg]);
  assert.deepEqual(await s.read(dg, { verify: true }), data);
  assert.deepEqual(await fsp.readdir(s.ingestDir), []);
});

test('verify-on-read detects a corrupted blob', async () => {
  const s = fresh();
  const { digest } = await s.put('pristine content');
  const p = s.blobPath(digest);
  await fsp.chmod(p, 0o644);
  await fsp.writeFile(p, 'pristine c0ntent');
  // unverified read returns the corrupted bytes
  assert.equal((await s.read(digest)).toString(), 'pristine c0ntent');
  await assert.rejects(s.read(digest, { verify: true }), {
    message: `digest mismatch: expected ${digest}, got ${digestOf('pristine c0ntent')}`,
  });
});

test('an interrupted ingest never looks like a blob; cleanupIngests removes stale temp files', async () => {
  const s = fresh();
  await s.init();
  // simulate a writer killed mid-way: a partial temp file under ingest/
  await fsp.writeFile(path.join(s.ingestDir, 'killed-writer'), 'partial');
  assert.deepEqual(await s.list(), []);
  // an in-flight ingest in this process is not removed by cleanup
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  async function* slow() { yield Buffer.from('part1'); await gate; yield Buffer.from('part2'); }
  const dg = digestOf('part1part2');
  const pending = s.ingest(slow(), dg);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await s.has(dg), false, 'in-flight blob must not be visible');
  assert.equal((await fsp.readdir(s.ingestDir)).length, 2);
  // age filter: nothing is old enough
  assert.equal(await s.cleanupIngests(60_000), 0);
  assert.equal(await s.cleanupIngests(), 1);
  release();
  assert.equal((await pending).digest, dg as Digest);
  assert.deepEqual(await fsp.readdir(s.ingestDir), []);
  assert.deepEqual(await s.list(), [dg]);
});

test('invalid digests are rejected before touching disk', async () => {
  const s = fresh();
  await assert.rejects(s.ingest([Buffer.from('x')], 'sha256:abc'), /invalid checksum digest length/);
  assert.throws(() => s.blobPath('../../etc/passwd'), /invalid checksum digest format/);
  await assert.rejects(s.has('sha256:../x'), /invalid checksum digest/);
});
