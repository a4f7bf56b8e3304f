import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkLayerId, createLayerDir, diffDir, lowerdirOption, mountData, overlayDir, randomShortLink,
  purgeTrash, readLower, readShortLink, removeLayer, trashDir,
} from './layout';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-layout-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const newRoot = () => fs.mkdtempSync(path.join(tmp, `r${n++}-`));

describe('overlay layout', () => {
  it('short links are 26 chars of [A-Z0-9]', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const l = randomShortLink();
      assert.match(l, /^[A-Z0-9]{26}$/);
      seen.add(l);
    }
    assert.equal(seen.size, 200);
  });

  it('rejects bad ids', () => {
    for (const id of ['', '.', '..', 'l', 'a/b', '../x', 'a\0b', '-x']) assert.throws(() => checkLayerId(id), /invalid layer id/, id);
    checkLayerId('a'.repeat(64));
  });

  it('creates base and child layers like moby', async () => {
    const root = newRoot();
    createLayerDir(root, 'base');
    const ovl = overlayDir(root);
    const bl = readShortLink(root, 'base');
    assert.equal(fs.readlinkSync(path.join(ovl, 'l', bl)), '../base/diff');
    assert.ok(fs.statSync(diffDir(root, 'base')).isDirectory());
    assert.equal(fs.existsSync(path.join(ovl, 'base', 'work')), false);
    assert.equal(readLower(root, 'base'), '');

    createLayerDir(root, 'mid', ['base']);
    createLayerDir(root, 'top', ['mid', 'base']);
    const ml = readShortLink(root, 'mid');
    assert.equal(readLower(root, 'top'), `l/${ml}:l/${bl}`);
    assert.ok(fs.statSync(path.join(ovl, 'top', 'work')).isDirectory());
    assert.equal(mountData(root, 'top'), `lowerdir=l/${ml}:l/${bl},upperdir=top/diff,workdir=top/work`);
    assert.throws(() => mountData(root, 'base'));
    assert.equal(lowerdirOption(root, ['mid', 'base']), `lowerdir=l/${ml}:l/${bl}`);
    // the short link resolves to the diff from <root>/overlay
    fs.writeFileSync(path.join(diffDir(root, 'base'), 'f'), 'x');
    assert.equal(fs.readFileSync(path.join(ovl, 'l', bl, 'f'), 'utf8'), 'x');

    assert.throws(() => createLayerDir(root, 'top', ['base']), /EEXIST/);
    assert.throws(() => createLayerDir(root, 'orphan', ['missing']));
    assert.equal(fs.existsSync(path.join(ovl, 'orphan')), false);

    removeLayer(root, 'top');
    assert.equal(fs.existsSync(path.join(ovl, 'top')), false);
    removeLayer(root, 'top'); // idempotent
    assert.deepEqual(fs.readdirSync(path.join(ovl, 'l')).sort(), [bl, ml].sort());
  });

  it('a removed layer goes at once; its tree is deleted from the trash in the background', async () => {
    const root = newRoot();
    createLayerDir(root, 'big');
    const diff = diffDir(root, 'big');
    for (let i = 0; i < 200; i++) fs.mkdirSync(path.join(diff, `d${i}`, 'x'), { recursive: true });
    removeLayer(root, 'big');
    assert.equal(fs.existsSync(path.join(overlayDir(root), 'big')), false);
    await purgeTrash(root);
    assert.deepEqual(fs.readdirSync(trashDir(root)), []);
    // What a crash left in the trash goes with the next pass.
    fs.mkdirSync(path.join(trashDir(root), 'left.0000', 'diff', 'a'), { recursive: true });
    await purgeTrash(root);
    assert.deepEqual(fs.readdirSync(trashDir(root)), []);
  });

  it("a 128-layer chain's lowerdir option fits in a page", async () => {
    const root = newRoot();
    const ids: string[] = [];
    for (let i = 0; i < 128; i++) {
      const id = i.toString(16).padStart(2, '0').repeat(32); // 64 chars, like a digest
      createLayerDir(root, id, [...ids].reverse());
      ids.push(id);
    }
    const opt = lowerdirOption(root, [...ids].reverse());
    assert.equal(opt.split(':').length, 128);
    assert.ok(opt.length < 4096, `${opt.length} bytes`);
    // a container layer on top of all of them: full mount data still under a page
    const top = 'c'.repeat(64);
    createLayerDir(root, top, [...ids].reverse());
    const data = mountData(root, top);
    assert.ok(Buffer.byteLength(data) < 4096, `${data.length} bytes`);
    assert.equal(data.slice('lowerdir='.length, data.indexOf(',')), opt.slice('lowerdir='.length));
  });
});
