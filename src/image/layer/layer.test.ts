import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { extractLayer, LayerExtractError, normaliseEntryPath } from './extract';
import { dirToTar } from '../../storage/tree';

type H = Parameters<tar.Pack['entry']>[0];
interface E {
  h: H;
  data?: string | Buffer;
}

async function tarBuffer(entries: E[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const h: H = { mode: 0o644, uid: 0, gid: 0, mtime: new Date(1_600_000_000_000), ...e.h };
    if (data) h.size = data.length;
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res());
      if (data) pack.entry(h, data, cb);
      else pack.entry(h, cb);
    });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

async function tarStream(entries: E[]): Promise<Readable> {
  return Readable.from([await tarBuffer(entries)]);
}

let base: string;
let n = 0;
/** fresh {target, outside} pair inside base */
function fresh(): { target: string; outside: string } {
  const dir = path.join(base, `case${n++}`);
  const target = path.join(dir, 'root');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(target, { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret'), 'secret');
  return { target, outside };
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  const rec = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) rec(r);
    }
  };
  rec('');
  return out;
}

before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-layer-'));
});
after(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('normaliseEntryPath', () => {
  it('strips leading / and ./ and resolves inner ..', () => {
    assert.deepEqual(normaliseEntryPath('/abs/path'), ['abs', 'path']);
    assert.deepEqual(normaliseEntryPath('./a/./b/'), ['a', 'b']);
    assert.deepEqual(normaliseEntryPath('a/../b'), ['b']);
    assert.deepEqual(normaliseEntryPath('./'), []);
    assert.throws(() => normaliseEntryPath('../../etc/x'), /escapes/);
    assert.throws(() => normaliseEntryPath('a/../../x'), /escapes/);
  });
});

describe('dirToTar (the export/commit tar writer) → extractLayer round trip', () => {
  it('reproduces files, dirs, symlinks, hardlinks, modes, owners, mtimes', async () => {
    const { target: upper } = fresh();
    const { target } = fresh();
    const t1 = new Date(1_500_000_000_000);
    const t2 = new Date(1_400_000_000_000);
    fs.mkdirSync(path.join(upper, 'd/sub'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'd/f'), 'hello world');
    fs.writeFileSync(path.join(upper, 'd/sub/big'), Buffer.alloc(200_000, 7));
    fs.writeFileSync(path.join(upper, 'suid'), '#!/bin/sh\n');
    fs.writeFileSync(path.join(upper, 'sgid'), 'x');
    fs.writeFileSync(path.join(upper, 'empty'), '');
    fs.symlinkSync('d/f', path.join(upper, 'l'));
    fs.symlinkSync('/nonexistent/abs', path.join(upper, 'dangling'));
    fs.linkSync(path.join(upper, 'd/f'), path.join(upper, 'hard'));
    fs.chownSync(path.join(upper, 'd'), 1000, 1001);
    fs.chownSync(path.join(upper, 'd/f'), 1234, 5678);
    fs.chownSync(path.join(upper, 'sgid'), 1000, 1000);
    fs.lchownSync(path.join(upper, 'l'), 42, 43);
    fs.chmodSync(path.join(upper, 'suid'), 0o4755);
    fs.chmodSync(path.join(upper, 'sgid'), 0o2750);
    fs.chmodSync(path.join(upper, 'd'), 0o1777);
    fs.chmodSync(path.join(upper, 'd/f'), 0o600);
    fs.utimesSync(path.join(upper, 'd/f'), t2, t2);
    fs.lutimesSync(path.join(upper, 'l'), t2, t2);
    fs.utimesSync(path.join(upper, 'd/sub'), t1, t1);
    fs.utimesSync(path.join(upper, 'd'), t1, t1);

    const res = await extractLayer(dirToTar(upper), target, { whiteouts: 'overlay' });
    assert.equal(res.warnings.length, 0, res.warnings.join(';'));
    assert.equal(res.bytes, 11 + 200_000 + 10 + 1);
    assert.deepEqual(listTree(target), listTree(upper));

    for (const rel of listTree(upper)) {
      const a = fs.lstatSync(path.join(upper, rel));
      const b = fs.lstatSync(path.join(target, rel));
      assert.equal(b.mode, a.mode, `${rel} mode`);
      assert.equal(b.uid, a.uid, `${rel} uid`);
      assert.equal(b.gid, a.gid, `${rel} gid`);
      assert.equal(Math.floor(b.mtimeMs / 1000), Math.floor(a.mtimeMs / 1000), `${rel} mtime`);
      if (a.isSymbolicLink()) assert.equal(fs.readlinkSync(path.join(target, rel)), fs.readlinkSync(path.join(upper, rel)));
      if (a.isFile()) assert.deepEqual(fs.readFileSync(path.join(target, rel)), fs.readFileSync(path.join(upper, rel)));
    }
    assert.equal(fs.statSync(path.join(target, 'suid')).mode & 0o7777, 0o4755);
    assert.equal(fs.statSync(path.join(target, 'sgid')).mode & 0o7777, 0o2750);
    assert.equal(fs.statSync(path.join(target, 'hard')).ino, fs.statSync(path.join(target, 'd/f')).ino);
    assert.equal(res.entries, listTree(upper).length);
  });
});

describe('extractLayer basics', () => {
  it('later entries replace earlier ones; dir over dir keeps contents and updates mode/owner', async () => {
    const { target } = fresh();
    fs.mkdirSync(path.join(target, 'keep'));
    fs.writeFileSync(path.join(target, 'keep/lower'), 'lower');
    fs.mkdirSync(path.join(target, 'wasdir'));
    fs.writeFileSync(path.join(target, 'wasdir/x'), 'x');
    const res = await extractLayer(
      await tarStream([
        { h: { name: 'keep/', type: 'directory', mode: 0o711, uid: 7, gid: 8 } },
        { h: { name: 'f', type: 'file' }, data: 'first' },
        { h: { name: 'f', type: 'file' }, data: '2nd' },
        { h: { name: 'wasdir', type: 'file' }, data: 'now a file' },
        { h: { name: 'fifo', type: 'fifo', mode: 0o600 } },
        { h: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } },
        { h: { name: 'x', type: 'file', pax: { 'SCHILY.xattr.user.foo': 'bar', 'SCHILY.xattr.security.capability': 'cap' } }, data: 'x' },
      ]),
      target,
      { whiteouts: 'delete' },
    );
    assert.equal(fs.readFileSync(path.join(target, 'keep/lower'), 'utf8'), 'lower');
    const st = fs.statSync(path.join(target, 'keep'));
    assert.equal(st.mode & 0o7777, 0o711);
    assert.equal(st.uid, 7);
    assert.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), '2nd');
    assert.equal(fs.readFileSync(path.join(target, 'wasdir'), 'utf8'), 'now a file');
    assert.equal(res.entries, 7);
    assert.deepEqual(
      res.devices.map((d) => [d.path, d.type, d.major, d.minor, d.mode]),
      [
        ['fifo', 'fifo', 0, 0, 0o600],
        ['dev/null', 'char', 1, 3, 0o666],
      ],
    );
    assert.ok(!fs.existsSync(path.join(target, 'dev/null')));
    assert.deepEqual(res.xattrs, [{ path: 'x', xattrs: { 'user.foo': 'bar', 'security.capability': 'cap' } }]);
  });

  it('normalises /abs/path inside the target', async () => {
    const { target, outside } = fresh();
    await extractLayer(await tarStream([{ h: { name: '/abs/path' }, data: 'in' }]), target, { whiteouts: 'delete' });
    assert.equal(fs.readFileSync(path.join(target, 'abs/path'), 'utf8'), 'in');
    assert.deepEqual(listTree(path.dirname(outside)), ['outside', 'outside/secret', 'root', 'root/abs', 'root/abs/path']);
  });
});

describe('hostile layers', () => {
  const cases: Array<{ name: string; bad: string; entries: (outside: string) => E[]; re: RegExp }> = [
    { name: 'dot-dot escape', bad: '../../etc/x', entries: () => [{ h: { name: '../../etc/x' }, data: 'pwn' }], re: /escapes/ },
    {
      name: 'symlink to outside dir then write through it',
      bad: 'a/etc/passwd',
      entries: (o) => [{ h: { name: 'a', type: 'symlink', linkname: o } }, { h: { name: 'a/etc/passwd' }, data: 'pwn' }],
      re: /parent "a" is a symlink/,
    },
    {
      name: 'symlink a -> / then a/<abs path of outside>/pwned',
      bad: '',
      entries: (o) => [{ h: { name: 'a', type: 'symlink', linkname: '/' } }, { h: { name: `a${o}/pwned` }, data: 'pwn' }],
      re: /parent "a" is a symlink/,
    },
    {
      name: 'symlink b -> ../../.. then b/x',
      bad: 'b/x',
      entries: () => [{ h: { name: 'b', type: 'symlink', linkname: '../../..' } }, { h: { name: 'b/x' }, data: 'pwn' }],
      re: /parent "b" is a symlink/,
    },
    {
      name: 'a directory already used as a parent, replaced by a symlink, then written through',
      bad: 'a/y',
      entries: (o) => [
        { h: { name: 'a', type: 'directory', mode: 0o755 } },
        { h: { name: 'a/x' }, data: 'ok' },
        { h: { name: 'a', type: 'symlink', linkname: o } },
        { h: { name: 'a/y' }, data: 'pwn' },
      ],
      re: /parent "a" is a symlink/,
    },
    {
      name: 'a deep parent chain, its top replaced by a symlink, then the deep path again',
      bad: 'a/b/c/y',
      entries: (o) => [
        { h: { name: 'a/b/c/x' }, data: 'ok' },
        { h: { name: 'a', type: 'symlink', linkname: o } },
        { h: { name: 'a/b/c/y' }, data: 'pwn' },
      ],
      re: /parent "a" is a symlink/,
    },
    {
      name: 'a used parent replaced by a hardlink to a symlink, then written through',
      bad: 'a/y',
      entries: (o) => [
        { h: { name: 's', type: 'symlink', linkname: o } },
        { h: { name: 'a/x' }, data: 'ok' },
        { h: { name: 'a', type: 'link', linkname: 's' } },
        { h: { name: 'a/y' }, data: 'pwn' },
      ],
      re: /parent "a" is a symlink/,
    },
    {
      name: 'hardlink to /etc/passwd',
      bad: 'h',
      entries: () => [{ h: { name: 'h', type: 'link', linkname: '/etc/passwd' } }],
      re: /does not exist in the layer/,
    },
    {
      name: 'hardlink to ../outside',
      bad: 'h',
      entries: () => [{ h: { name: 'h', type: 'link', linkname: '../outside/secret' } }],
      re: /escapes/,
    },
    {
      name: 'hardlink through a symlinked parent',
      bad: 'h',
      entries: (o) => [{ h: { name: 's', type: 'symlink', linkname: o } }, { h: { name: 'h', type: 'link', linkname: 's/secret' } }],
      re: /parent "s" is a symlink/,
    },
    {
      name: 'very long path',
      bad: 'a/a/a/',
      entries: () => [{ h: { name: 'a/'.repeat(2100) + 'x' }, data: 'x' }],
      re: /longer than 4096/,
    },
    {
      name: 'component longer than NAME_MAX',
      bad: 'y'.repeat(300),
      entries: () => [{ h: { name: 'y'.repeat(300) }, data: 'x' }],
      re: /component longer than 255/,
    },
    {
      name: 'NUL in name (PAX path)',
      bad: 'evil',
      entries: () => [{ h: { name: 'x', pax: { path: 'evil\0/../../x' } }, data: 'x' }],
      re: /NUL/,
    },
    {
      name: 'whiteout escaping',
      bad: '.wh...',
      entries: () => [{ h: { name: '.wh...' }, data: '' }],
      re: /invalid whiteout|escapes/,
    },
  ];
  for (const c of cases) {
    for (const mode of ['overlay', 'delete'] as const) {
      it(`rejects ${c.name} (${mode})`, async () => {
        const { target, outside } = fresh();
        const before = listTree(path.dirname(outside)).filter((p) => !p.startsWith('root'));
        await assert.rejects(extractLayer(await tarStream(c.entries(outside)), target, { whiteouts: mode }), (e: unknown) => {
          assert.ok(e instanceof LayerExtractError, String(e));
          assert.match(e.message, c.re);
          assert.ok(e.message.includes(c.bad), `${e.message} should name ${c.bad}`);
          return true;
        });
        assert.deepEqual(listTree(path.dirname(outside)).filter((p) => !p.startsWith('root')), before);
        assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'secret');
        assert.ok(!fs.existsSync(path.join(base, 'etc')));
      });
    }
  }

  it('rejects a truncated tar with a clear error', async () => {
    const { target } = fresh();
    const buf = await tarBuffer([{ h: { name: 'ok' }, data: 'ok' }, { h: { name: 'big' }, data: Buffer.alloc(10_000, 1) }]);
    const cut = buf.subarray(0, 1024 + 512 + 3000);
    await assert.rejects(extractLayer(Readable.from([cut]), target, { whiteouts: 'delete' }), (e: unknown) => {
      assert.ok(e instanceof LayerExtractError);
      assert.match(e.message, /"big".*corrupt or truncated tar/);
      return true;
    });
    // documented: already-extracted entries (and the partial file) remain; caller discards the dir
    assert.equal(fs.readFileSync(path.join(target, 'ok'), 'utf8'), 'ok');
  });

  it("accepts a tar that stops right after the last entry's data (no padding, no end blocks), as Go's archive/tar does", async () => {
    // umoci 0.4.7 writes layers like this; Docker, containerd and umoci itself read them.
    const full = await tarBuffer([{ h: { name: 'etc/', type: 'directory', mode: 0o755 } }, { h: { name: 'etc/hello' }, data: 'hello from umoci\n' }]);
    const cut = full.subarray(0, 512 * 2 + 17);
    for (const chunks of [[cut], [cut.subarray(0, 700), cut.subarray(700, 1030), cut.subarray(1030)]]) {
      const { target } = fresh();
      const r = await extractLayer(Readable.from(chunks), target, { whiteouts: 'delete' });
      assert.equal(r.entries, 2);
      assert.equal(fs.readFileSync(path.join(target, 'etc/hello'), 'utf8'), 'hello from umoci\n');
    }
    // ... and one that stops at a header boundary without the end-of-archive blocks
    const { target } = fresh();
    await extractLayer(Readable.from([full.subarray(0, 512 * 3)]), target, { whiteouts: 'delete' });
    assert.equal(fs.readFileSync(path.join(target, 'etc/hello'), 'utf8'), 'hello from umoci\n');
    // but one byte short of the data is still truncated
    await assert.rejects(extractLayer(Readable.from([cut.subarray(0, cut.length - 1)]), fresh().target, { whiteouts: 'delete' }), /"etc\/hello".*corrupt or truncated tar/);
  });

  it('rejects a corrupt header and a stream error', async () => {
    const { target } = fresh();
    const garbage = Buffer.alloc(1024, 0x41);
    await assert.rejects(extractLayer(Readable.from([garbage]), target, { whiteouts: 'delete' }), /corrupt or truncated tar/);
    const failing = new Readable({
      read() {
        this.destroy(new Error('registry connection reset'));
      },
    });
    await assert.rejects(extractLayer(failing, target, { whiteouts: 'delete' }), /registry connection reset/);
    assert.deepEqual(listTree(target), []);
  });
});

describe('whiteouts', () => {
  function lower(target: string): void {
    fs.mkdirSync(path.join(target, 'etc/dir/sub'), { recursive: true });
    fs.writeFileSync(path.join(target, 'etc/gone'), 'x');
    fs.writeFileSync(path.join(target, 'etc/keep'), 'x');
    fs.writeFileSync(path.join(target, 'etc/dir/sub/f'), 'x');
    fs.mkdirSync(path.join(target, 'o/sub'), { recursive: true });
    fs.writeFileSync(path.join(target, 'o/old'), 'x');
    fs.writeFileSync(path.join(target, 'o/sub/old2'), 'x');
  }
  const layer = (): Promise<Readable> =>
    tarStream([
      { h: { name: 'etc/.wh.gone' }, data: '' },
      { h: { name: 'etc/.wh.dir' }, data: '' },
      { h: { name: 'etc/.wh.never-existed' }, data: '' },
      { h: { name: 'o/', type: 'directory', mode: 0o755 } },
      { h: { name: 'o/sub/', type: 'directory', mode: 0o755 } },
      { h: { name: 'o/sub/new2' }, data: 'n' },
      { h: { name: 'o/.wh..wh..opq' }, data: '' },
      { h: { name: 'o/new' }, data: 'n' },
      { h: { name: '.wh..wh.plnk' }, data: '' },
    ]);

  it("delete mode removes lower files and empties opaque dirs except this layer's entries", async () => {
    const { target } = fresh();
    lower(target);
    const res = await extractLayer(await layer(), target, { whiteouts: 'delete' });
    assert.deepEqual(listTree(target), ['etc', 'etc/keep', 'o', 'o/new', 'o/sub', 'o/sub/new2']);
    assert.deepEqual(res.whiteouts, []);
    assert.deepEqual(res.opaque, []);
    assert.equal(res.warnings.length, 1);
  });

  it('overlay mode records whiteouts and opaque dirs and leaves lower content alone', async () => {
    const { target } = fresh();
    const res = await extractLayer(await layer(), target, { whiteouts: 'overlay' });
    assert.deepEqual(res.whiteouts, ['etc/gone', 'etc/dir', 'etc/never-existed']);
    assert.deepEqual(res.opaque, ['o']);
    assert.deepEqual(listTree(target), ['etc', 'o', 'o/new', 'o/sub', 'o/sub/new2']);
  });

  it('a whiteout cannot delete through a symlinked parent', async () => {
    const { target, outside } = fresh();
    await assert.rejects(
      extractLayer(
        await tarStream([
          { h: { name: 'l', type: 'symlink', linkname: outside } },
          { h: { name: 'l/.wh.secret' }, data: '' },
        ]),
        target,
        { whiteouts: 'delete' },
      ),
      /"l\/.wh.secret".*symlink/,
    );
    assert.ok(fs.existsSync(path.join(outside, 'secret')));
  });
});
