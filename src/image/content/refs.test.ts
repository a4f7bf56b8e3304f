import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { digestOf, type Digest } from '../digest';
import { MediaTypes } from '../oci-types';
import { RefStore, canonicalRefName, referencedBlobs } from './refs';

let tmp: string;
before(async () => { tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-test-refs-')); });
after(async () => { await fsp.rm(tmp, { recursive: true, force: true }); });
let n = 0;
const freshFile = () => path.join(tmp, `r${n++}`, 'refs.json');

const D1 = digestOf('m1');
const D2 = digestOf('m2');

test('tag / resolve / list / untag with normalised names', async () => {
  const r = new RefStore(freshFile());
  assert.equal(await r.resolve('busybox'), undefined);
  assert.equal(await r.tag('busybox', D1, MediaTypes.OCI_MANIFEST), undefined);
  assert.equal((await r.resolve('docker.io/library/busybox:latest'))?.target, D1);
  assert.equal((await r.resolve('index.docker.io/busybox'))?.mediaType, MediaTypes.OCI_MANIFEST);
  assert.equal(await r.tag('busybox:latest', D2), D1);
  await r.tag('user/app:v1', D2);
  assert.deepEqual((await r.list()).map((x) => x.name), ['docker.io/library/busybox:latest', 'docker.io/user/app:v1']);
  assert.deepEqual((await r.list(D2)).length, 2);
  assert.equal((await r.untag('busybox'))?.target, D2);
  assert.equal(await r.untag('busybox'), undefined);
  assert.deepEqual((await new RefStore(r.file).list()).map((x) => x.name), ['docker.io/user/app:v1']);
  await assert.rejects(async () => r.tag('Bad', D1), /must be lowercase/);
  await assert.rejects(async () => r.tag('x', 'sha256:nope'), /invalid checksum digest/);
  assert.equal(canonicalRefName('localhost:5000/x'), 'localhost:5000/x:latest');
});

test('refs file is written atomically: concurrent tags all land, no temp files left, valid JSON', async () => {
  const file = freshFile();
  const r = new RefStore(file);
  await Promise.all(Array.from({ length: 25 }, (_, i) => r.tag(`img${i}`, digestOf(`m${i}`))));
  assert.equal((await r.list()).length, 25);
  assert.deepEqual(await fsp.readdir(path.dirname(file)), ['refs.json']);
  const parsed = JSON.parse(await fsp.readFile(file, 'utf8'));
  assert.equal(parsed.version, 1);
  assert.equal(Object.keys(parsed.refs).length, 25);
});

test('a leftover temp file from a crash is ignored; the old file stays intact', async () => {
  const file = freshFile();
  const r = new RefStore(file);
  await r.tag('a', D1);
  await fsp.writeFile(path.join(path.dirname(file), '.refs.json.999.dead.tmp'), '{"version":1,"refs":{"trunc');
  assert.equal((await r.resolve('a'))?.target, D1);
  await fsp.writeFile(file, '{not json');
  await assert.rejects(r.resolve('a'), /refs database .* is corrupt/);
});

test('referencedBlobs walks index → manifests → config + layers', async () => {
  const blobs = new Map<Digest, Buffer>();
  const put = (o: unknown): Digest => {
    const b = Buffer.from(JSON.stringify(o));
    const d = digestOf(b);
    blobs.set(d, b);
    return d;
  };
  const cfg = digestOf('config');
  const l1 = digestOf('layer1');
  const l2 = digestOf('layer2');
  const m = put({ schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, config: { mediaType: MediaTypes.OCI_CONFIG, digest: cfg, size: 6 }, layers: [{ mediaType: MediaTypes.OCI_LAYER_GZIP, digest: l1, size: 1 }, { mediaType: MediaTypes.OCI_LAYER_GZIP, digest: l2, size: 1 }] });
  const missing = digestOf('missing-manifest');
  const idx = put({ schemaVersion: 2, mediaType: MediaTypes.DOCKER_MANIFEST_LIST, manifests: [{ mediaType: MediaTypes.DOCKER_MANIFEST, digest: m, size: 1 }, { mediaType: MediaTypes.DOCKER_MANIFEST, digest: missing, size: 1 }] });
  const got = await referencedBlobs([idx], async (d) => blobs.get(d));
  assert.deepEqual([...got].sort(), [idx, m, missing, cfg, l1, l2].sort());
});
