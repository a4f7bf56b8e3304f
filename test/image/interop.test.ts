// Interop with skopeo (containers/image) through OCI archives, docker archives, dir: and a real
// registry, with gzip and zstd layers: what berth writes, skopeo reads, and what skopeo writes,
// berth loads or pulls AND unpacks (unpackImage into a temp overlay root, file contents checked).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { ContentStore } from '../../src/image/content/store';
import { RefStore } from '../../src/image/content/refs';
import { digestOf, type Digest } from '../../src/image/digest';
import { MediaTypes, type ImageConfig, type ImageManifest } from '../../src/image/oci-types';
import { normalizeReference } from '../../src/image/reference';
import { RegistryClient, RegistryError } from '../../src/image/registry/client';
import { push } from '../../src/image/registry/push';
import { loadArchive } from '../../src/image/archive/load';
import { saveOciArchive } from '../../src/image/archive/oci-archive';
import { diffDir } from '../../src/storage/overlay/layout';
import { unpackImage } from '../../src/storage/overlay/unpack';
import { ensureRegistryTools, startRegistry, type TestRegistry } from '../fixtures/registry';

const run = promisify(execFile);
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
const haveSkopeo = ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].some((p) => fs.existsSync(p));
const skip = !haveSkopeo ? 'skopeo is not installed' : !BUSYBOX ? 'busybox-static is not installed' : undefined;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-interop-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const newDir = (p: string) => fs.mkdtempSync(path.join(tmp, `${p}${seq++}-`));
function fresh(): { store: ContentStore; refs: RefStore } {
  const dir = newDir('engine');
  return { store: new ContentStore(path.join(dir, 'content')), refs: new RefStore(path.join(dir, 'refs.json')) };
}

/** skopeo with no host policy, auth file or temp dir involved. */
async function skopeo(...args: string[]): Promise<string> {
  const env = { ...process.env, TMPDIR: tmp, REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') };
  try {
    const { stdout } = await run('skopeo', ['--insecure-policy', ...args], { env, timeout: 30_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`skopeo ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HELLO = 'hello from berth\n';

async function tarOf(entries: { name: string; data?: Buffer | string; type?: 'directory' | 'symlink'; linkname?: string; mode?: number }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const h = { name: e.name, mtime: new Date(1_700_000_000_000), uid: 0, gid: 0 };
    if (e.type === 'directory') pack.entry({ ...h, type: 'directory', mode: 0o755 });
    else if (e.type === 'symlink') pack.entry({ ...h, type: 'symlink', linkname: e.linkname! });
    else pack.entry({ ...h, mode: e.mode ?? 0o644 }, Buffer.from(e.data ?? ''));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A gzip OCI image from raw layer tars, stored and tagged in a berth store. */
async function storeImage(store: ContentStore, refs: RefStore, name: string, raws: Buffer[]): Promise<Digest> {
  const layers: ImageManifest['layers'] = [];
  for (const raw of raws) {
    const r = await store.put(gzipSync(raw));
    layers.push({ mediaType: MediaTypes.OCI_LAYER_GZIP, digest: r.digest, size: r.size });
  }
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: raws.map((r) => digestOf(r)) } };
  const c = await store.put(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_MANIFEST,
    config: { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: c.size },
    layers,
  };
  const m = await store.put(JSON.stringify(manifest));
  await refs.tag(name, m.digest, MediaTypes.OCI_MANIFEST);
  return m.digest;
}

async function readJson<T>(store: ContentStore, d: string): Promise<T> {
  return JSON.parse((await store.read(d)).toString('utf8')) as T;
}

const MAGIC: Record<string, number[]> = { gzip: [0x1f, 0x8b], zstd: [0x28, 0xb5, 0x2f, 0xfd] };

/** Unpack `manifestDigest` into a fresh overlay root and check the busybox image's files. */
async function unpackAndCheck(store: ContentStore, manifestDigest: string, compression?: 'gzip' | 'zstd'): Promise<void> {
  const manifest = await readJson<ImageManifest>(store, manifestDigest);
  const config = await readJson<ImageConfig>(store, manifest.config.digest);
  assert.equal(manifest.layers.length, 2);
  if (compression) {
    for (const l of manifest.layers) {
      assert.match(l.mediaType, compression === 'zstd' ? /zstd$/ : /gzip$/, l.mediaType);
      const head = (await store.read(l.digest)).subarray(0, 4);
      assert.deepEqual([...head.subarray(0, MAGIC[compression]!.length)], MAGIC[compression], `${l.digest} is ${compression}`);
    }
  }
  const root = newDir('overlay');
  const ids = await unpackImage(store, root, manifest, config);
  const [bottom, top] = [diffDir(root, ids[0]!), diffDir(root, ids[1]!)];
  assert.equal(sha256(fs.readFileSync(path.join(bottom, 'bin/busybox'))), sha256(fs.readFileSync(BUSYBOX!)));
  assert.equal(fs.statSync(path.join(bottom, 'bin/busybox')).mode & 0o7777, 0o755);
  assert.equal(fs.readlinkSync(path.join(bottom, 'bin/sh')), 'busybox');
  assert.equal(fs.readFileSync(path.join(top, 'etc/hello'), 'utf8'), HELLO);
}

describe('skopeo interop', { skip }, () => {
  let src: { store: ContentStore; refs: RefStore };
  let srcManifest: Digest;
  let srcArchive: string;
  /** An OCI layout skopeo made from berth's archive: the source for the other copies. */
  let layout: string;

  before(async () => {
    src = fresh();
    const bin = fs.readFileSync(BUSYBOX!);
    srcManifest = await storeImage(src.store, src.refs, 'berth-test/src:1', [
      await tarOf([{ name: 'bin/', type: 'directory' }, { name: 'bin/busybox', data: bin, mode: 0o755 }, { name: 'bin/sh', type: 'symlink', linkname: 'busybox' }]),
      await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', data: HELLO }]),
    ]);
    srcArchive = path.join(tmp, 'src.tar');
    await saveOciArchive(src.store, src.refs, ['berth-test/src:1'], fs.createWriteStream(srcArchive));
    layout = path.join(tmp, 'layout');
    await skopeo('copy', `oci-archive:${srcArchive}:1`, `oci:${layout}:1`);
  });

  it("berth's OCI archive → skopeo oci: and dir: unchanged → oci-archive → berth load", async () => {
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, srcManifest, 'skopeo kept the manifest as berth wrote it');
    const dir = newDir('dir');
    await skopeo('copy', `oci-archive:${srcArchive}:1`, `dir:${dir}`);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'manifest.json')), await src.store.read(srcManifest));
    const inspected = JSON.parse(await skopeo('inspect', '--config', `oci-archive:${srcArchive}:1`));
    assert.deepEqual(inspected.config.Cmd, ['/bin/sh']);

    const back = path.join(tmp, 'back.tar');
    await skopeo('copy', `dir:${dir}`, `oci-archive:${back}:berth-test/back:2`);
    const b = fresh();
    const loaded = await loadArchive(b.store, b.refs, fs.createReadStream(back));
    assert.equal(loaded.length, 1);
    assert.equal(loaded[0]!.manifestDigest, srcManifest);
    assert.deepEqual(loaded[0]!.tags, ['docker.io/berth-test/back:2']);
    assert.equal((await b.refs.resolve('berth-test/back:2'))?.target, srcManifest);
    await unpackAndCheck(b.store, srcManifest, 'gzip');
  });

  it('skopeo docker-archive: → berth load (docker path) and unpack', async () => {
    const file = path.join(tmp, 'docker.tar');
    await skopeo('copy', `oci:${layout}:1`, `docker-archive:${file}:berth-test/da:1`);
    const b = fresh();
    const loaded = await loadArchive(b.store, b.refs, fs.createReadStream(file));
    assert.equal(loaded.length, 1);
    assert.equal(loaded[0]!.mediaType, MediaTypes.DOCKER_MANIFEST);
    assert.deepEqual(loaded[0]!.tags, ['docker.io/berth-test/da:1']);
    await unpackAndCheck(b.store, loaded[0]!.manifestDigest);
  });

  for (const fmt of ['zstd', 'gzip'] as const) {
    it(`skopeo oci-archive: with --dest-compress-format ${fmt} → berth load and unpack`, async () => {
      const file = path.join(tmp, `${fmt}.tar`);
      await skopeo('copy', '--dest-compress-format', fmt, `oci:${layout}:1`, `oci-archive:${file}:berth-test/${fmt}:1`);
      const b = fresh();
      const loaded = await loadArchive(b.store, b.refs, Readable.from(fs.createReadStream(file)));
      assert.equal(loaded.length, 1);
      assert.equal(loaded[0]!.mediaType, MediaTypes.OCI_MANIFEST);
      assert.deepEqual(loaded[0]!.tags, [`docker.io/berth-test/${fmt}:1`]);
      await unpackAndCheck(b.store, loaded[0]!.manifestDigest, fmt);
      // and berth's own save of it is readable by skopeo again, layers untouched
      const again = path.join(tmp, `${fmt}-again.tar`);
      await saveOciArchive(b.store, b.refs, [`berth-test/${fmt}:1`], fs.createWriteStream(again));
      const raw = JSON.parse(await skopeo('inspect', '--raw', `oci-archive:${again}:1`));
      assert.deepEqual(raw, await readJson(b.store, loaded[0]!.manifestDigest));
    });
  }
});

describe('umoci interop (OCI image layout read and written by another implementation)', { skip: skip ?? (fs.existsSync('/usr/bin/umoci') ? undefined : 'umoci is not installed') }, () => {
  const umoci = async (...args: string[]) => {
    try {
      await run('umoci', args, { env: { ...process.env, TMPDIR: tmp }, timeout: 30_000 });
    } catch (e) {
      throw new Error(`umoci ${args.join(' ')} failed: ${(e as Error & { stderr?: string }).stderr || (e as Error).message}`);
    }
  };

  it("umoci unpacks berth's OCI archive (extracted to a layout dir)", async () => {
    const s = fresh();
    await storeImage(s.store, s.refs, 'berth-test/umoci:1', [
      await tarOf([{ name: 'bin/', type: 'directory' }, { name: 'bin/busybox', data: fs.readFileSync(BUSYBOX!), mode: 0o755 }, { name: 'bin/sh', type: 'symlink', linkname: 'busybox' }]),
      await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', data: HELLO }]),
    ]);
    const archive = path.join(tmp, 'for-umoci.tar');
    await saveOciArchive(s.store, s.refs, ['berth-test/umoci:1'], fs.createWriteStream(archive));
    const dir = newDir('umoci-layout');
    await run('tar', ['-xf', archive, '-C', dir]);
    const bundle = path.join(newDir('umoci-bundle'), 'b');
    await umoci('unpack', '--image', `${dir}:1`, bundle);
    assert.equal(fs.readFileSync(path.join(bundle, 'rootfs/etc/hello'), 'utf8'), HELLO);
    assert.equal(fs.readlinkSync(path.join(bundle, 'rootfs/bin/sh')), 'busybox');
    assert.equal(sha256(fs.readFileSync(path.join(bundle, 'rootfs/bin/busybox'))), sha256(fs.readFileSync(BUSYBOX!)));
  });

  it('berth loads a layout umoci wrote: a bare-tag ref.name leaves it untagged; its layers unpack', async () => {
    const dir = path.join(newDir('umoci-new'), 'layout');
    await umoci('init', '--layout', dir);
    await umoci('new', '--image', `${dir}:v1`);
    const rootfs = newDir('umoci-src');
    fs.mkdirSync(path.join(rootfs, 'etc'));
    fs.writeFileSync(path.join(rootfs, 'etc/hello'), HELLO);
    await umoci('insert', '--image', `${dir}:v1`, path.join(rootfs, 'etc'), '/etc');
    const archive = path.join(tmp, 'from-umoci.tar');
    await run('tar', ['-cf', archive, '-C', dir, '.']);
    const b = fresh();
    const loaded = await loadArchive(b.store, b.refs, fs.createReadStream(archive));
    assert.equal(loaded.length, 1);
    assert.deepEqual(loaded[0]!.tags, [], '"v1" names no repository');
    assert.deepEqual(await b.refs.list(), []);
    const manifest = await readJson<ImageManifest>(b.store, loaded[0]!.manifestDigest);
    const config = await readJson<ImageConfig>(b.store, manifest.config.digest);
    const root = newDir('overlay');
    const ids = await unpackImage(b.store, root, manifest, config);
    assert.equal(fs.readFileSync(path.join(diffDir(root, ids[ids.length - 1]!), 'etc/hello'), 'utf8'), HELLO);
  });
});

describe('registry interop: skopeo pushes, berth pulls and unpacks', { skip: skip ?? ensureRegistryTools() }, () => {
  let reg: TestRegistry;
  let layout: string;
  before(async () => {
    reg = await startRegistry();
    const s = fresh();
    await storeImage(s.store, s.refs, 'berth-test/src:1', [
      await tarOf([{ name: 'bin/', type: 'directory' }, { name: 'bin/busybox', data: fs.readFileSync(BUSYBOX!), mode: 0o755 }, { name: 'bin/sh', type: 'symlink', linkname: 'busybox' }]),
      await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', data: HELLO }]),
    ]);
    const archive = path.join(tmp, 'reg-src.tar');
    await saveOciArchive(s.store, s.refs, ['berth-test/src:1'], fs.createWriteStream(archive));
    layout = path.join(tmp, 'reg-layout');
    await skopeo('copy', `oci-archive:${archive}:1`, `oci:${layout}:1`);
  });
  after(async () => {
    await reg?.stop();
  });

  for (const fmt of ['zstd', 'gzip'] as const) {
    it(`pulls a ${fmt} image skopeo pushed and unpacks it`, async () => {
      await skopeo('copy', '--dest-tls-verify=false', '--dest-compress-format', fmt, `oci:${layout}:1`, `docker://${reg.host}/berth-test/${fmt}:1`);
      const store = fresh().store;
      const r = await new RegistryClient().pull(normalizeReference(`${reg.host}/berth-test/${fmt}:1`), store);
      assert.equal(r.config.config?.Cmd?.[0], '/bin/sh');
      await unpackAndCheck(store, r.manifestDigest, fmt);
    });
  }

  it('the other way: berth loads a zstd oci-archive from skopeo, pushes it, skopeo pulls it (verifying) unchanged', async () => {
    const file = path.join(tmp, 'push-zstd.tar');
    await skopeo('copy', '--dest-compress-format', 'zstd', `oci:${layout}:1`, `oci-archive:${file}:berth-test/pushed:1`);
    const b = fresh();
    const [img] = await loadArchive(b.store, b.refs, fs.createReadStream(file));
    const client = new RegistryClient();
    const res = await push(client, normalizeReference(`${reg.host}/berth-test/pushed:1`), b.store, img!.manifestDigest);
    assert.equal(res.digest, img!.manifestDigest);
    const out = newDir('pulled');
    await skopeo('copy', '--src-tls-verify=false', `docker://${reg.host}/berth-test/pushed:1`, `oci:${out}:1`);
    const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, img!.manifestDigest);
    const m = JSON.parse(fs.readFileSync(path.join(out, 'blobs/sha256', img!.manifestDigest.slice(7)), 'utf8')) as ImageManifest;
    assert.deepEqual(m.layers.map((l) => l.mediaType), [MediaTypes.OCI_LAYER_ZSTD, MediaTypes.OCI_LAYER_ZSTD]);
  });

  it('a registry serving a zstd blob whose bytes do not match its digest: digest mismatch, blob not stored', async () => {
    // A distinct image (its own blobs), pushed as zstd, then one layer corrupted in the registry's storage.
    const s = fresh();
    await storeImage(s.store, s.refs, 'berth-test/bad:1', [
      await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/ok', data: 'ok\n' }]),
      await tarOf([{ name: 'etc/bad', data: 'to be corrupted\n'.repeat(100) }]),
    ]);
    const archive = path.join(tmp, 'bad.tar');
    await saveOciArchive(s.store, s.refs, ['berth-test/bad:1'], fs.createWriteStream(archive));
    await skopeo('copy', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', `oci-archive:${archive}:1`, `docker://${reg.host}/berth-test/bad:1`);
    const client = new RegistryClient();
    const ref = normalizeReference(`${reg.host}/berth-test/bad:1`);
    const { manifest } = await client.resolveManifest(ref);
    const victim = manifest.layers[1]!.digest;
    const p = reg.blobDataPath(victim);
    const data = fs.readFileSync(p);
    assert.deepEqual([...data.subarray(0, 4)], MAGIC.zstd);
    data[data.length - 8] = data[data.length - 8]! ^ 0xff;
    fs.writeFileSync(p, data);

    const store = fresh().store;
    await assert.rejects(client.pull(ref, store), (e: unknown) => {
      assert.ok(e instanceof RegistryError, String(e));
      assert.equal(e.code, 'digest-mismatch');
      assert.ok(e.message.includes(`failed to pull blob ${victim}`), e.message);
      assert.match(e.message, new RegExp(`digest mismatch: expected ${victim}, got sha256:[0-9a-f]{64}`));
      return true;
    });
    assert.equal(await store.has(victim), false);
    assert.equal(fs.existsSync(store.blobPath(victim)), false);
    assert.deepEqual(fs.readdirSync(store.ingestDir), [], 'no ingest leftovers');
  });
});
