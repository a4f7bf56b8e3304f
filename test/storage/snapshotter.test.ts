// The snapshotters on the real kernel, as root: the SAME scenarios against overlay and vfs.
// An image with whiteouts and opaque dirs is unpacked from a ContentStore, a container prepared on
// it and run with bin/berth-runtime (overlay: mounted by the runtime inside the container's own
// mount namespace), then its diff, layer tar, export, size and removal are checked. After every
// test nothing of ours may be mounted in this (the host's) mount namespace.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContentStore } from '../../src/image/content/store';
import type { ImageConfig, ImageManifest } from '../../src/image/oci-types';
import { ChangeKind, openSnapshotter, SnapshotterError, type Snapshotter } from '../../src/storage/snapshotter';
import { assertNoMountsUnder, busyboxLayer, createOn, imageOf, readTar, runOn, tarOf, type Ent } from './helpers';

const isRoot = process.getuid?.() === 0;

const INIT = { hosts: '127.0.0.1\tlocalhost\n10.0.0.7\tc1\n', hostname: 'c1\n', resolvConf: 'nameserver 10.0.0.1\n' };

const L1: Ent[] = [
  { name: 'data/', type: 'directory' },
  { name: 'data/a.txt', body: 'alpha\n' },
  { name: 'data/keep/', type: 'directory' },
  { name: 'data/keep/k.txt', body: 'k\n' },
  { name: 'data/gone.txt', body: 'gone\n' },
  { name: 'opq/', type: 'directory' },
  { name: 'opq/old1', body: '1' },
  { name: 'opq/sub/', type: 'directory' },
  { name: 'opq/sub/old2', body: '2' },
  { name: 'lower-only.txt', body: 'lo\n' },
  { name: 'hl/', type: 'directory' },
  { name: 'hl/one', body: 'hard\n' },
  { name: 'hl/two', type: 'link', linkname: 'hl/one' },
  { name: 'sym', type: 'symlink', linkname: 'data/a.txt' },
  { name: 'owned', body: 'o', uid: 1234, gid: 4321, mode: 0o4750 },
];
const L2: Ent[] = [
  { name: 'data/.wh.gone.txt', body: '' },
  { name: 'opq/.wh..wh..opq', body: '' },
  { name: 'opq/new', body: 'new\n' },
  { name: 'etc/motd', body: 'motd\n' },
  { name: 'data/fifo', type: 'fifo' },
  { name: 'data/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
];

const SCRIPT = [
  'set -e',
  'cat /etc/hosts /etc/hostname /etc/resolv.conf',
  'test -f /.dockerenv && echo dockerenv',
  'echo "mtab=$(readlink /etc/mtab)"',
  'echo "data=$(ls /data | tr "\\n" " ")"',
  'echo "opq=$(ls /opq | tr "\\n" " ")"',
  'echo "sym=$(cat /sym)"',
  'cat /etc/motd',
  'echo new > /data/new.txt',
  'echo more >> /data/a.txt',
  'rm /data/keep/k.txt',
  'rm /lower-only.txt',
  'rm -rf /opq && mkdir /opq && echo fresh > /opq/fresh',
].join('\n');

const EXPECTED_CHANGES = [
  { Path: '/data', Kind: ChangeKind.Modified },
  { Path: '/data/a.txt', Kind: ChangeKind.Modified },
  { Path: '/data/keep', Kind: ChangeKind.Modified },
  { Path: '/data/keep/k.txt', Kind: ChangeKind.Deleted },
  { Path: '/data/new.txt', Kind: ChangeKind.Added },
  { Path: '/lower-only.txt', Kind: ChangeKind.Deleted },
  { Path: '/opq', Kind: ChangeKind.Modified },
  { Path: '/opq/fresh', Kind: ChangeKind.Added },
  { Path: '/opq/new', Kind: ChangeKind.Deleted },
];

const INIT_TAR_NAMES = ['etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.dockerenv', 'dev/console', 'etc/mtab', 'proc', 'sys', 'dev', 'dev/pts', 'dev/shm'];

let tmp = '';
let store: ContentStore;
let busybox: Buffer;
let image: { manifest: ImageManifest; config: ImageConfig };

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-snap-'));
  store = new ContentStore(path.join(tmp, 'content'));
  await store.init();
  busybox = await busyboxLayer();
  image = await imageOf(store, [busybox, await tarOf(L1), await tarOf(L2)]);
});
after(() => {
  if (!tmp) return;
  assertNoMountsUnder(tmp);
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  if (tmp) assertNoMountsUnder(tmp);
});

for (const driver of ['overlay', 'vfs'] as const) {
  describe(`${driver} snapshotter (real kernel)`, { skip: isRoot ? false : 'needs root' }, () => {
    let snap: Snapshotter;
    let root = '';
    let ids: string[] = [];
    before(async () => {
      root = path.join(tmp, `storage-${driver}`);
      snap = await openSnapshotter(root, driver);
    });

    it('unpacks a multi-layer image: idempotent, concurrent-safe', async () => {
      const t0 = Date.now();
      const [a, b] = await Promise.all([snap.unpack(store, image.manifest, image.config), snap.unpack(store, image.manifest, image.config)]);
      assert.deepEqual(a, b);
      assert.equal(a.length, 3);
      ids = a;
      assert.deepEqual(await snap.listLayers(), [...ids].sort());
      const t1 = Date.now();
      assert.deepEqual(await snap.unpack(store, image.manifest, image.config), ids);
      assert.ok(Date.now() - t1 <= Math.max(200, t1 - t0), 'a second unpack does nothing');
      // No temp dirs left behind.
      const tmpDir = driver === 'vfs' ? path.join(root, 'vfs', 'tmp') : path.join(root, 'overlay');
      assert.deepEqual(fs.readdirSync(tmpDir).filter((n) => n.startsWith('tmp-') || /-[0-9a-f]{16}$/.test(n)), []);
    });

    it('a fresh container: init files present, no changes, nothing of the init layer in the diff', async () => {
      const cid = 'berth-test-fresh';
      const rootfs = await snap.prepare(cid, ids, INIT);
      try {
        assert.equal(rootfs.driver, driver);
        assert.deepEqual(rootfs.warnings, []);
        assert.deepEqual(await snap.changes(cid), []);
        assert.equal((await readTar(await snap.diffTar(cid))).size, 0);
        assert.equal(await snap.usage(cid), 0);
        const exp = await readTar(await snap.exportTar(cid));
        assert.equal(exp.get('etc/hosts')?.body, INIT.hosts);
        assert.equal(exp.get('etc/hostname')?.body, INIT.hostname);
        assert.equal(exp.get('etc/resolv.conf')?.body, INIT.resolvConf);
        assert.equal(exp.get('.dockerenv')?.type, 'file');
        assert.equal(exp.get('.dockerenv')?.mode, 0o755);
        assert.equal(exp.get('dev/console')?.type, 'file');
        for (const d of ['dev', 'dev/pts', 'dev/shm', 'proc', 'sys']) assert.equal(exp.get(d)?.type, 'directory', d);
        assert.deepEqual([exp.get('etc/mtab')?.type, exp.get('etc/mtab')?.linkname], ['symlink', '/proc/mounts']);
        // The image as unpacked: whiteouts applied, opaque dir cleared, metadata kept.
        assert.equal(exp.has('data/gone.txt'), false);
        assert.deepEqual([...exp.keys()].filter((k) => k.startsWith('opq/')), ['opq/new']);
        assert.ok(![...exp.keys()].some((k) => k.includes('.wh.')), 'no whiteout names in an export');
        assert.deepEqual([exp.get('hl/two')?.type, exp.get('hl/two')?.linkname], ['link', 'hl/one']);
        assert.deepEqual([exp.get('sym')?.type, exp.get('sym')?.linkname], ['symlink', 'data/a.txt']);
        assert.deepEqual([exp.get('owned')?.uid, exp.get('owned')?.mode], [1234, 0o4750]);
        assert.equal(exp.get('data/fifo')?.type, 'fifo');
        assert.equal(exp.get('data/null')?.type, 'character-device');
        assert.equal(exp.get('bin/busybox')?.type, 'file');
        // The image's /etc keeps its metadata under the init layer's files.
        assert.equal(exp.get('etc')?.mode, 0o755);
      } finally {
        await snap.remove(cid);
      }
    });

    it('runs a container: copy-on-write, changes, diff tar, export, usage, remove', async () => {
      const cid = 'berth-test-run';
      const rootfs = await snap.prepare(cid, ids, INIT);
      try {
        if (driver === 'overlay') {
          assert.ok(rootfs.driver === 'overlay');
          assert.equal(fs.readdirSync(rootfs.path).length, 0, 'the mount point is empty on the host');
          assert.equal(rootfs.overlay.lower.length, 4, 'init + 3 image layers');
        }
        const res = runOn(rootfs, SCRIPT);
        assert.equal(res.code, 0, `run: ${res.stderr}\n${res.stdout}`);
        const out = res.stdout;
        assert.ok(out.startsWith(INIT.hosts + INIT.hostname + INIT.resolvConf), out);
        assert.match(out, /^dockerenv$/m);
        assert.match(out, /^mtab=\/proc\/mounts$/m);
        assert.match(out, /^data=a\.txt fifo keep new\.txt null $|^data=a\.txt fifo keep null $/m);
        assert.match(out, /^opq=new $/m);
        assert.match(out, /^sym=alpha$/m);
        assert.match(out, /^motd$/m);
        assertNoMountsUnder(tmp);

        // Copy-on-write: the write is in the container's layer, the image layers are untouched.
        const l1 = driver === 'overlay' ? path.join(root, 'overlay', ids[1]!, 'diff') : path.join(root, 'vfs', 'dir', ids[1]!);
        const top = driver === 'overlay' ? path.join(root, 'overlay', ids[2]!, 'diff') : path.join(root, 'vfs', 'dir', ids[2]!);
        const rw = rootfs.driver === 'overlay' ? path.join(rootfs.overlay.base, rootfs.overlay.upper) : rootfs.path;
        assert.equal(fs.readFileSync(path.join(rw, 'data/new.txt'), 'utf8'), 'new\n');
        assert.equal(fs.readFileSync(path.join(rw, 'data/a.txt'), 'utf8'), 'alpha\nmore\n');
        assert.equal(fs.readFileSync(path.join(l1, 'data/a.txt'), 'utf8'), 'alpha\n');
        assert.equal(fs.existsSync(path.join(l1, 'lower-only.txt')), true);
        assert.equal(fs.existsSync(path.join(top, 'data/new.txt')), false);
        if (driver === 'overlay') {
          const wh = fs.lstatSync(path.join(rw, 'lower-only.txt'));
          assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a deletion is an overlay whiteout in upper');
        } else {
          assert.equal(fs.existsSync(path.join(rw, 'lower-only.txt')), false);
          assert.equal(fs.existsSync(path.join(top, 'lower-only.txt')), true);
        }

        assert.deepEqual(await snap.changes(cid), EXPECTED_CHANGES);

        const diff = await readTar(await snap.diffTar(cid));
        assert.deepEqual([...diff.keys()], [
          'data', 'data/a.txt', 'data/keep', 'data/keep/.wh.k.txt', 'data/new.txt', '.wh.lower-only.txt', 'opq', 'opq/fresh', 'opq/.wh.new',
        ]);
        assert.equal(diff.get('data/a.txt')?.body, 'alpha\nmore\n');
        assert.equal(diff.get('data/new.txt')?.body, 'new\n');
        for (const n of INIT_TAR_NAMES) assert.equal(diff.has(n), false, `${n} is the init layer's, not the container's`);

        const exp = await readTar(await snap.exportTar(cid));
        assert.equal(exp.get('data/a.txt')?.body, 'alpha\nmore\n');
        assert.equal(exp.get('data/new.txt')?.body, 'new\n');
        assert.equal(exp.get('etc/hosts')?.body, INIT.hosts);
        assert.equal(exp.has('data/keep/k.txt'), false);
        assert.equal(exp.has('data/keep'), true);
        assert.equal(exp.has('lower-only.txt'), false);
        assert.deepEqual([...exp.keys()].filter((k) => k.startsWith('opq/')), ['opq/fresh']);
        assert.ok(![...exp.keys()].some((k) => k.includes('.wh.')));

        const size = await snap.usage(cid);
        assert.ok(size >= 'new\n'.length + 'alpha\nmore\n'.length + 'fresh\n'.length && size < 4096, `usage ${size}`);
        assert.deepEqual(await snap.rootfs(cid), rootfs);
      } finally {
        await snap.remove(cid);
      }
      assert.equal(fs.existsSync(rootfs.path), false, 'the container dir is gone');
      if (rootfs.driver === 'overlay') {
        const mountId = rootfs.overlay.upper.split('/')[0]!;
        assert.equal(fs.existsSync(path.join(rootfs.overlay.base, mountId)), false);
        assert.equal(fs.existsSync(path.join(rootfs.overlay.base, `${mountId}-init`)), false);
        const links = fs.readdirSync(path.join(rootfs.overlay.base, 'l'));
        assert.equal(links.length, 3, 'only the image layers keep short links');
      } else {
        assert.deepEqual(fs.readdirSync(path.join(root, 'vfs', 'rw')), []);
      }
      assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
      await assert.rejects(snap.changes(cid), (e: Error) => e instanceof SnapshotterError && /no such container: berth-test-run/.test(e.message));
    });

    it('the init layer does not clobber what the image has', async () => {
      const img = await imageOf(store, [
        await tarOf([
          { name: 'etc/', type: 'directory', mode: 0o750, uid: 7, gid: 8 },
          { name: 'etc/resolv.conf', type: 'symlink', linkname: '/outside/resolv.conf' },
          { name: 'etc/hosts/', type: 'directory' },
          { name: 'etc/hosts/keep', body: 'kept' },
          { name: 'proc', body: 'a file where a mount point belongs' },
          { name: 'dev', type: 'symlink', linkname: '/elsewhere' },
          { name: 'bin/', type: 'directory' },
        ]),
      ]);
      const lids = await snap.unpack(store, img.manifest, img.config);
      const cid = 'berth-test-clobber';
      const rootfs = await snap.prepare(cid, lids, INIT);
      try {
        assert.deepEqual(rootfs.warnings, ['the image has /etc/hosts as a directory: the init layer leaves it alone']);
        const exp = await readTar(await snap.exportTar(cid));
        assert.deepEqual([exp.get('etc')?.mode, exp.get('etc')?.uid], [0o750, 7], '/etc keeps its owner and mode');
        assert.equal(exp.get('etc/resolv.conf')?.type, 'file', 'a symlinked resolv.conf is replaced, not followed');
        assert.equal(exp.get('etc/resolv.conf')?.body, INIT.resolvConf);
        assert.equal(exp.get('etc/hosts')?.type, 'directory');
        assert.equal(exp.get('etc/hosts/keep')?.body, 'kept');
        assert.equal(exp.get('proc')?.type, 'directory');
        // A mount point stub replaces a symlink (as dockerd's init layer does): /dev gets a tmpfs anyway.
        assert.equal(exp.get('dev')?.type, 'directory');
        assert.equal(exp.get('dev/console')?.type, 'file');
        assert.equal(exp.get('etc/hostname')?.body, INIT.hostname);
        assert.deepEqual(await snap.changes(cid), []);
      } finally {
        await snap.remove(cid);
      }
      assert.equal(await snap.removeLayer(lids[0]!), true);

      // /etc itself a symlink: nothing is written through it.
      const img2 = await imageOf(store, [await tarOf([{ name: 'etc', type: 'symlink', linkname: '/outside' }])]);
      const lids2 = await snap.unpack(store, img2.manifest, img2.config);
      const rootfs2 = await snap.prepare(cid, lids2, INIT);
      try {
        assert.deepEqual(rootfs2.warnings.sort(), ['/etc/hostname', '/etc/hosts', '/etc/mtab', '/etc/resolv.conf'].map((p) =>
          `the image has /etc as a symlink: ${p} of the init layer is not created`));
        const exp = await readTar(await snap.exportTar(cid));
        assert.deepEqual([exp.get('etc')?.type, exp.get('etc')?.linkname], ['symlink', '/outside']);
        assert.equal([...exp.keys()].some((k) => k.startsWith('etc/')), false);
        assert.equal(exp.get('.dockerenv')?.type, 'file');
        assert.deepEqual(await snap.changes(cid), []);
      } finally {
        await snap.remove(cid);
      }
      assert.equal(await snap.removeLayer(lids2[0]!), true);
    });

    it('layers: listed, kept while used, removed for GC', async () => {
      const cid = 'berth-test-gc';
      await snap.prepare(cid, ids, INIT);
      try {
        await assert.rejects(snap.removeLayer(ids[2]!), /in use by container berth-test-gc/);
      } finally {
        await snap.remove(cid);
      }
      if (driver === 'overlay') await assert.rejects(snap.removeLayer(ids[1]!), /is a parent of/);
      assert.equal(await snap.removeLayer(ids[2]!), true);
      assert.equal(await snap.removeLayer(ids[2]!), false, 'already gone');
      assert.deepEqual(await snap.listLayers(), [ids[0]!, ids[1]!].sort());
      // Unpacking again restores it.
      assert.deepEqual(await snap.unpack(store, image.manifest, image.config), ids);
      assert.deepEqual(await snap.listLayers(), [...ids].sort());
    });

    it('remove refuses while a container still has the root mounted', async () => {
      const cid = 'berth-test-busy';
      const rootfs = await snap.prepare(cid, ids, INIT);
      const c = createOn(rootfs);
      try {
        await assert.rejects(snap.remove(cid), (e: Error) => e instanceof SnapshotterError && /still mounted in the mount namespace of process \d+/.test(e.message));
        assert.equal(fs.existsSync(rootfs.path), true);
      } finally {
        c.cleanup();
      }
      await snap.remove(cid);
      assert.equal(fs.existsSync(rootfs.path), false);
    });

    it('bad inputs get clear errors', async () => {
      const bad = async (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: Error) => e instanceof SnapshotterError && re.test(e.message));
      await bad(snap.changes('nope'), /no such container: nope/);
      await bad(snap.remove('nope'), /no such container: nope/);
      await bad(snap.diffTar('nope'), /no such container/);
      for (const id of ['../x', 'a/b', '', '.', '..', '-x', 'a\nb']) {
        await bad(snap.prepare(id, ids, INIT), /invalid container id/);
        await bad(snap.changes(id), /invalid container id/);
        await bad(snap.remove(id), /invalid container id/);
      }
      for (const l of ['../../etc', 'l', ids[0]!.toUpperCase(), `${ids[0]}/..`]) {
        await bad(snap.prepare('berth-test-bad', [l], INIT), /invalid layer id/);
        await bad(snap.removeLayer(l), /invalid layer id/);
      }
      await bad(snap.prepare('berth-test-bad', ['0'.repeat(64)], INIT), /is not unpacked/);
      await bad(snap.prepare('berth-test-bad', ids, { hosts: 'x' } as never), /init\.hostname must be a string/);
      const cid = 'berth-test-twice';
      await snap.prepare(cid, ids, INIT);
      try {
        await bad(snap.prepare(cid, ids, INIT), /already has a root filesystem/);
      } finally {
        await snap.remove(cid);
      }
      assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
    });
  });
}

describe('openSnapshotter auto', { skip: isRoot ? false : 'needs root' }, () => {
  it('probes overlay in a throwaway namespace and says why', async () => {
    const root = path.join(tmp, 'auto');
    const s = await openSnapshotter(root, 'auto');
    assert.equal(s.driver, 'overlay');
    assert.match(s.reason, /mounted a test overlay/);
    assert.deepEqual(fs.readdirSync(root), [], 'the probe leaves nothing behind');
    assertNoMountsUnder(tmp);
  });

  it('refuses a relative root and an unknown driver', async () => {
    await assert.rejects(openSnapshotter('rel/root', 'vfs'), /absolute path/);
    await assert.rejects(openSnapshotter(path.join(tmp, 'u'), 'zfs' as never), /unknown storage driver "zfs"/);
  });
});
