// Real-kernel test of the overlay layer pipeline: extractLayer (overlay whiteouts) → applyLayerMeta
// (stage host ops) → an overlay mount made inside a private mount namespace owned by the test's
// own `unshare -m` shell (nothing is ever mounted in the host's namespace; the mount dies with it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { extractLayer, ExtractResult } from '../../src/image/layer/extract';
import { applyLayerMeta, HostOpError, layerMetaRecords } from '../../src/kernel/host-ops';
import { createLayerDir, diffDir, mountData, overlayDir } from '../../src/storage/overlay/layout';

type H = Parameters<tar.Pack['entry']>[0];

async function tarBuffer(entries: { h: H; data?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const h: H = { mode: 0o644, uid: 0, gid: 0, mtime: new Date(1_600_000_000_000), ...e.h };
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res());
      if (e.data !== undefined) pack.entry({ ...h, size: Buffer.byteLength(e.data) }, e.data, cb);
      else pack.entry(h, cb);
    });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Reads an xattr (getfattr if installed, else python3); undefined when absent. */
function getXattr(file: string, name: string): string | undefined {
  const gf = spawnSync('sh', ['-c', 'command -v getfattr'], { encoding: 'utf8' });
  const r = gf.status === 0
    ? spawnSync('getfattr', ['--only-values', '-h', '-n', name, file], { encoding: 'utf8' })
    : spawnSync('python3', ['-c', 'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())', file, name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

const isRoot = process.getuid?.() === 0;

describe('overlay layers (real kernel)', { skip: isRoot ? false : 'needs root' }, () => {
  let tmp = '';
  let root = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-overlay-'));
    root = path.join(tmp, 'root');
  });
  after(() => {
    if (!tmp) return;
    // The namespace died with its shell; make sure nothing of ours is mounted here.
    assert.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(tmp), false, 'a test mount leaked');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('layerMetaRecords encodes one op per item, values hex', () => {
    const recs = layerMetaRecords('/L', {
      devices: [{ path: 'p', type: 'fifo', major: 0, minor: 0, mode: 0o4640, uid: 1, gid: 2, mtime: new Date(1500) }],
      whiteouts: ['a/b'],
      opaque: [''],
      xattrs: [{ path: 'f', xattrs: { 'user.a': 'é', 'security.capability': Buffer.from([0, 1, 0xff]) } }],
    });
    assert.deepEqual(recs, [
      ['op:layer_dev', '/L', 'p', 'p', '0', '0', String(0o4640), '1', '2', '1', '500000000'],
      ['op:layer_whiteout', '/L', 'a/b'],
      ['op:layer_xattr', '/L', 'f', 'user.a', 'c3a9'],
      ['op:layer_xattr', '/L', 'f', 'security.capability', '0001ff'],
      ['op:layer_opaque', '/L', ''],
    ]);
  });

  let res2: ExtractResult | undefined;

  it('extracts two layers and applies their metadata', async () => {
    createLayerDir(root, 'l1');
    createLayerDir(root, 'l2', ['l1']);
    const l1 = await tarBuffer([
      { h: { name: 'a/', type: 'directory', mode: 0o755 } },
      { h: { name: 'a/file' }, data: 'gone soon' },
      { h: { name: 'b/', type: 'directory', mode: 0o755 } },
      { h: { name: 'b/dir/', type: 'directory', mode: 0o755 } },
      { h: { name: 'b/dir/x' }, data: 'x' },
      { h: { name: 'c' }, data: 'see' },
    ]);
    const l2 = await tarBuffer([
      { h: { name: 'a/.wh.file' }, data: '' },
      { h: { name: 'b/dir/.wh..wh..opq' }, data: '' },
      { h: { name: 'b/dir/y' }, data: 'y' },
      { h: { name: 'fifo', type: 'fifo', mode: 0o640, uid: 7, gid: 8 } },
      { h: { name: 'dev/', type: 'directory', mode: 0o755 } },
      { h: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } },
      { h: { name: 'tagged', pax: { 'SCHILY.xattr.user.berth': '1' } }, data: 'has an xattr' },
    ]);
    const res1 = await extractLayer(Readable.from([l1]), diffDir(root, 'l1'), { whiteouts: 'overlay' });
    await applyLayerMeta(diffDir(root, 'l1'), res1);
    res2 = await extractLayer(Readable.from([l2]), diffDir(root, 'l2'), { whiteouts: 'overlay' });
    assert.deepEqual(res2.whiteouts, ['a/file']);
    assert.deepEqual(res2.opaque, ['b/dir']);
    assert.equal(res2.devices.length, 2);
    assert.equal(res2.xattrs.length, 1);
    await applyLayerMeta(diffDir(root, 'l2'), res2);

    const d2 = diffDir(root, 'l2');
    const wh = fs.lstatSync(path.join(d2, 'a/file'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.equal(wh.uid, 0);
    assert.equal(wh.mode & 0o7777, 0);
    const fifo = fs.lstatSync(path.join(d2, 'fifo'));
    assert.ok(fifo.isFIFO());
    assert.deepEqual([fifo.uid, fifo.gid, fifo.mode & 0o7777], [7, 8, 0o640]);
    assert.equal(fifo.mtimeMs, 1_600_000_000_000);
    const nul = fs.lstatSync(path.join(d2, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    assert.equal(getXattr(path.join(d2, 'b/dir'), 'trusted.overlay.opaque'), 'y');
    assert.equal(getXattr(path.join(d2, 'tagged'), 'user.berth'), '1');
  });

  it('overlay mount shows the merged view', () => {
    assert.ok(res2, 'previous test ran');
    const merged = path.join(tmp, 'merged');
    fs.mkdirSync(merged);
    return (async () => {
      createLayerDir(root, 'rw', ['l2', 'l1']);
      const data = mountData(root, 'rw');
      const script = [
        'set -e',
        'mount --make-rprivate /',
        'mount -t overlay overlay -o "$DATA" "$M"',
        'echo "a=[$(ls -A "$M/a" | tr "\\n" " ")]"',
        'echo "bdir=[$(ls -A "$M/b/dir" | tr "\\n" " ")]"',
        'echo "fifo=$(stat -c %F "$M/fifo")"',
        'echo "null=$(stat -c "%F %t:%T" "$M/dev/null")"',
        'echo "c=$(cat "$M/c")"',
        'if command -v getfattr >/dev/null; then x=$(getfattr --only-values -n user.berth "$M/tagged");',
        'else x=$(python3 -c "import os,sys; print(os.getxattr(sys.argv[1], \'user.berth\').decode())" "$M/tagged"); fi',
        'echo "xattr=$x"',
      ].join('\n');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', script], {
        cwd: overlayDir(root), // the short relative lowerdir/upperdir/workdir resolve from here
        env: { ...process.env, DATA: data, M: merged },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.status, 0, `unshare: ${r.stderr}\n${r.stdout}`);
      const out = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      assert.equal(out.a, '[]', 'a/file is whited out');
      assert.equal(out.bdir, '[y ]', 'b/dir is opaque: only y');
      assert.equal(out.fifo, 'fifo');
      assert.equal(out.null, 'character special file 1:3');
      assert.equal(out.c, 'see');
      assert.equal(out.xattr, '1');
      // Nothing mounted here: the merged dir is still the empty directory.
      assert.deepEqual(fs.readdirSync(merged), []);
    })();
  });

  it('paths stay inside the layer dir; errors name the path', async () => {
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside);
    createLayerDir(root, 'evil');
    const d = diffDir(root, 'evil');
    fs.symlinkSync(outside, path.join(d, 'abs'));
    fs.symlinkSync('../../../../../../outside', path.join(d, 'rel'));
    const empty = { devices: [], whiteouts: [], opaque: [], xattrs: [] };
    // Followed inside the root: <d>/<outside path> does not exist → ENOENT, nothing made outside.
    await assert.rejects(applyLayerMeta(d, { ...empty, whiteouts: ['abs/boom'] }), (e: Error) =>
      e instanceof HostOpError && e.message.includes('abs/boom'));
    await assert.rejects(applyLayerMeta(d, { ...empty, whiteouts: ['rel/boom'] }), HostOpError);
    // ".." is clamped at the layer dir, as the kernel does for RESOLVE_IN_ROOT: lands at <d>/boom.
    await applyLayerMeta(d, { ...empty, whiteouts: ['../boom'] });
    assert.ok(fs.lstatSync(path.join(d, 'boom')).isCharacterDevice());
    assert.equal(fs.existsSync(path.join(root, 'overlay', 'evil', 'boom')), false);
    await assert.rejects(applyLayerMeta(d, { ...empty, opaque: ['abs'] }), /abs/);
    await assert.rejects(applyLayerMeta(d, {
      ...empty,
      devices: [{ path: 'rel/dev', type: 'fifo', major: 0, minor: 0, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }],
    }), /rel\/dev/);
    assert.deepEqual(fs.readdirSync(outside), []);
    // An xattr on a symlink is skipped, the link's target untouched.
    await applyLayerMeta(d, { ...empty, xattrs: [{ path: 'abs', xattrs: { 'user.x': 'y' } }] });
    assert.equal(getXattr(outside, 'user.x'), undefined);
  });
});
