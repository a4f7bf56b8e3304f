import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { ContentStore } from '../../image/content/store';
import { digestOf, type Digest } from '../../image/digest';
import { MediaTypes, type ImageConfig, type ImageManifest } from '../../image/oci-types';
import { diffDir, layerDir, overlayDir, readShortLink } from './layout';
import { chainIds, COMMITTED_MARKER, unpackImage } from './unpack';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-unpack-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const newDir = (p: string) => fs.mkdtempSync(path.join(tmp, `${p}${n++}-`));

type Ent = { name: string; type?: 'file' | 'directory' | 'fifo'; body?: string; mode?: number };

async function makeTar(entries: Ent[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((res, rej) => {
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const mode = e.mode ?? (type === 'directory' ? 0o755 : 0o644);
    const header = { name: e.name, type, mode, uid: 0, gid: 0, mtime: new Date(1_700_000_000_000) };
    if (type === 'file') pack.entry(header, e.body ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

async function makeImage(store: ContentStore, layers: Ent[][], gzip: boolean[]): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
  const descs = [];
  const diffIds: Digest[] = [];
  for (let i = 0; i < layers.length; i++) {
    const raw = await makeTar(layers[i]!);
    diffIds.push(digestOf(raw));
    const blob = gzip[i] ? gzipSync(raw) : raw;
    const r = await store.ingest([blob]);
    descs.push({ mediaType: gzip[i] ? MediaTypes.OCI_LAYER_GZIP : MediaTypes.OCI_LAYER, digest: r.digest, size: blob.length });
  }
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } };
  const cfgBytes = Buffer.from(JSON.stringify(config));
  const c = await store.ingest([cfgBytes]);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_MANIFEST,
    config: { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: cfgBytes.length },
    layers: descs,
  };
  return { manifest, config };
}

const L1: Ent[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hello', body: 'hello world\n' },
  { name: 'x', body: 'to be deleted' },
];
const L2: Ent[] = [
  { name: '.wh.x' },
  { name: 'etc/hello', body: 'changed\n' },
  { name: 'run/', type: 'directory' },
  { name: 'run/pipe', type: 'fifo', mode: 0o600 },
];

describe('unpackImage', () => {
  it('computes Docker chain ids', () => {
    const a = digestOf('a');
    const b = digestOf('b');
    assert.deepEqual(chainIds([a, b]), [a, digestOf(`${a} ${b}`)]);
  });

  it('unpacks a 2-layer image, then skips it the second time', async () => {
    const store = new ContentStore(newDir('store'));
    const root = newDir('root');
    const { manifest, config } = await makeImage(store, [L1, L2], [true, false]);
    const ids = await unpackImage(store, root, manifest, config);
    const want = chainIds(config.rootfs.diff_ids).map((d) => d.slice('sha256:'.length));
    assert.deepEqual(ids, want);
    assert.equal(ids[0], config.rootfs.diff_ids[0]!.slice(7));

    for (const id of ids) {
      assert.ok(fs.statSync(path.join(layerDir(root, id), COMMITTED_MARKER)).isFile());
      // the short link resolves to the final diff dir
      const link = readShortLink(root, id);
      assert.equal(fs.readlinkSync(path.join(overlayDir(root), 'l', link)), `../${id}/diff`);
      assert.equal(fs.realpathSync(path.join(overlayDir(root), 'l', link)), fs.realpathSync(diffDir(root, id)));
    }
    const d1 = diffDir(root, ids[0]!);
    const d2 = diffDir(root, ids[1]!);
    assert.equal(fs.readFileSync(path.join(d1, 'etc/hello'), 'utf8'), 'hello world\n');
    assert.equal(fs.readFileSync(path.join(d1, 'x'), 'utf8'), 'to be deleted');
    assert.equal(fs.readFileSync(path.join(d2, 'etc/hello'), 'utf8'), 'changed\n');
    const wh = fs.lstatSync(path.join(d2, 'x'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.ok(!fs.existsSync(path.join(d2, '.wh.x')));
    assert.ok(fs.lstatSync(path.join(d2, 'run/pipe')).isFIFO());
    // layer 2 has a lower file and a work dir; no temp dirs left behind
    assert.ok(fs.existsSync(path.join(layerDir(root, ids[1]!), 'lower')));
    assert.deepEqual(fs.readdirSync(overlayDir(root)).filter((e) => e.startsWith('tmp-')), []);
    assert.equal(fs.readdirSync(path.join(overlayDir(root), 'l')).length, 2);

    // second unpack: skipped (content untouched, same ids)
    fs.writeFileSync(path.join(d1, 'marker'), 'kept');
    const t0 = process.hrtime.bigint();
    const ids2 = await unpackImage(store, root, manifest, config);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.deepEqual(ids2, ids);
    assert.equal(fs.readFileSync(path.join(d1, 'marker'), 'utf8'), 'kept');
    assert.ok(ms < 500, `second unpack took ${ms}ms`);
  });

  it('concurrent unpacks of the same image agree and leave no temp dirs', async () => {
    const store = new ContentStore(newDir('store'));
    const root = newDir('root');
    const { manifest, config } = await makeImage(store, [L1, L2], [true, true]);
    const res = await Promise.all([1, 2, 3].map(() => unpackImage(store, root, manifest, config)));
    assert.deepEqual(res[1], res[0]);
    assert.deepEqual(res[2], res[0]);
    const entries = fs.readdirSync(overlayDir(root)).sort();
    assert.deepEqual(entries, [...res[0]!, 'l'].sort());
    assert.equal(fs.readdirSync(path.join(overlayDir(root), 'l')).length, 2);
    assert.equal(fs.readFileSync(path.join(diffDir(root, res[0]![1]!), 'etc/hello'), 'utf8'), 'changed\n');
  });

  it('a wrong diff_id fails clearly and commits nothing for that layer', async () => {
    const store = new ContentStore(newDir('store'));
    const root = newDir('root');
    const { manifest, config } = await makeImage(store, [L1, L2], [true, false]);
    const bad: ImageConfig = { ...config, rootfs: { type: 'layers', diff_ids: [config.rootfs.diff_ids[0]!, digestOf('nope')] } };
    const badIds = chainIds(bad.rootfs.diff_ids).map((d) => d.slice(7));
    await assert.rejects(unpackImage(store, root, manifest, bad), /diff_id mismatch/);
    assert.ok(fs.existsSync(path.join(layerDir(root, badIds[0]!), COMMITTED_MARKER)));
    assert.ok(!fs.existsSync(layerDir(root, badIds[1]!)));
    assert.deepEqual(fs.readdirSync(overlayDir(root)).filter((e) => e.startsWith('tmp-')), []);
    assert.equal(fs.readdirSync(path.join(overlayDir(root), 'l')).length, 1);
  });

  it('a bad bottom layer commits none of the layers extracted beside it, and leaves no temp dirs or links', async () => {
    const store = new ContentStore(newDir('store'));
    const root = newDir('root');
    const { manifest, config } = await makeImage(store, [L1, L2, L1], [true, true, false]);
    const diffIds = [digestOf('nope'), ...config.rootfs.diff_ids.slice(1)];
    const bad: ImageConfig = { ...config, rootfs: { type: 'layers', diff_ids: diffIds } };
    await assert.rejects(unpackImage(store, root, manifest, bad), /diff_id mismatch/);
    assert.deepEqual(fs.readdirSync(overlayDir(root)), ['l']);
    assert.deepEqual(fs.readdirSync(path.join(overlayDir(root), 'l')), []);
  });

  it('rejects a diff_id count mismatch', async () => {
    const store = new ContentStore(newDir('store'));
    const { manifest, config } = await makeImage(store, [L1], [false]);
    await assert.rejects(
      unpackImage(store, newDir('root'), manifest, { ...config, rootfs: { type: 'layers', diff_ids: [] } }),
      /diff_ids/,
    );
  });
});
