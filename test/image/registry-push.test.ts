// push() and login() against a real docker-registry (distribution v2) on 127.0.0.1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContentStore } from '../../src/image/content/store';
import { normalizeReference } from '../../src/image/reference';
import { RegistryClient, RegistryError } from '../../src/image/registry/client';
import { push, type PushProgressEvent } from '../../src/image/registry/push';
import { login } from '../../src/image/registry/credentials';
import { buildImage, ensureRegistryTools, startRegistry, sha256, type BuiltImage, type TestRegistry } from '../fixtures/registry';

const skip = ensureRegistryTools(true);

const dirs: string[] = [];
function tmpDir(prefix = 'berth-push-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}
function tmpStore(): ContentStore {
  return new ContentStore(tmpDir('berth-store-'));
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function storeImage(store: ContentStore, img: BuiltImage): Promise<void> {
  await store.put(img.config);
  for (const l of img.layers) await store.put(l.blob);
  await store.put(img.manifest);
}

/** A fetch that records "METHOD path?query" of every request. */
function recordingFetch(log: string[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const u = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    log.push(`${init?.method ?? 'GET'} ${u.pathname}${u.search}`);
    return fetch(input, init);
  }) as typeof fetch;
}

async function pullBack(reg: TestRegistry, name: string, img: BuiltImage): Promise<void> {
  const store = tmpStore();
  const r = await new RegistryClient().pull(normalizeReference(`${reg.host}/${name}`), store);
  assert.equal(r.manifestDigest, img.manifestDigest);
  assert.deepEqual(await store.read(img.manifestDigest), img.manifest);
  assert.deepEqual(await store.read(img.configDigest), img.config);
  for (const l of img.layers) assert.deepEqual(await store.read(l.digest), l.blob);
}

describe('push (anonymous registry)', { skip }, () => {
  let reg: TestRegistry;
  let img: BuiltImage;
  let store: ContentStore;
  before(async () => {
    reg = await startRegistry();
    img = await buildImage({ layerFiles: [{ 'etc/hello': 'hello\n' }, { 'bin/app': 'x'.repeat(200000) }] });
    store = tmpStore();
    await storeImage(store, img);
  });
  after(async () => {
    await reg?.stop();
  });

  it('pushes into an empty registry; pull gives identical content', async () => {
    const events: PushProgressEvent[] = [];
    const r = await push(new RegistryClient(), normalizeReference(`${reg.host}/test/app:v1`), store, img.manifestDigest, {
      onProgress: (e) => events.push(e),
    });
    assert.equal(r.digest, img.manifestDigest);
    assert.equal(r.tag, 'v1');
    assert.equal(r.mediaType, img.mediaType);
    assert.deepEqual([r.pushed, r.existed, r.mounted], [3, 0, 0]);
    for (const l of img.layers) {
      const mine = events.filter((e) => e.id === l.digest.slice(7, 19)).map((e) => e.status);
      assert.equal(mine[0], 'Preparing');
      assert.ok(mine.includes('Pushing'));
      assert.equal(mine.at(-1), 'Pushed');
    }
    const last = events.filter((e) => e.status === 'Pushing').at(-1)!;
    assert.equal(last.current, last.total);
    await pullBack(reg, 'test/app:v1', img);
  });

  it('a second push reports "Layer already exists"', async () => {
    const events: PushProgressEvent[] = [];
    const r = await push(new RegistryClient(), normalizeReference(`${reg.host}/test/app:v2`), store, img.manifestDigest, {
      onProgress: (e) => events.push(e),
    });
    assert.deepEqual([r.pushed, r.existed, r.mounted], [0, 3, 0]);
    assert.equal(events.filter((e) => e.status === 'Layer already exists').length, 2);
    assert.equal(events.filter((e) => e.status === 'Pushing' || e.status === 'Pushed').length, 0);
    await pullBack(reg, 'test/app:v2', img);
  });

  it('uploads large blobs in chunks (PATCH + final PUT)', async () => {
    const big = await buildImage({ layerFiles: [{ 'data/rand': randomBytes(300 * 1024).toString('base64') }, { 'etc/small': 's\n' }] });
    assert.ok(big.layers[0]!.size > 3 * 64 * 1024);
    const s = tmpStore();
    await storeImage(s, big);
    const log: string[] = [];
    const events: PushProgressEvent[] = [];
    const r = await push(new RegistryClient({ fetch: recordingFetch(log) }), normalizeReference(`${reg.host}/test/big`), s, big.manifestDigest, {
      chunkSize: 64 * 1024,
      concurrency: 1,
      onProgress: (e) => events.push(e),
    });
    assert.equal(r.tag, 'latest');
    const patches = log.filter((l) => l.startsWith('PATCH '));
    assert.equal(patches.length, Math.ceil(big.layers[0]!.size / (64 * 1024)));
    assert.ok(log.some((l) => l.startsWith('PUT ') && l.includes(`digest=${encodeURIComponent(big.layers[0]!.digest)}`)));
    const bigId = big.layers[0]!.digest.slice(7, 19);
    const progress = events.filter((e) => e.id === bigId && e.status === 'Pushing').map((e) => e.current);
    assert.ok(progress.length >= patches.length);
    assert.deepEqual(progress, [...progress].sort((a, b) => a! - b!));
    await pullBack(reg, 'test/big:latest', big);
  });

  it('mounts blobs across repositories', async () => {
    const log: string[] = [];
    const events: PushProgressEvent[] = [];
    const r = await push(
      new RegistryClient({ fetch: recordingFetch(log) }),
      normalizeReference(`${reg.host}/other/copy:v1`),
      store,
      img.manifestDigest,
      { mountFrom: [`${reg.host}/test/app`], onProgress: (e) => events.push(e) },
    );
    assert.deepEqual([r.pushed, r.existed, r.mounted], [0, 0, 3]);
    assert.equal(events.filter((e) => e.status === 'Mounted from test/app').length, 2);
    assert.ok(log.some((l) => l.includes('mount=') && l.includes('from=test%2Fapp')));
    assert.equal(log.filter((l) => l.startsWith('PATCH ') || (l.startsWith('PUT ') && l.includes('/blobs/'))).length, 0);
    await pullBack(reg, 'other/copy:v1', img);
  });

  it('pushes a manifest index with its child manifests first', async () => {
    const amd = await buildImage({ layerFiles: [{ 'etc/arch': 'amd64\n' }] });
    const arm = await buildImage({ arch: 'arm64', variant: 'v8', layerFiles: [{ 'etc/arch': 'arm64\n' }] });
    const s = tmpStore();
    await storeImage(s, amd);
    await storeImage(s, arm);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: amd.mediaType, digest: amd.manifestDigest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: arm.mediaType, digest: arm.manifestDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      }),
    );
    await s.put(index);
    const log: string[] = [];
    const r = await push(new RegistryClient({ fetch: recordingFetch(log) }), normalizeReference(`${reg.host}/test/multi:latest`), s, sha256(index));
    assert.equal(r.mediaType, 'application/vnd.oci.image.index.v1+json');
    const manifestPuts = log.filter((l) => l.startsWith('PUT ') && l.includes('/manifests/'));
    assert.deepEqual(manifestPuts, [
      `PUT /v2/test/multi/manifests/${amd.manifestDigest}`,
      `PUT /v2/test/multi/manifests/${arm.manifestDigest}`,
      'PUT /v2/test/multi/manifests/latest',
    ]);
    const client = new RegistryClient();
    const ref = normalizeReference(`${reg.host}/test/multi:latest`);
    const top = await client.fetchManifest(ref, 'latest');
    assert.equal(top.digest, sha256(index));
    const resolved = await client.resolveManifest(ref, { os: 'linux', architecture: 'arm64' });
    assert.equal(resolved.digest, arm.manifestDigest);
    const pulled = tmpStore();
    await client.pull(ref, pulled, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.deepEqual(await pulled.read(arm.layers[0]!.digest), arm.layers[0]!.blob);
  });

  it('fails clearly when a blob is missing from the local store', async () => {
    const partial = await buildImage({ layerFiles: [{ 'etc/x': 'missing\n' }] });
    const s = tmpStore();
    await s.put(partial.manifest);
    await s.put(partial.config);
    await assert.rejects(
      push(new RegistryClient(), normalizeReference(`${reg.host}/test/partial`), s, partial.manifestDigest),
      (e: unknown) => e instanceof RegistryError && /not in the local content store/.test(e.message),
    );
  });
});

describe('push error reporting (scripted registry)', () => {
  it('appends digest to Location query params and reports 5xx error bodies', async () => {
    const img = await buildImage({ layerFiles: [{ 'a': 'a\n' }] });
    const s = tmpStore();
    await storeImage(s, img);
    const seen: string[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      const u = new URL(String(input));
      const method = init?.method ?? 'GET';
      seen.push(`${method} ${u.href}`);
      if (method === 'HEAD') return new Response(null, { status: 404 });
      if (method === 'POST') return new Response(null, { status: 202, headers: { Location: 'http://127.0.0.1:9/upload/abc?_state=xyz' } });
      if (method === 'PUT') {
        return new Response(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'disk full on backend' }] }), { status: 503 });
      }
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    await assert.rejects(
      push(new RegistryClient({ fetch: fake }), normalizeReference('127.0.0.1:9/x/y:t'), s, img.manifestDigest, { concurrency: 1 }),
      (e: unknown) => e instanceof RegistryError && /HTTP 503: unknown: disk full on backend/.test(e.message) && /failed/.test(e.message),
    );
    const put = seen.find((l) => l.startsWith('PUT '))!;
    assert.match(put, /^PUT http:\/\/127\.0\.0\.1:9\/upload\/abc\?_state=xyz&digest=sha256%3A[0-9a-f]{64}$/);
    assert.ok(seen.some((l) => l.startsWith('DELETE http://127.0.0.1:9/upload/abc')), 'failed upload is cancelled');
  });

  it('maps 404 on manifest PUT to a name-unknown error', async () => {
    const img = await buildImage({ layerFiles: [{ 'b': 'b\n' }] });
    const s = tmpStore();
    await storeImage(s, img);
    const fake = (async (_input: string | URL | Request, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      if (method === 'HEAD') return new Response(null, { status: 200 });
      return new Response(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }), { status: 404 });
    }) as typeof fetch;
    await assert.rejects(
      push(new RegistryClient({ fetch: fake }), normalizeReference('127.0.0.1:9/nope/repo:t'), s, img.manifestDigest),
      (e: unknown) => e instanceof RegistryError && e.code === 'not-found' && /name unknown/.test(e.message) && /nope\/repo/.test(e.message),
    );
  });
});

describe('push with htpasswd auth', { skip }, () => {
  const auth = { username: 'alice', password: 'correct horse' };
  let reg: TestRegistry;
  let img: BuiltImage;
  let store: ContentStore;
  before(async () => {
    reg = await startRegistry({ auth });
    img = await buildImage({ layerFiles: [{ 'etc/secret': 'private\n' }] });
    store = tmpStore();
    await storeImage(store, img);
  });
  after(async () => {
    await reg?.stop();
  });

  it('401 without credentials names the login command', async () => {
    await assert.rejects(
      push(new RegistryClient(), normalizeReference(`${reg.host}/priv/app:v1`), store, img.manifestDigest),
      (e: unknown) => e instanceof RegistryError && e.code === 'unauthorized' && e.message.includes(`berth login ${reg.host}`),
    );
  });

  it('login with a wrong password fails and saves nothing', async () => {
    const configPath = path.join(tmpDir(), 'config.json');
    const client = new RegistryClient({ configPath });
    await assert.rejects(login(client, reg.host, 'alice', 'wrong'), (e: unknown) => e instanceof RegistryError && /incorrect username or password/.test(e.message));
    assert.equal(fs.existsSync(configPath), false);
  });

  it('login saves credentials, then push and pull work', async () => {
    const configPath = path.join(tmpDir(), 'config.json');
    fs.writeFileSync(configPath, JSON.stringify({ auths: { 'elsewhere:1': { auth: 'eDp5' } }, detachKeys: 'ctrl-q' }));
    const client = new RegistryClient({ configPath });
    const r = await login(client, reg.host, auth.username, auth.password);
    assert.equal(r.status, 'Login Succeeded');
    const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    assert.equal(cfg.auths[reg.host].auth, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
    assert.equal(cfg.detachKeys, 'ctrl-q');
    assert.ok(cfg.auths['elsewhere:1']);
    assert.equal(fs.statSync(configPath).mode & 0o777, 0o600);

    const ref = normalizeReference(`${reg.host}/priv/app:v1`);
    const p = await push(client, ref, store, img.manifestDigest);
    assert.equal(p.pushed, 2);
    const pulled = tmpStore();
    const got = await client.pull(ref, pulled);
    assert.equal(got.manifestDigest, img.manifestDigest);
    assert.deepEqual(await pulled.read(img.layers[0]!.digest), img.layers[0]!.blob);
  });
});
