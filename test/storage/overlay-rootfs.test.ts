// berth-runtime with an overlay rootfs: the mount exists only in the container's mount namespace
// (visible in its /proc/self/mountinfo as "/", never in ours), and a mount the kernel refuses is
// reported as the overlay op's failure, with nothing left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContentStore } from '../../src/image/content/store';
import { openSnapshotter, ROOTFS_OVERLAY_ANNOTATION, type Snapshotter } from '../../src/storage/snapshotter';
import { assertNoMountsUnder, busyboxLayer, imageOf, runOn } from './helpers';

const isRoot = process.getuid?.() === 0;

describe('overlay rootfs in berth-runtime (real kernel)', { skip: isRoot ? false : 'needs root' }, () => {
  let tmp = '';
  let snap: Snapshotter;
  let ids: string[] = [];
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-ovlrt-'));
    const store = new ContentStore(path.join(tmp, 'content'));
    await store.init();
    const img = await imageOf(store, [await busyboxLayer()]);
    snap = await openSnapshotter(path.join(tmp, 'storage'), 'overlay');
    ids = await snap.unpack(store, img.manifest, img.config);
  });
  after(() => {
    if (!tmp) return;
    assertNoMountsUnder(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the root is an overlay inside the container only', async () => {
    const cid = 'berth-test-ovl-ns';
    const rootfs = await snap.prepare(cid, ids, { hosts: '', hostname: '', resolvConf: '' });
    try {
      const res = runOn(rootfs, 'grep " / / " /proc/self/mountinfo');
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, / - overlay overlay rw,.*lowerdir=l\/[A-Z0-9]{26}:l\/[A-Z0-9]{26},upperdir=[0-9a-f]{64}\/diff,workdir=[0-9a-f]{64}\/work/);
      assertNoMountsUnder(tmp);
    } finally {
      await snap.remove(cid);
    }
  });

  it('a mount the kernel refuses fails the overlay op, and leaves nothing mounted', async () => {
    const cid = 'berth-test-ovl-refused';
    const rootfs = await snap.prepare(cid, ids, { hosts: '', hostname: '', resolvConf: '' });
    try {
      assert.ok(rootfs.driver === 'overlay');
      // The init layer as upper while it is also a lower: overlay refuses overlapping layers.
      const initUpper = `${rootfs.overlay.upper.split('/')[0]}-init/diff`;
      const bad = { ...rootfs.overlay, upper: initUpper };
      const res = runOn({ ...rootfs, annotations: { [ROOTFS_OVERLAY_ANNOTATION]: JSON.stringify(bad) } }, 'true');
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /mounting the overlay rootfs on .*merged.*: mount overlay on .*merged/);
      assertNoMountsUnder(tmp);
    } finally {
      await snap.remove(cid);
    }
  });
});
