// RegistryClient against a real docker-registry (distribution v2) on 127.0.0.1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContentStore } from '../../src/image/content/store';
import { normalizeReference } from '../../src/image/reference';
import { RegistryClient, RegistryError, registryEndpoint, type ProgressEvent } from '../../src/image/registry/client';
import {
  buildImage,
  ensureRegistryTools,
  freePort,
  pushImage,
  pushIndex,
  startRegistry,
  type BuiltImage,
  type TestRegistry,
} from '../fixtures/registry';

const skip = ensureRegistryTools(true);

function tmpStore(t: string[]): ContentStore {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-store-'));
  t.push(d);
  return new ContentStore(d);
}

describe('registryEndpoint', () => {
  it('maps docker.io, localhost and insecure hosts', () => {
    assert.equal(registryEndpoint('docker.io'), 'https://registry-1.docker.io');
    assert.equal(registryEndpoint('localhost:5000'), 'http://localhost:5000');
    assert.equal(registryEndpoint('127.0.0.1:5000'), 'http://127.0.0.1:5000');
    assert.equal(registryEndpoint('quay.io'), 'https://quay.io');
    assert.equal(registryEndpoint('reg.lan:5000', ['reg.lan:5000']), 'http://reg.lan:5000');
  });
});

describe('registry client (anonymous registry)', { skip }, () => {
  let reg: TestRegistry;
  let img: BuiltImage;
  let arm: BuiltImage;
  let bad: BuiltImage;
  const dirs: string[] = [];
  before(async () => {
    reg = await startRegistry();
    img = await buildImage({ docker: true, layerFiles: [{ 'etc/hello': 'hello\n' }, { 'bin/app': 'x'.repeat(200000) }] });
    await pushImage(reg, 'test/app', 'v1', img);
    arm = await buildImage({ arch: 'arm64', variant: 'v8', layerFiles: [{ 'etc/arch': 'arm64\n' }] });
    const amd = await buildImage({ layerFiles: [{ 'etc/arch': 'amd64\n' }] });
    await pushImage(reg, 'test/multi', amd.manifestDigest, amd);
    await pushImage(reg, 'test/multi', arm.manifestDigest, arm);
    await pushIndex(reg, 'test/multi', 'latest', [
      { img: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { img: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    // A layer whose stored bytes we corrupt afterwards (same size): the registry then lies.
    bad = await buildImage({ layerFiles: [{ 'etc/ok': 'ok\n' }, { 'etc/bad': 'will be corrupted\n' }] });
    await pushImage(reg, 'test/bad', 'v1', bad);
    const p = reg.blobDataPath(bad.layers[1]!.digest);
    const data = fs.readFileSync(p);
    data[data.length - 5] = data[data.length - 5]! ^ 0xff;
    fs.writeFileSync(p, data);
  });
  after(async () => {
    await reg?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('pings /v2/', async () => {
    await new RegistryClient().ping(reg.host);
  });

  it('pulls by tag into the store with progress, then reports Already exists', async () => {
    const store = tmpStore(dirs);
    const client = new RegistryClient();
    const events: ProgressEvent[] = [];
    const ref = normalizeReference(`${reg.host}/test/app:v1`);
    const r = await client.pull(ref, store, { onProgress: (e) => events.push(e) });
    assert.equal(r.manifestDigest, img.manifestDigest);
    assert.equal(r.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(r.config.architecture, 'amd64');
    assert.equal(r.manifest.layers.length, 2);
    for (const d of [img.configDigest, img.manifestDigest, ...img.layers.map((l) => l.digest)]) {
      assert.ok(await store.has(d), `store has ${d}`);
      await store.read(d, { verify: true });
    }
    assert.deepEqual(await store.read(img.layers[1]!.digest), img.layers[1]!.blob);
    for (const l of img.layers) {
      const id = l.digest.slice(7, 19);
      const statuses = events.filter((e) => e.id === id).map((e) => e.status);
      assert.equal(statuses[0], 'Pulling fs layer');
      assert.ok(statuses.includes('Downloading'), statuses.join());
      assert.deepEqual(statuses.slice(-2), ['Verifying Checksum', 'Download complete']);
      const last = events.filter((e) => e.id === id && e.status === 'Downloading').pop()!;
      assert.equal(last.current, l.size);
      assert.equal(last.total, l.size);
    }
    assert.ok(!events.some((e) => e.id === img.configDigest.slice(7, 19)), 'config is not a progress line');

    const again: ProgressEvent[] = [];
    const r2 = await client.pull(ref, store, { onProgress: (e) => again.push(e) });
    assert.equal(r2.manifestDigest, img.manifestDigest);
    assert.deepEqual(
      again.map((e) => e.status),
      ['Already exists', 'Already exists'],
    );
  });

  it('pulls by digest and verifies the manifest digest', async () => {
    const store = tmpStore(dirs);
    const ref = normalizeReference(`${reg.host}/test/app@${img.manifestDigest}`);
    const r = await new RegistryClient().pull(ref, store);
    assert.equal(r.manifestDigest, img.manifestDigest);
    assert.ok(await store.has(img.layers[0]!.digest));
    // Asking for a digest the content doesn't have: the registry 404s it.
    const other = normalizeReference(`${reg.host}/test/app@sha256:${'0'.repeat(64)}`);
    await assert.rejects(new RegistryClient().resolveManifest(other), /not found: manifest unknown/);
  });

  it('picks linux/amd64 from an index, a requested variant, and errors clearly for a missing platform', async () => {
    const client = new RegistryClient();
    const ref = normalizeReference(`${reg.host}/test/multi`);
    const amd = await client.resolveManifest(ref);
    assert.ok(amd.index);
    assert.equal(amd.index.index.manifests.length, 2);
    const store = tmpStore(dirs);
    const pulled = await client.pull(ref, store);
    assert.equal(pulled.config.architecture, 'amd64');
    assert.equal(pulled.manifestDigest, amd.digest);
    assert.equal(pulled.indexDigest, amd.index.digest);
    assert.ok(await store.has(amd.index.digest));
    const a64 = await client.resolveManifest(ref, { os: 'linux', architecture: 'arm64' });
    assert.equal(a64.digest, arm.manifestDigest);
    await assert.rejects(
      client.resolveManifest(ref, { os: 'linux', architecture: 's390x' }),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        assert.equal(e.code, 'no-platform');
        assert.equal(e.message, `no manifest for linux/s390x in ${reg.host}/test/multi:latest (available: linux/amd64, linux/arm64/v8)`);
        return true;
      },
    );
  });

  it('says clearly when a tag or repository does not exist', async () => {
    const client = new RegistryClient();
    await assert.rejects(client.pull(normalizeReference(`${reg.host}/test/app:nope`), tmpStore(dirs)), {
      name: 'RegistryError',
      message: `manifest for ${reg.host}/test/app:nope not found: manifest unknown`,
    });
    await assert.rejects(client.resolveManifest(normalizeReference(`${reg.host}/no/such`)), {
      message: `manifest for ${reg.host}/no/such:latest not found: manifest unknown`,
    });
  });

  it('fails a corrupted layer with "digest mismatch" and keeps no such blob', async () => {
    const store = tmpStore(dirs);
    const ref = normalizeReference(`${reg.host}/test/bad:v1`);
    await assert.rejects(new RegistryClient().pull(ref, store, { concurrency: 1 }), (e: unknown) => {
      assert.ok(e instanceof RegistryError, String(e));
      assert.equal(e.code, 'digest-mismatch');
      assert.match(e.message, /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:/);
      assert.ok(e.message.includes(bad.layers[1]!.digest));
      return true;
    });
    assert.equal(await store.has(bad.layers[1]!.digest), false);
    assert.equal(await store.has(bad.manifestDigest), false, 'manifest not recorded for a failed pull');
    assert.deepEqual(fs.readdirSync(store.ingestDir), [], 'no ingest leftovers');
  });

  it('reports an unreachable registry', async () => {
    const port = await freePort(); // nothing listens there
    await assert.rejects(new RegistryClient().resolveManifest(normalizeReference(`127.0.0.1:${port}/x/y:1`)), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, 'unreachable');
      assert.match(e.message, new RegExp(`^cannot reach registry 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
      return true;
    });
  });
});

describe('registry client (htpasswd Basic auth)', { skip }, () => {
  let reg: TestRegistry;
  let img: BuiltImage;
  const dirs: string[] = [];
  before(async () => {
    reg = await startRegistry({ auth: { username: 'alice', password: 's3cret' } });
    img = await buildImage({ layerFiles: [{ a: '1' }, { b: '2' }] });
    await pushImage(reg, 'private/app', 'v1', img);
  });
  after(async () => {
    await reg?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('fails without credentials with a login hint', async () => {
    await assert.rejects(new RegistryClient().pull(normalizeReference(`${reg.host}/private/app:v1`), tmpStore(dirs)), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, 'unauthorized');
      assert.match(e.message, /^unauthorized: .*\(log in with berth login 127\.0\.0\.1:\d+\)$/);
      return true;
    });
  });

  it('fails with wrong credentials', async () => {
    const cfg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cfg-')), 'config.json');
    dirs.push(path.dirname(cfg));
    fs.writeFileSync(cfg, JSON.stringify({ auths: { [reg.host]: { username: 'alice', password: 'wrong' } } }));
    await assert.rejects(new RegistryClient({ configPath: cfg }).resolveManifest(normalizeReference(`${reg.host}/private/app:v1`)), {
      message: new RegExp(`^unauthorized: .*\\(log in with berth login ${reg.host.replace(/\./g, '\\.')}\\)$`),
    });
  });

  it('pulls with credentials from config.json (auth and username/password forms)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cfg-'));
    dirs.push(dir);
    const cfg1 = path.join(dir, 'a.json');
    fs.writeFileSync(cfg1, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const store = tmpStore(dirs);
    const r = await new RegistryClient({ configPath: cfg1 }).pull(normalizeReference(`${reg.host}/private/app:v1`), store);
    assert.equal(r.manifestDigest, img.manifestDigest);
    for (const l of img.layers) assert.ok(await store.has(l.digest));
    const cfg2 = path.join(dir, 'b.json');
    fs.writeFileSync(cfg2, JSON.stringify({ auths: { [`http://${reg.host}`]: { username: 'alice', password: 's3cret' } } }));
    const m = await new RegistryClient({ configPath: cfg2 }).resolveManifest(normalizeReference(`${reg.host}/private/app@${img.manifestDigest}`));
    assert.equal(m.digest, img.manifestDigest);
  });
});

describe('registry client: malformed descriptors from a registry', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const cfg = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const cfgDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${createHash('sha256').update(cfg).digest('hex')}`, size: cfg.length };
  /** A fake registry serving one manifest (or index) for every manifest GET. */
  const serving = (doc: unknown, mediaType: string): RegistryClient => {
    const body = json(doc);
    let blobGets = 0;
    const client = new RegistryClient({
      fetch: async (url: string | URL | Request) => {
        const u = String(url);
        if (u.includes('/manifests/')) return new Response(body, { status: 200, headers: { 'content-type': mediaType } });
        blobGets++;
        return new Response(u.includes(cfgDesc.digest) ? cfg : 'x', { status: 200 });
      },
    });
    Object.defineProperty(client, 'blobGets', { get: () => blobGets });
    return client;
  };
  const ref = normalizeReference('127.0.0.1:1/berth-test/bad:1');
  const manifest = (layers: unknown[]) => ({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfgDesc, layers });

  for (const [what, layer, detail] of [
    ['a path-like digest', { mediaType: 'x', digest: 'sha256:../../etc/passwd', size: 1 }, 'an invalid digest "sha256:../../etc/passwd"'],
    ['a string size', { mediaType: 'x', digest: `sha256:${'a'.repeat(64)}`, size: '1' }, 'an invalid size "1"'],
    ['a negative size', { mediaType: 'x', digest: `sha256:${'a'.repeat(64)}`, size: -1 }, 'an invalid size -1'],
    ['no size', { mediaType: 'x', digest: `sha256:${'a'.repeat(64)}` }, 'an invalid size undefined'],
  ] as const) {
    it(`a layer with ${what} is a protocol error naming the layer, before any download`, async () => {
      const store = tmpStore(dirs);
      const client = serving(manifest([{ mediaType: 'x', digest: cfgDesc.digest, size: cfg.length }, layer]), 'application/vnd.oci.image.manifest.v1+json');
      await assert.rejects(client.pull(ref, store), (e: unknown) => {
        assert.ok(e instanceof RegistryError, String(e));
        assert.equal(e.code, 'protocol');
        assert.equal(e.message, `manifest for 127.0.0.1:1/berth-test/bad:1: layer 1 has ${detail}`);
        return true;
      });
      assert.equal((client as unknown as { blobGets: number }).blobGets, 0);
      assert.deepEqual(await store.list(), []);
    });
  }

  it('an index entry with a malformed digest is rejected before it is put in a URL', async () => {
    const client = serving(
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../x', size: 10, platform: { os: 'linux', architecture: 'amd64' } }] },
      'application/vnd.oci.image.index.v1+json',
    );
    await assert.rejects(client.resolveManifest(ref), {
      name: 'RegistryError',
      message: 'index for 127.0.0.1:1/berth-test/bad:1: manifest for linux/amd64 has an invalid digest "sha256:../../x"',
    });
  });
});
