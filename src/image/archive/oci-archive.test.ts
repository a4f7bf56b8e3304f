import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { digestHex, digestOf, type Digest } from '../digest';
import { ContentStore } from '../content/store';
import { RefStore } from '../content/refs';
import { Annotations, MediaTypes, type ImageConfig, type ImageIndex, type ImageManifest } from '../oci-types';
import { decompressed } from '../layer/decompress';
import { ArchiveError } from './archive-io';
import { saveDockerArchive } from './docker-archive';
import { loadArchive } from './load';
import { annotatedName, loadOciArchive, saveOciArchive } from './oci-archive';

let tmp: string;
before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-test-oci-archive-'));
});
after(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

let n = 0;
function fresh(): { store: ContentStore; refs: RefStore } {
  const dir = path.join(tmp, `s${n++}`);
  return { store: new ContentStore(path.join(dir, 'content')), refs: new RefStore(path.join(dir, 'refs.json')) };
}

async function collect(r: AsyncIterable<unknown>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** A zstd frame of raw (stored) blocks: valid zstd that needs no compressor. */
function zstdRaw(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic, FHD (no FCS), window 128 KiB
  const max = 128 * 1024;
  let off = 0;
  do {
    const chunk = data.subarray(off, off + max);
    off += chunk.length;
    const last = off >= data.length ? 1 : 0;
    const h = (chunk.length << 3) | last; // block type 0 = raw
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), chunk);
  } while (off < data.length);
  return Buffer.concat(parts);
}

type Ent = { name: string; data?: Buffer | string; type?: 'file' | 'directory' };
async function makeTar(entries: Ent[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack);
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755, mtime: new Date(0) }, cb);
      else pack.entry({ name: e.name, mode: 0o644, mtime: new Date(0) }, Buffer.from(e.data ?? ''), cb);
    });
  }
  pack.finalize();
  return done;
}

async function listTar(buf: Buffer): Promise<{ name: string; data: Buffer; type: string }[]> {
  const out: { name: string; data: Buffer; type: string }[] = [];
  const ex = tar.extract();
  Readable.from([buf]).pipe(ex);
  for await (const e of ex) out.push({ name: e.header.name, type: e.header.type ?? 'file', data: await collect(e) });
  return out;
}

/** Re-pack an archive with `edit` applied to its file list. */
async function rewrite(buf: Buffer, edit: (files: { name: string; data: Buffer; type: string }[]) => typeof files): Promise<Buffer> {
  const files = edit(await listTar(buf));
  return makeTar(files.map((f) => (f.type === 'directory' ? { name: f.name, type: 'directory' } : { name: f.name, data: f.data })));
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** An image with a gzip, a zstd and an uncompressed layer; tagged as `tags`. */
async function storeImage(store: ContentStore, refs: RefStore, tags: string[], arch = 'amd64'): Promise<{ manifest: Digest; config: Digest; layers: Digest[]; bytes: Buffer }> {
  const raws = [
    await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: `berth-${arch}\n` }]),
    await makeTar([{ name: 'bin/hello', data: 'x'.repeat(150_000) }]),
    await makeTar([{ name: 'README', data: 'plain layer\n' }]),
  ];
  const blobs = [gzipSync(raws[0]!), zstdRaw(raws[1]!), raws[2]!];
  const types = [MediaTypes.OCI_LAYER_GZIP, MediaTypes.OCI_LAYER_ZSTD, MediaTypes.OCI_LAYER];
  const layers: ImageManifest['layers'] = [];
  for (const [i, b] of blobs.entries()) {
    const r = await store.put(b);
    layers.push({ mediaType: types[i]!, digest: r.digest, size: r.size });
  }
  const config: ImageConfig = { architecture: arch, os: 'linux', config: { Cmd: ['/bin/hello'] }, rootfs: { type: 'layers', diff_ids: raws.map((r) => digestOf(r)) } };
  const c = await store.put(json(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_MANIFEST,
    config: { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: c.size },
    layers,
  };
  const bytes = json(manifest);
  const m = await store.put(bytes);
  for (const t of tags) await refs.tag(t, m.digest, MediaTypes.OCI_MANIFEST);
  return { manifest: m.digest, config: c.digest, layers: layers.map((l) => l.digest), bytes };
}

async function save(store: ContentStore, refs: RefStore, names: string[]): Promise<Buffer> {
  const out = new PassThrough();
  const buf = collect(out);
  await saveOciArchive(store, refs, names, out);
  return buf;
}

function assertArchiveError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ArchiveError, String(e));
    assert.match(e.message, re);
    return true;
  };
}

test('save → load round trip: layers kept compressed, digests and tags preserved, also gzipped', async () => {
  const a = fresh();
  const img = await storeImage(a.store, a.refs, ['example/app:1', 'example/app:latest', 'localhost:5000/other/name:v2']);
  const archive = await save(a.store, a.refs, ['example/app:1', 'example/app:latest', 'localhost:5000/other/name:v2', 'example/app:1']);

  const files = await listTar(archive);
  const names = files.map((f) => f.name);
  assert.equal(names[0], 'oci-layout');
  assert.equal(names[names.length - 1], 'index.json');
  assert.ok(names.indexOf(`blobs/sha256/${digestHex(img.layers[0]!)}`) < names.indexOf(`blobs/sha256/${digestHex(img.manifest)}`), 'blobs before their manifest');
  const byName = new Map(files.map((f) => [f.name, f.data]));
  assert.deepEqual(JSON.parse(byName.get('oci-layout')!.toString()), { imageLayoutVersion: '1.0.0' });
  for (const d of [img.manifest, img.config, ...img.layers]) {
    assert.deepEqual(byName.get(`blobs/sha256/${digestHex(d)}`), await a.store.read(d), `${d} byte for byte`);
  }
  const index = JSON.parse(byName.get('index.json')!.toString()) as ImageIndex;
  assert.equal(index.mediaType, MediaTypes.OCI_INDEX);
  assert.deepEqual(
    index.manifests.map((m) => [m.digest, m.size, m.mediaType, m.annotations]),
    [
      [img.manifest, img.bytes.length, MediaTypes.OCI_MANIFEST, { [Annotations.CONTAINERD_IMAGE_NAME]: 'docker.io/example/app:1', [Annotations.REF_NAME]: '1' }],
      [img.manifest, img.bytes.length, MediaTypes.OCI_MANIFEST, { [Annotations.CONTAINERD_IMAGE_NAME]: 'docker.io/example/app:latest', [Annotations.REF_NAME]: 'latest' }],
      [img.manifest, img.bytes.length, MediaTypes.OCI_MANIFEST, { [Annotations.CONTAINERD_IMAGE_NAME]: 'localhost:5000/other/name:v2', [Annotations.REF_NAME]: 'v2' }],
    ],
  );

  for (const input of [archive, gzipSync(archive)]) {
    const b = fresh();
    const loaded = await loadOciArchive(b.store, b.refs, Readable.from([input]));
    assert.deepEqual(loaded, [
      {
        manifestDigest: img.manifest,
        mediaType: MediaTypes.OCI_MANIFEST,
        configDigest: img.config,
        tags: ['docker.io/example/app:1', 'docker.io/example/app:latest', 'localhost:5000/other/name:v2'],
      },
    ]);
    assert.deepEqual(
      (await b.refs.list()).map((r) => [r.name, r.target, r.mediaType]),
      loaded[0]!.tags.map((t) => [t, img.manifest, MediaTypes.OCI_MANIFEST]),
    );
    for (const d of [img.manifest, img.config, ...img.layers]) assert.deepEqual(await b.store.read(d), await a.store.read(d));
    // and saving again from the loaded store gives the same archive
    assert.deepEqual(await save(b.store, b.refs, ['example/app:1', 'example/app:latest', 'localhost:5000/other/name:v2']), archive);
  }
  // the zstd layer decompresses back to its diff_id
  const cfg = JSON.parse((await a.store.read(img.config)).toString()) as ImageConfig;
  assert.equal(digestOf(await collect(decompressed(await a.store.open(img.layers[1]!)))), cfg.rootfs.diff_ids[1]);
});

test('save/load: a multi-platform index with its manifests; nested index; a missing platform is skipped', async () => {
  const a = fresh();
  const amd = await storeImage(a.store, a.refs, [], 'amd64');
  const arm = await storeImage(a.store, a.refs, [], 'arm64');
  const inner: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_INDEX,
    manifests: [{ mediaType: MediaTypes.OCI_MANIFEST, digest: arm.manifest, size: arm.bytes.length, platform: { os: 'linux', architecture: 'arm64' } }],
  };
  const innerR = await a.store.put(json(inner));
  const missing = digestOf('a platform that was never pulled');
  const list = {
    schemaVersion: 2,
    mediaType: MediaTypes.DOCKER_MANIFEST_LIST,
    manifests: [
      { mediaType: MediaTypes.OCI_MANIFEST, digest: amd.manifest, size: amd.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MediaTypes.OCI_INDEX, digest: innerR.digest, size: innerR.size },
    ],
  };
  const listR = await a.store.put(json(list));
  await a.refs.tag('multi:1', listR.digest, MediaTypes.DOCKER_MANIFEST_LIST);
  const archive = await save(a.store, a.refs, ['multi:1']);

  const b = fresh();
  const loaded = await loadArchive(b.store, b.refs, Readable.from([archive]));
  assert.deepEqual(loaded, [
    {
      manifestDigest: listR.digest,
      mediaType: MediaTypes.DOCKER_MANIFEST_LIST,
      configDigest: amd.config,
      tags: ['docker.io/library/multi:1'],
      manifests: [
        { digest: amd.manifest, configDigest: amd.config, platform: { os: 'linux', architecture: 'amd64' } },
        { digest: arm.manifest, configDigest: arm.config, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    },
  ]);
  assert.equal((await b.refs.resolve('multi:1'))?.target, listR.digest);

  // An index whose platform manifest is absent (only some platforms pulled) still loads ...
  const partial = { ...list, manifests: [...list.manifests, { mediaType: MediaTypes.OCI_MANIFEST, digest: missing, size: 10, platform: { os: 'linux', architecture: 's390x' } }] };
  const partialR = await a.store.put(json(partial));
  const withMissing = await rewrite(archive, (files) => [
    ...files.filter((f) => f.name !== 'index.json'),
    { name: `blobs/sha256/${digestHex(partialR.digest)}`, type: 'file', data: json(partial) },
    { name: 'index.json', type: 'file', data: json({ schemaVersion: 2, manifests: [{ mediaType: MediaTypes.DOCKER_MANIFEST_LIST, digest: partialR.digest, size: partialR.size, annotations: { [Annotations.REF_NAME]: 'x/partial:2' } }] }) },
  ]);
  const c = fresh();
  const l2 = await loadArchive(c.store, c.refs, Readable.from([withMissing]));
  assert.equal(l2[0]!.manifests?.length, 2);
  assert.deepEqual(l2[0]!.tags, ['docker.io/x/partial:2']);
  // ... but saving it is refused: the index references content berth does not have.
  await c.refs.tag('x/partial:3', partialR.digest);
  await assert.rejects(save(c.store, c.refs, ['x/partial:3']), assertArchiveError(/manifest \(linux\/s390x\) of index sha256:[0-9a-f]{64} sha256:[0-9a-f]{64} is not in the store/));
});

test('names: containerd name first, ref.name only when it is a full reference, digests and bare tags untagged', () => {
  assert.equal(annotatedName({ [Annotations.CONTAINERD_IMAGE_NAME]: 'docker.io/library/a:1', [Annotations.REF_NAME]: '1' }), 'docker.io/library/a:1');
  assert.equal(annotatedName({ [Annotations.REF_NAME]: 'berth-test/zstd:1' }), 'docker.io/berth-test/zstd:1');
  assert.equal(annotatedName({ [Annotations.REF_NAME]: 'localhost:5000/x' }), 'localhost:5000/x:latest');
  assert.equal(annotatedName({ [Annotations.REF_NAME]: 'latest' }), undefined);
  assert.equal(annotatedName({ [Annotations.REF_NAME]: 'v1.0' }), undefined);
  assert.equal(annotatedName({ [Annotations.CONTAINERD_IMAGE_NAME]: `a@${digestOf('x')}` }), undefined);
  assert.equal(annotatedName(undefined), undefined);
  assert.throws(() => annotatedName({ [Annotations.REF_NAME]: 'Bad/Name:1' }, 'index.json manifests[3]'), /^ArchiveError: load: index.json manifests\[3\]: invalid image name "Bad\/Name:1"/);
});

test('loadArchive: a docker ≥ 25 archive (both layouts) goes the OCI way; a classic one the docker way', async () => {
  const a = fresh();
  const img = await storeImage(a.store, a.refs, ['both:1']);
  const out = new PassThrough();
  const buf = collect(out);
  await saveDockerArchive(a.store, a.refs, ['both:1'], out);
  const both = await buf;
  const files = await listTar(both);
  const ociManifest = JSON.parse(files.find((f) => f.name === 'index.json')!.data.toString()).manifests[0].digest as Digest;

  const b = fresh();
  const loaded = await loadArchive(b.store, b.refs, Readable.from([both]));
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0]!.manifestDigest, ociManifest, 'the archive\'s own OCI manifest, not a synthesised one');
  assert.equal(loaded[0]!.mediaType, MediaTypes.OCI_MANIFEST);
  assert.equal(loaded[0]!.configDigest, img.config);
  assert.deepEqual(loaded[0]!.tags, ['docker.io/library/both:1']);

  // index.json without names: manifest.json's RepoTags name the image
  const unnamed = await rewrite(both, (fs) =>
    fs.map((f) => (f.name === 'index.json' ? { ...f, data: json({ schemaVersion: 2, manifests: [{ ...JSON.parse(f.data.toString()).manifests[0], annotations: undefined }] }) } : f)),
  );
  const c = fresh();
  assert.deepEqual((await loadArchive(c.store, c.refs, Readable.from([unnamed])))[0]!.tags, ['docker.io/library/both:1']);

  // manifest.json only → docker path (a new Docker schema2 manifest)
  const dockerOnly = await rewrite(both, (fs) => fs.filter((f) => f.name !== 'index.json' && f.name !== 'oci-layout'));
  const d = fresh();
  const l3 = await loadArchive(d.store, d.refs, Readable.from([dockerOnly]));
  assert.equal(l3[0]!.mediaType, MediaTypes.DOCKER_MANIFEST);
  assert.equal(l3[0]!.configDigest, img.config);
  assert.equal((await d.refs.resolve('both:1'))?.target, l3[0]!.manifestDigest);

  // neither
  const e = fresh();
  await assert.rejects(loadArchive(e.store, e.refs, Readable.from([await makeTar([{ name: 'etc/passwd', data: 'root:x:0:0::/:/bin/sh\n' }])])), assertArchiveError(/neither manifest\.json .* nor index\.json/));
});

test('load errors name the archive entry and tag nothing', async () => {
  const a = fresh();
  const img = await storeImage(a.store, a.refs, ['bad:1']);
  const archive = await save(a.store, a.refs, ['bad:1']);
  const zstdName = `blobs/sha256/${digestHex(img.layers[1]!)}`;
  const manifestName = `blobs/sha256/${digestHex(img.manifest)}`;
  const index = (await listTar(archive)).find((f) => f.name === 'index.json')!.data;
  const withIndex = (v: unknown) => rewrite(archive, (fs) => fs.map((f) => (f.name === 'index.json' ? { ...f, data: typeof v === 'string' ? Buffer.from(v) : json(v) } : f)));
  const desc = JSON.parse(index.toString()).manifests[0];
  const badManifest = { ...JSON.parse(img.bytes.toString()), layers: [] };
  const badManifestBuf = json(badManifest);

  const cases: [string, Buffer, RegExp][] = [
    ['corrupted blob', await rewrite(archive, (fs) => fs.map((f) => (f.name === zstdName ? { ...f, data: Buffer.concat([f.data.subarray(0, 100), Buffer.from([f.data[100]! ^ 0xff]), f.data.subarray(101)]) } : f))),
      new RegExp(`^load: blob ${zstdName} is corrupt or truncated: digest mismatch: expected ${img.layers[1]}, got sha256:`)],
    ['missing layer', await rewrite(archive, (fs) => fs.filter((f) => f.name !== zstdName)), new RegExp(`^load: ${manifestName} layers\\[1\\]: blob ${zstdName} is missing from the archive$`)],
    ['missing manifest', await rewrite(archive, (fs) => fs.filter((f) => f.name !== manifestName)), new RegExp(`^load: index.json manifests\\[0\\]: blob ${manifestName} is missing from the archive$`)],
    ['index.json not JSON', await withIndex('{"manifests": ['), /^load: index\.json is not valid JSON/],
    ['index.json without manifests', await withIndex({ schemaVersion: 2 }), /^load: index\.json has no manifests list$/],
    ['bad digest', await withIndex({ schemaVersion: 2, manifests: [{ ...desc, digest: 'sha256:xyz' }] }), /^load: index\.json manifests\[0\]: invalid digest "sha256:xyz"$/],
    ['wrong size', await withIndex({ schemaVersion: 2, manifests: [{ ...desc, size: desc.size + 1 }] }), new RegExp(`^load: index.json manifests\\[0\\]: blob ${manifestName} has ${desc.size} bytes, the descriptor says ${desc.size + 1}$`)],
    ['layers vs diff_ids', await rewrite(archive, (fs) => [...fs.filter((f) => f.name !== 'index.json'),
      { name: `blobs/sha256/${digestHex(digestOf(badManifestBuf))}`, type: 'file', data: badManifestBuf },
      { name: 'index.json', type: 'file', data: json({ schemaVersion: 2, manifests: [{ ...desc, digest: digestOf(badManifestBuf), size: badManifestBuf.length }] }) }]),
      /: 0 layers but config blobs\/sha256\/[0-9a-f]{64} has 3 diff_ids$/],
    ['no index.json', await rewrite(archive, (fs) => fs.filter((f) => f.name !== 'index.json')), /^load: archive has no index\.json/],
    ['bad oci-layout', await rewrite(archive, (fs) => fs.map((f) => (f.name === 'oci-layout' ? { ...f, data: json({ imageLayoutVersion: '2.0.0' }) } : f))), /^load: oci-layout: unsupported imageLayoutVersion "2\.0\.0"$/],
    ['truncated', archive.subarray(0, archive.length - 2048), /^load: truncated archive|^load: corrupt or truncated/],
    ['not a tar', Buffer.from('definitely not a tar archive'), /^load: /],
  ];
  for (const [what, input, re] of cases) {
    const b = fresh();
    await b.store.init();
    await b.refs.tag('keep:me', img.manifest);
    await assert.rejects(loadOciArchive(b.store, b.refs, Readable.from([input])), assertArchiveError(re), what);
    assert.deepEqual((await b.refs.list()).map((r) => r.name), ['docker.io/library/keep:me'], `${what}: nothing tagged`);
    if (what === 'corrupted blob') assert.equal(await b.store.has(img.layers[1]!), false, 'the corrupt blob is not stored');
    assert.deepEqual(await fsp.readdir(b.store.ingestDir), [], `${what}: no ingest leftovers`);
  }
});

test('save errors before writing anything: unknown name, missing blob', async () => {
  const a = fresh();
  const img = await storeImage(a.store, a.refs, ['s:1']);
  const out = new PassThrough();
  let wrote = 0;
  out.on('data', (c: Buffer) => (wrote += c.length));
  await assert.rejects(saveOciArchive(a.store, a.refs, ['s:1', 'nope:1'], out), assertArchiveError(/^save: reference nope:1 not found$/));
  await a.store.delete(img.layers[2]!);
  await assert.rejects(saveOciArchive(a.store, a.refs, ['s:1'], out), assertArchiveError(new RegExp(`^save: docker.io/library/s:1: layer 2 of manifest ${img.manifest} ${img.layers[2]} is not in the store$`)));
  assert.equal(wrote, 0);

  // A blob corrupted on disk after it was stored: the save fails (re-verified while streamed).
  const b = fresh();
  const img2 = await storeImage(b.store, b.refs, ['s:2']);
  const p = b.store.blobPath(img2.layers[0]!);
  const data = await fsp.readFile(p);
  data[20] ^= 0xff;
  await fsp.chmod(p, 0o644);
  await fsp.writeFile(p, data);
  const sink = new PassThrough();
  sink.resume();
  await assert.rejects(saveOciArchive(b.store, b.refs, ['s:2'], sink), new RegExp(`digest mismatch: expected ${img2.layers[0]}`));
});
