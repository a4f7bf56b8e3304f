// A 125-layer image (Docker's limit) on the overlay snapshotter: unpacked, prepared and run with
// bin/berth-runtime. With absolute lowerdirs its mount options would be far over a page; the
// short links relative to <root>/overlay keep them under it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContentStore } from '../../src/image/content/store';
import { MOUNT_DATA_MAX, overlayMountData } from '../../src/runtime/plan/overlay-rootfs';
import { openSnapshotter } from '../../src/storage/snapshotter';
import { assertNoMountsUnder, busyboxLayer, imageOf, runOn, tarOf } from './helpers';

const isRoot = process.getuid?.() === 0;
const LAYERS = 125;

describe('a 125-layer image on overlay (real kernel)', { skip: isRoot ? false : 'needs root' }, () => {
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-deep-'));
  });
  after(() => {
    if (!tmp) return;
    assertNoMountsUnder(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('unpacks, mounts inside the container and sees every layer', async () => {
    const store = new ContentStore(path.join(tmp, 'content'));
    await store.init();
    const layers = [await busyboxLayer()];
    for (let i = 1; i < LAYERS; i++) {
      layers.push(await tarOf([{ name: 'layers/', type: 'directory' }, { name: `layers/${i}`, body: `${i}\n` }, { name: 'top', body: `${i}\n` }]));
    }
    const img = await imageOf(store, layers);
    const snap = await openSnapshotter(path.join(tmp, 'storage'), 'overlay');
    const ids = await snap.unpack(store, img.manifest, img.config);
    assert.equal(ids.length, LAYERS);
    const cid = 'berth-test-deep';
    const rootfs = await snap.prepare(cid, ids, { hosts: '', hostname: 'deep\n', resolvConf: '' });
    try {
      assert.ok(rootfs.driver === 'overlay');
      assert.equal(rootfs.overlay.lower.length, LAYERS + 1);
      const data = overlayMountData(rootfs.overlay);
      assert.ok(Buffer.byteLength(data) <= MOUNT_DATA_MAX, `options ${Buffer.byteLength(data)} bytes`);
      const absolute = rootfs.overlay.lower.map((l) => fs.realpathSync(path.join(rootfs.overlay.base, l))).join(':');
      assert.ok(absolute.length > MOUNT_DATA_MAX, 'absolute lowerdirs would not fit in a page');

      const res = runOn(rootfs, 'ls /layers | wc -l; cat /layers/1 /layers/124 /top /etc/hostname; echo x > /layers/new');
      assert.equal(res.code, 0, `run: ${res.stderr}`);
      assert.deepEqual(res.stdout.trim().split('\n').map((l) => l.trim()), [String(LAYERS - 1), '1', '124', '124', 'deep']);
      assertNoMountsUnder(tmp);
      assert.deepEqual(await snap.changes(cid), [
        { Path: '/layers', Kind: 0 },
        { Path: '/layers/new', Kind: 1 },
      ]);
    } finally {
      await snap.remove(cid);
    }
  });
});
