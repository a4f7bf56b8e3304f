// The image service end to end: pull from a real registry, tags and repo digests, rmi and prune
// with Docker's conflict rules, garbage collection of blobs and unpacked layers, import, commit,
// save/load, history — over a temp root, layers unpacked into overlay layer dirs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { ImageConflictError, ImageNotFoundError, ImageService, type LayerStore } from '../../src/image/service';
import { collectGarbage, pruneImages, removeImage, type ImageUsage } from '../../src/image/remove';
import { commitImage } from '../../src/image/commit';
import type { JsonMessage } from '../../src/image/progress';
import { unpackImage } from '../../src/storage/overlay/unpack';
import { overlayDir, removeLayer } from '../../src/storage/overlay/layout';
import { buildImage, ensureRegistryTools, pushImage, startRegistry, type BuiltImage, type TestRegistry } from '../fixtures/registry';

const skip = ensureRegistryTools();

/** The overlay layer dirs as a LayerStore (the snapshotter provides the same three calls). */
function overlayLayers(root: string): LayerStore {
  return {
    unpack: (store, manifest, config) => unpackImage(store, root, manifest, config),
    listLayers: async () => fs.readdirSync(overlayDir(root)).filter((n) => /^[0-9a-f]{64}$/.test(n)),
    removeLayer: async (id) => removeLayer(root, id),
  };
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date(0) }, content);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('image service', { skip }, () => {
  let reg: TestRegistry;
  let tmp = '';
  let layersRoot = '';
  let svc: ImageService;
  let app: BuiltImage;
  let app2: BuiltImage;
  before(async () => {
    reg = await startRegistry();
    app = await buildImage({ docker: true, layerFiles: [{ 'etc/hello': 'hello\n' }, { 'bin/app': 'v1\n' }] });
    app2 = await buildImage({ layerFiles: [{ 'etc/hello': 'hello\n' }, { 'bin/app': 'v2\n' }] });
    await pushImage(reg, 'berth-test/app', 'v1', app);
    await pushImage(reg, 'berth-test/app', 'v2', app2);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-images-'));
    layersRoot = path.join(tmp, 'storage');
    svc = new ImageService({ root: path.join(tmp, 'image'), layers: overlayLayers(layersRoot) });
    await svc.init();
  });
  after(async () => {
    await reg?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('pulls with Docker progress messages, unpacks, tags and records the repo digest', async () => {
    const msgs: JsonMessage[] = [];
    const img = await svc.pull(`${reg.host}/berth-test/app:v1`, { onProgress: (m) => msgs.push(m) });
    assert.equal(img.id, app.configDigest);
    assert.deepEqual(img.repoTags, [`${reg.host}/berth-test/app:v1`]);
    assert.deepEqual(img.repoDigests, [`${reg.host}/berth-test/app@${app.manifestDigest}`]);
    const statuses = msgs.map((m) => m.status);
    assert.equal(statuses[0], 'Pulling from berth-test/app');
    for (const s of ['Pulling fs layer', 'Download complete', 'Extracting', 'Pull complete', `Digest: ${app.manifestDigest}`]) {
      assert.ok(statuses.includes(s), `missing "${s}" in ${statuses.join(', ')}`);
    }
    assert.equal(statuses.at(-1), `Status: Downloaded newer image for ${reg.host}/berth-test/app:v1`);
    const layerIds = msgs.filter((m) => m.status === 'Pull complete').map((m) => m.id);
    assert.deepEqual(layerIds, app.layers.map((l) => l.digest.slice(7, 19)));
    // The layers are unpacked.
    assert.equal((await overlayLayers(layersRoot).listLayers()).length, 2);

    const again: JsonMessage[] = [];
    await svc.pull(`${reg.host}/berth-test/app:v1`, { onProgress: (m) => again.push(m) });
    assert.equal(again.at(-1)?.status, `Status: Image is up to date for ${reg.host}/berth-test/app:v1`);
    assert.ok(again.some((m) => m.status === 'Already exists'));
  });

  it('finds images by name, full ID, ID prefix and repo digest; unknown names are a clear error', async () => {
    const byName = await svc.get(`${reg.host}/berth-test/app:v1`);
    assert.equal((await svc.get(byName.id)).id, byName.id);
    assert.equal((await svc.get(byName.id.slice(7, 19))).id, byName.id);
    assert.equal((await svc.get(`${reg.host}/berth-test/app@${app.manifestDigest}`)).id, byName.id);
    await assert.rejects(svc.get('berth-test/nothing:here'), (e: unknown) => e instanceof ImageNotFoundError && /No such image: berth-test\/nothing:here/.test((e as Error).message));
  });

  it('tags, and refuses digest tags and bad names', async () => {
    const img = await svc.tag(`${reg.host}/berth-test/app:v1`, 'berth-test/mine');
    assert.deepEqual(img.repoTags, [`${reg.host}/berth-test/app:v1`, 'berth-test/mine:latest']);
    assert.ok(img.entry.lastTagTime);
    await assert.rejects(svc.tag('berth-test/mine', 'berth-test/UPPER'), /invalid reference format.*lowercase/);
    await assert.rejects(svc.tag('berth-test/mine', `berth-test/x@${app.manifestDigest}`), /digest/);
    await assert.rejects(svc.tag('berth-test/none', 'berth-test/y'), ImageNotFoundError);
  });

  it('rmi of one of two names only untags; by ID with two repositories needs force', async () => {
    await assert.rejects(removeImage(svc, app.configDigest), (e: unknown) => e instanceof ImageConflictError && /referenced in multiple repositories/.test((e as Error).message));
    const r = await removeImage(svc, 'berth-test/mine');
    assert.deepEqual(r, [{ Untagged: 'berth-test/mine:latest' }]);
    assert.equal((await svc.get(app.configDigest)).repoTags.length, 1);
  });

  it('a container keeps its image: stopped needs force, running can never be removed by ID', async () => {
    const name = `${reg.host}/berth-test/app:v1`;
    const usage = (running: boolean): ImageUsage => ({ byImage: new Map([[app.configDigest as never, [{ containerId: 'c0ffee1234567890', running }]]]), layers: new Set() });
    await assert.rejects(removeImage(svc, name, { usage: usage(false) }), /must force.*container c0ffee123456 is using its referenced image/);
    await assert.rejects(removeImage(svc, app.configDigest, { usage: usage(true), force: true }), /cannot be forced.*running container c0ffee123456/);
    await assert.rejects(removeImage(svc, app.configDigest, { usage: usage(false) }), /must be forced.*stopped container/);
    assert.deepEqual(await pruneImages(svc, { all: true, usage: usage(false) }), { ImagesDeleted: [], SpaceReclaimed: 0 });
    assert.equal((await svc.get(name)).id, app.configDigest);
  });

  it('pulling v2 shares the first layer; rmi removes the image, its repo digest and only its own layers and blobs', async () => {
    await svc.pull(`${reg.host}/berth-test/app:v2`);
    const layersBefore = await overlayLayers(layersRoot).listLayers();
    assert.equal(layersBefore.length, 3, 'the shared bottom layer is unpacked once');
    const r = await removeImage(svc, `${reg.host}/berth-test/app:v2`);
    assert.deepEqual(r.slice(0, 3), [
      { Untagged: `${reg.host}/berth-test/app:v2` },
      { Untagged: `${reg.host}/berth-test/app@${app2.manifestDigest}` },
      { Deleted: app2.configDigest },
    ]);
    assert.equal(r.length, 4, 'one layer deleted: ' + JSON.stringify(r));
    assert.equal((await overlayLayers(layersRoot).listLayers()).length, 2);
    for (const d of [app2.manifestDigest, app2.configDigest, app2.layers[1]!.digest]) assert.equal(await svc.content.has(d), false, `${d} left`);
    assert.equal(await svc.content.has(app.layers[0]!.digest), true);
    await assert.rejects(svc.get(app2.configDigest), ImageNotFoundError);
  });

  it('import makes a one-layer image; --change applies; commit adds a layer on top', async () => {
    const img = await svc.import(Readable.from([await tarOf({ 'bin/tool': 'tool\n' })]), { ref: 'berth-test/imported:1', changes: ['CMD ["/bin/tool"]', 'ENV A=b'] });
    assert.deepEqual(img.repoTags, ['berth-test/imported:1']);
    assert.deepEqual(img.config.config?.Cmd, ['/bin/tool']);
    assert.deepEqual(img.config.config?.Env, ['A=b']);
    await assert.rejects(svc.import(Readable.from([Buffer.from('x')]), { changes: ['FROM scratch'] }), /FROM/);

    const child = await commitImage(svc, img, Readable.from([await tarOf({ 'etc/added': 'yes\n' })]), { ref: 'berth-test/committed', author: 'tester', comment: 'a change', createdBy: 'sh -c echo', changes: ['WORKDIR /etc'] });
    assert.equal(child.config.rootfs.diff_ids.length, 2);
    assert.equal(child.config.rootfs.diff_ids[0], img.config.rootfs.diff_ids[0]);
    assert.equal(child.config.config?.WorkingDir, '/etc');
    assert.deepEqual(child.config.config?.Cmd, ['/bin/tool']);
    assert.equal(child.config.author, 'tester');
    const hist = await svc.history('berth-test/committed');
    assert.equal(hist.length, 2);
    assert.equal(hist[0]!.id, child.id);
    assert.equal(hist[0]!.createdBy, 'sh -c echo');
    assert.equal(hist[0]!.comment, 'a change');
    assert.deepEqual(hist[0]!.tags, ['berth-test/committed:latest']);
    assert.equal(hist[1]!.id, '<missing>');
  });

  it('save then load into a fresh store gives the same image IDs and tags', async () => {
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (c: Buffer) => parts.push(c));
    await svc.save(['berth-test/committed', `${reg.host}/berth-test/app:v1`], out);
    const other = new ImageService({ root: path.join(tmp, 'image2'), layers: overlayLayers(path.join(tmp, 'storage2')) });
    await other.init();
    const lines: JsonMessage[] = [];
    const loaded = await other.load(Readable.from([Buffer.concat(parts)]), (m) => lines.push(m));
    assert.deepEqual(loaded.map((i) => i.id).sort(), [(await svc.get('berth-test/committed')).id, app.configDigest].sort());
    assert.ok(lines.some((l) => l.stream === 'Loaded image: berth-test/committed:latest\n'));
    assert.deepEqual((await other.get('berth-test/committed')).repoTags, ['berth-test/committed:latest']);
    await assert.rejects(svc.save(['berth-test/nope'], new PassThrough()), ImageNotFoundError);
  });

  it('an untagged image is dangling: prune removes it, prune -a removes the rest, GC leaves nothing', async () => {
    await svc.tag('berth-test/imported:1', 'berth-test/imported:2');
    await removeImage(svc, 'berth-test/imported:1');
    // Re-tagging "committed" onto another image leaves the old one dangling.
    const committed = await svc.get('berth-test/committed');
    await svc.tag(`${reg.host}/berth-test/app:v1`, 'berth-test/committed');
    const dangling = (await svc.list()).filter((i) => i.repoTags.length === 0).map((i) => i.id);
    assert.deepEqual(dangling, [committed.id]);
    const p = await pruneImages(svc);
    assert.ok(p.ImagesDeleted.some((d) => 'Deleted' in d && d.Deleted === committed.id));
    assert.ok(p.SpaceReclaimed > 0);
    assert.equal((await svc.list()).length, 2);
    await pruneImages(svc, { all: true });
    assert.equal((await svc.list()).length, 0);
    assert.deepEqual(await svc.content.list(), []);
    assert.deepEqual(await overlayLayers(layersRoot).listLayers(), []);
    assert.deepEqual(await collectGarbage(svc), { blobs: [], layers: [], bytes: 0 });
  });

  it('a pull from an unreachable registry fails clearly and records nothing', async () => {
    await assert.rejects(svc.pull('127.0.0.1:1/berth-test/none:1'), /127\.0\.0\.1:1/);
    assert.equal((await svc.list()).length, 0);
  });
});
