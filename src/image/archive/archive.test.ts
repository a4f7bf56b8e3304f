import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, PassThrough } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { digestHex, digestOf } from '../digest';
import { ContentStore } from '../content/store';
import { RefStore } from '../content/refs';
import { MediaTypes, type ImageConfig, type ImageManifest } from '../oci-types';
import { applyChanges, importTarball, ImportChangeError } from './import';
import { ArchiveError, loadDockerArchive, saveDockerArchive } from './docker-archive';

let tmp: string;
before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-test-archive-'));
});
after(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

let n = 0;
function fresh(): { store: ContentStore; refs: RefStore } {
  const dir = path.join(tmp, `s${n++}`);
  return { store: new ContentStore(path.join(dir, 'content')), refs: new RefStore(path.join(dir, 'refs.json')) };
}

async function collect(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

type TarEntry = { name: string; data?: Buffer | string; type?: 'file' | 'directory' | 'symlink'; linkname?: string };
async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack as unknown as Readable);
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755, mtime: new Date(0) }, cb);
      else if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname!, mtime: new Date(0) }, cb);
      else pack.entry({ name: e.name, mode: 0o644, mtime: new Date(0) }, Buffer.from(e.data ?? ''), cb);
    });
  }
  pack.finalize();
  return done;
}

async function listTar(buf: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tar.extract();
  Readable.from([buf]).pipe(ex);
  for await (const e of ex) out.set(e.header.name, await collect(e as unknown as Readable));
  return out;
}

const rootfs = () =>
  makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', data: 'berth\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/hello', data: '#!/bin/sh\necho hi\n' },
    { name: 'bin/sh', type: 'symlink', linkname: 'hello' },
  ]);

async function readJson<T>(store: ContentStore, d: string): Promise<T> {
  return JSON.parse((await store.read(d)).toString('utf8')) as T;
}

async function save(store: ContentStore, refs: RefStore, names: string[]): Promise<Buffer> {
  const out = new PassThrough();
  const buf = collect(out);
  await saveDockerArchive(store, refs, names, out);
  return buf;
}

test('import: plain tar → gzip layer, diffID, config from changes, schema2 manifest, tag', async () => {
  const { store, refs } = fresh();
  const tarBuf = await rootfs();
  const r = await importTarball(store, refs, Readable.from([tarBuf]), {
    ref: 'example/imported:v1',
    changes: ['CMD ["sh"]', 'ENV A=1', 'WORKDIR /w'],
  });
  assert.equal(r.diffId, digestOf(tarBuf));
  const layer = await store.read(r.layerDigest);
  assert.equal(layer[0], 0x1f);
  assert.deepEqual(gunzipSync(layer), tarBuf);
  const manifest = await readJson<ImageManifest>(store, r.manifestDigest);
  assert.equal(manifest.mediaType, MediaTypes.DOCKER_MANIFEST);
  assert.equal(manifest.config.digest, r.configDigest);
  assert.deepEqual(manifest.layers, [{ mediaType: MediaTypes.DOCKER_LAYER_GZIP, digest: r.layerDigest, size: layer.length }]);
  const config = await readJson<ImageConfig>(store, r.configDigest);
  assert.equal(config.architecture, 'amd64');
  assert.equal(config.os, 'linux');
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [r.diffId] });
  assert.deepEqual(config.config, { Cmd: ['sh'], Env: ['A=1'], WorkingDir: '/w' });
  assert.equal(config.history?.[0]?.comment, 'Imported from -');
  assert.ok(config.created && !Number.isNaN(Date.parse(config.created)));
  const rec = await refs.resolve('example/imported:v1');
  assert.equal(rec?.target, r.manifestDigest);
});

test('import: gzip input is sniffed and gives the same diffID', async () => {
  const { store, refs } = fresh();
  const tarBuf = await rootfs();
  const gz = gzipSync(tarBuf);
  const r = await importTarball(store, refs, Readable.from([gz.subarray(0, 1), gz.subarray(1)]));
  assert.equal(r.diffId, digestOf(tarBuf));
  assert.deepEqual(gunzipSync(await store.read(r.layerDigest)), tarBuf);
  assert.deepEqual(await refs.list(), []);
});

test('import: bad change → clear error, nothing stored or tagged', async () => {
  for (const bad of ['FOO bar', 'RUN echo hi', 'EXPOSE 80/xyz', 'ENV', 'ENV onlykey', 'CMD']) {
    const { store, refs } = fresh();
    const tarBuf = await rootfs();
    await assert.rejects(
      importTarball(store, refs, Readable.from([tarBuf]), { ref: 'x:y', changes: ['CMD ["sh"]', bad] }),
      (e: unknown) => e instanceof ImportChangeError && e.message.includes(bad),
    );
    assert.deepEqual(await refs.list(), []);
    assert.deepEqual(await store.list(), []);
  }
});

test('applyChanges: shell/exec forms, legacy ENV, LABEL, EXPOSE, VOLUME, USER, STOPSIGNAL', () => {
  const c = applyChanges([
    'ENTRYPOINT /bin/app --flag "x y"',
    'cmd ["a", "b"]',
    'ENV PATH /usr/bin:/bin',
    'ENV A=1 B="two words"',
    'ENV A=3',
    'LABEL org.x=1 "k 2"=v',
    'EXPOSE 80 53/udp 8000-8001',
    'VOLUME ["/data", "/logs"]',
    'VOLUME /cache',
    'USER 1000:1000',
    'STOPSIGNAL SIGTERM',
    'WORKDIR /a',
    'WORKDIR b',
  ]);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/bin/app --flag "x y"']);
  assert.deepEqual(c.Cmd, ['a', 'b']);
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'A=3', 'B=two words']);
  assert.deepEqual(c.Labels, { 'org.x': '1', 'k 2': 'v' });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp']);
  assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/data', '/logs', '/cache']);
  assert.equal(c.User, '1000:1000');
  assert.equal(c.StopSignal, 'SIGTERM');
  assert.equal(c.WorkingDir, '/a/b');
  assert.throws(() => applyChanges(['BOGUS x']), /unknown instruction: BOGUS/);
});

test('save → load round trip: OCI layout + manifest.json; same config digest and tags', async () => {
  const a = fresh();
  const tarBuf = await rootfs();
  const r = await importTarball(a.store, a.refs, Readable.from([tarBuf]), { ref: 'example/app:1', changes: ['CMD ["sh"]'] });
  await a.refs.tag('example/app:latest', r.manifestDigest, MediaTypes.DOCKER_MANIFEST);
  const archive = await save(a.store, a.refs, ['example/app:1', 'example/app:latest']);

  const files = await listTar(archive);
  assert.ok(files.has('oci-layout') && files.has('index.json') && files.has('repositories'));
  const mj = JSON.parse(files.get('manifest.json')!.toString());
  assert.deepEqual(mj, [
    {
      Config: `blobs/sha256/${digestHex(r.configDigest)}`,
      RepoTags: ['example/app:1', 'example/app:latest'],
      Layers: [`blobs/sha256/${digestHex(r.diffId)}`],
    },
  ]);
  assert.deepEqual(files.get(`blobs/sha256/${digestHex(r.diffId)}`), tarBuf);
  const index = JSON.parse(files.get('index.json')!.toString());
  assert.equal(index.manifests.length, 2);
  assert.equal(index.manifests[0].annotations['io.containerd.image.name'], 'docker.io/example/app:1');
  const ociManifest = JSON.parse(files.get(`blobs/sha256/${digestHex(index.manifests[0].digest)}`)!.toString());
  assert.equal(ociManifest.config.digest, r.configDigest);

  const b = fresh();
  const loaded = await loadDockerArchive(b.store, b.refs, Readable.from([archive]));
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0]!.configDigest, r.configDigest);
  assert.deepEqual(loaded[0]!.tags, ['docker.io/example/app:1', 'docker.io/example/app:latest']);
  assert.deepEqual((await b.refs.list()).map((x) => [x.name, x.target]), [
    ['docker.io/example/app:1', loaded[0]!.manifestDigest],
    ['docker.io/example/app:latest', loaded[0]!.manifestDigest],
  ]);
  const m = await readJson<ImageManifest>(b.store, loaded[0]!.manifestDigest);
  assert.deepEqual(m.layers, [{ mediaType: MediaTypes.DOCKER_LAYER, digest: r.diffId, size: tarBuf.length }]);

  // a gzip-compressed archive loads too, and save from the loaded store is identical
  const c = fresh();
  const again = await loadDockerArchive(c.store, c.refs, Readable.from([gzipSync(archive)]));
  assert.equal(again[0]!.configDigest, r.configDigest);
  assert.deepEqual(await save(b.store, b.refs, ['example/app:1', 'example/app:latest']), archive);
});

async function classicArchive(opts: { tamper?: boolean } = {}) {
  const layerTar = await rootfs();
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [digestOf(layerTar)] },
  };
  const cbuf = Buffer.from(JSON.stringify(config));
  const chex = digestHex(digestOf(cbuf));
  const layerId = 'a'.repeat(64);
  const layerInArchive = opts.tamper ? Buffer.concat([layerTar.subarray(0, 600), Buffer.from('X'), layerTar.subarray(601)]) : layerTar;
  const archive = await makeTar([
    { name: `${layerId}/`, type: 'directory' },
    { name: `${layerId}/VERSION`, data: '1.0' },
    { name: `${layerId}/json`, data: JSON.stringify({ id: layerId }) },
    { name: `${layerId}/layer.tar`, data: layerInArchive },
    { name: `${'b'.repeat(64)}/layer.tar`, type: 'symlink', linkname: `../${layerId}/layer.tar` },
    { name: `${chex}.json`, data: cbuf },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `${chex}.json`, RepoTags: ['classic:1.0'], Layers: [`${'b'.repeat(64)}/layer.tar`] }]) },
    { name: 'repositories', data: JSON.stringify({ classic: { '1.0': layerId } }) },
  ]);
  return { archive, configDigest: digestOf(cbuf), diffId: digestOf(layerTar) };
}

test('load: hand-built classic archive (<hex>.json, <id>/layer.tar, symlinked layer)', async () => {
  const { store, refs } = fresh();
  const { archive, configDigest, diffId } = await classicArchive();
  const loaded = await loadDockerArchive(store, refs, Readable.from([archive]));
  assert.equal(loaded[0]!.configDigest, configDigest);
  assert.equal((await refs.resolve('classic:1.0'))?.target, loaded[0]!.manifestDigest);
  const m = await readJson<ImageManifest>(store, loaded[0]!.manifestDigest);
  assert.equal(m.layers[0]!.digest, diffId);
  assert.equal(await store.has(configDigest), true);
});

test('load: tampered layer → diffID mismatch, nothing tagged', async () => {
  const { store, refs } = fresh();
  const { archive } = await classicArchive({ tamper: true });
  await assert.rejects(loadDockerArchive(store, refs, Readable.from([archive])), (e: unknown) => {
    assert.ok(e instanceof ArchiveError);
    assert.match(e.message, /diffID mismatch/);
    return true;
  });
  assert.deepEqual(await refs.list(), []);
});

test('load: tampered OCI blob, truncated archive, garbage → clear errors, refs untouched', async () => {
  const a = fresh();
  const r = await importTarball(a.store, a.refs, Readable.from([await rootfs()]), { ref: 'oci:1' });
  const archive = await save(a.store, a.refs, ['oci:1']);
  const b = fresh();
  await b.refs.tag('keep:me', r.manifestDigest);
  const before = await b.refs.list();

  // flip a byte inside the layer blob's content (same length, so the tar stays well-formed)
  const layerName = Buffer.from(`blobs/sha256/${digestHex(r.diffId)}`);
  const at = archive.indexOf(layerName);
  const tampered = Buffer.from(archive);
  tampered[at + 512 + 100] ^= 0xff;
  await assert.rejects(loadDockerArchive(b.store, b.refs, Readable.from([tampered])), /blob .* is corrupt or truncated: digest mismatch/);

  for (const cut of [archive.length - 2048, Math.floor(archive.length / 2), 700]) {
    await assert.rejects(loadDockerArchive(b.store, b.refs, Readable.from([archive.subarray(0, cut)])), ArchiveError);
  }
  await assert.rejects(loadDockerArchive(b.store, b.refs, Readable.from([Buffer.from('not a tar at all')])), ArchiveError);
  assert.deepEqual(await b.refs.list(), before);
});

// skopeo re-marshals a Docker config into the OCI struct when it converts schema2 → OCI, so the
// config digest changes by design: interop is the same image (diff_ids, Cmd), not the same bytes.
test('interop: skopeo copy docker-archive → oci reads our archive: same diff_ids and Cmd', async (t) => {
  if (spawnSync('sh', ['-c', 'command -v skopeo']).status !== 0) {
    t.skip('skopeo is not installed');
    return;
  }
  const { store, refs } = fresh();
  const r = await importTarball(store, refs, Readable.from([await rootfs()]), { ref: 'interop:1', changes: ['CMD ["sh"]'] });
  const file = path.join(tmp, 'interop.tar');
  await saveDockerArchive(store, refs, ['interop:1'], createWriteStream(file));
  const ociDir = path.join(tmp, 'interop-oci');
  execFileSync('skopeo', ['copy', `docker-archive:${file}`, `oci:${ociDir}:interop`], { stdio: 'pipe' });
  const index = JSON.parse(await fsp.readFile(path.join(ociDir, 'index.json'), 'utf8'));
  const mdig: string = index.manifests[0].digest;
  const m = JSON.parse(await fsp.readFile(path.join(ociDir, 'blobs', 'sha256', digestHex(mdig as never)), 'utf8'));
  const theirs = JSON.parse(await fsp.readFile(path.join(ociDir, 'blobs', 'sha256', digestHex(m.config.digest as never)), 'utf8'));
  const ours = JSON.parse((await store.read(r.configDigest)).toString('utf8'));
  assert.deepEqual(theirs.rootfs.diff_ids, ours.rootfs.diff_ids);
  assert.deepEqual(theirs.rootfs.diff_ids, [r.diffId]);
  assert.deepEqual(theirs.config.Cmd, ['sh']);
  assert.equal(m.layers.length, 1);
});

test('save: a blob corrupted on disk fails the save with a digest mismatch (no uncaught stream error)', async () => {
  const { store, refs } = fresh();
  const r = await importTarball(store, refs, Readable.from([await rootfs()]), { ref: 'corrupt:1' });
  const p = store.blobPath(r.configDigest);
  const data = await fsp.readFile(p);
  data[5] ^= 0x01;
  await fsp.chmod(p, 0o644);
  await fsp.writeFile(p, data);
  const sink = new PassThrough();
  sink.resume();
  await assert.rejects(saveDockerArchive(store, refs, ['corrupt:1'], sink), new RegExp(`digest mismatch: expected ${r.configDigest}`));
});
