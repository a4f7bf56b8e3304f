// docker cp's path rules without a daemon: symlinks evaluated inside a container root (absolute
// targets = the root, `..` stops there, bounded hops), the fd walk that never follows a link,
// hostile tars extracted into a root, Go's FileMode bits and the container path split.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { DirTree, MAX_LINK_HOPS, PathError, resolveIn } from './archive-fs';
import { ArchiveInputError, entryComps, extractInto, symlinkEscapes } from './archive-extract';
import { goFileMode, goTime, splitContainerPath } from './archive';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string; linkname?: string; mode?: number };

async function tarOf(entries: Entry[]): Promise<Readable> {
  const p = tar.pack();
  for (const e of entries) {
    await new Promise<void>((res, rej) =>
      p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644) }, e.body ?? '', (err) => (err ? rej(err) : res())),
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return Readable.from([Buffer.concat(chunks)]);
}

/** Every path (with type and content) under `dir`, to prove nothing changed. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, n);
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(path.join(dir, r))}`);
      else out.push(`${r} = ${fs.readFileSync(path.join(dir, r), 'utf8')}`);
    }
  };
  walk('');
  return out;
}

describe('archive path resolution', () => {
  let top: string;
  let root: string;
  let host: string;
  let hostBefore: string[];
  before(() => {
    top = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-archive-'));
    root = path.join(top, 'a', 'b', 'root');
    host = path.join(top, 'host');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(root, 'x', 'y'), { recursive: true });
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'secret'), 'host secret');
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'container passwd');
    fs.writeFileSync(path.join(root, 'file'), 'f');
    fs.symlinkSync('/etc', path.join(root, 'lnk-etc'));
    fs.symlinkSync('../../../../host', path.join(root, 'up'));
    fs.symlinkSync(host, path.join(root, 'abs-host'));
    fs.symlinkSync('../etc', path.join(root, 'x', 'rel-etc'));
    fs.symlinkSync('loop', path.join(root, 'loop'));
    fs.symlinkSync('/lnk-etc/passwd', path.join(root, 'chain'));
    hostBefore = snapshot(top).filter((l) => !l.startsWith('a/b/root'));
  });
  after(() => fs.rmSync(top, { recursive: true, force: true }));

  const resolve = async (p: string): Promise<string> => {
    const t = await DirTree.open(root);
    try {
      return `/${(await resolveIn(t, p.split('/'))).join('/')}`;
    } finally {
      await t.close();
    }
  };

  it('an absolute symlink means the container root', async () => {
    assert.equal(await resolve('/lnk-etc/passwd'), '/etc/passwd');
    assert.equal(await resolve('/chain'), '/etc/passwd');
    assert.equal(await resolve('/abs-host/secret'), `${host}/secret`); // a path in the root, not the host's
    const t = await DirTree.open(root);
    try {
      assert.equal(await t.lstat((await resolve('/abs-host/secret')).slice(1).split('/')), undefined);
    } finally {
      await t.close();
    }
  });

  it('`..` stops at the root; a relative link climbing out stays inside', async () => {
    assert.equal(await resolve('/up/secret'), '/host/secret');
    assert.equal(await resolve('/x/rel-etc/passwd'), '/etc/passwd');
    assert.equal(await resolve('/../../..'), '/');
  });

  it('link loops end with ELOOP after a bounded number of hops; a file in the middle is ENOTDIR', async () => {
    await assert.rejects(resolve('/loop'), (e: unknown) => e instanceof PathError && e.code === 'ELOOP');
    assert.ok(MAX_LINK_HOPS <= 40);
    await assert.rejects(resolve('/file/x'), (e: unknown) => e instanceof PathError && e.code === 'ENOTDIR');
    assert.equal(await resolve('/missing/../x'), '/x'); // missing tail appended lexically
  });

  it('the fd walk never follows a symlink itself', async () => {
    const t = await DirTree.open(root);
    try {
      assert.equal(await t.lstat(['lnk-etc', 'passwd']), undefined);
      assert.equal(await t.lstat(['up', 'secret']), undefined);
      assert.ok((await t.lstat(['up']))?.isSymbolicLink());
      assert.deepEqual(await t.readdir(['x']), ['rel-etc', 'y']);
    } finally {
      await t.close();
    }
  });

  it('hostile tar names: escapes refused, absolute names rooted at the extraction dir', () => {
    assert.throws(() => entryComps('../evil'), ArchiveInputError);
    assert.throws(() => entryComps('a/../../evil'), ArchiveInputError);
    assert.deepEqual(entryComps('/etc/x'), ['etc', 'x']);
    assert.deepEqual(entryComps('./a/./b/'), ['a', 'b']);
    assert.equal(symlinkEscapes(['d', 'l'], '../x'), false);
    assert.equal(symlinkEscapes(['d', 'l'], '../../x'), true);
    assert.equal(symlinkEscapes(['l'], '/anything'), false);
  });

  it('PUT extraction: `../` refused, entries under symlinked dirs stay in the root', async () => {
    const t = await DirTree.open(root);
    try {
      await assert.rejects(extractInto(t, ['x'], await tarOf([{ name: '../../../../../evil', body: 'x' }]), { noOverwriteDirNonDir: true }), ArchiveInputError);
      await assert.rejects(extractInto(t, ['x'], await tarOf([{ name: 'bad', type: 'symlink', linkname: '../../../host' }]), { noOverwriteDirNonDir: true }), ArchiveInputError);
      await extractInto(
        t,
        ['x'],
        await tarOf([
          { name: 'new/', type: 'directory' },
          { name: 'new/f', body: 'new file', mode: 0o640 },
          { name: 'new/h', type: 'link', linkname: 'new/f' },
          { name: 'tohost', type: 'symlink', linkname: '/abs-host' },
          { name: 'tohost/planted', body: 'inside' },
          { name: 'rel-etc/planted', body: 'etc of the container' },
          { name: '/up/planted', body: 'inside too' },
        ]),
        { noOverwriteDirNonDir: true },
      );
    } finally {
      await t.close();
    }
    assert.equal(fs.readFileSync(path.join(root, 'x', 'new', 'f'), 'utf8'), 'new file');
    assert.equal(fs.statSync(path.join(root, 'x', 'new', 'f')).mode & 0o777, 0o640);
    assert.equal(fs.statSync(path.join(root, 'x', 'new', 'h')).ino, fs.statSync(path.join(root, 'x', 'new', 'f')).ino);
    assert.equal(fs.readFileSync(path.join(root, host.slice(1), 'planted'), 'utf8'), 'inside');
    assert.equal(fs.readFileSync(path.join(root, 'etc', 'planted'), 'utf8'), 'etc of the container');
    assert.equal(fs.readFileSync(path.join(root, 'x', 'up', 'planted'), 'utf8'), 'inside too');
    // Nothing outside the root changed.
    assert.deepEqual(snapshot(top).filter((l) => !l.startsWith('a/b/root')), hostBefore);
  });

  it('noOverwriteDirNonDir refuses a directory replaced by a file and the reverse', async () => {
    const t = await DirTree.open(root);
    try {
      await assert.rejects(extractInto(t, [], await tarOf([{ name: 'etc', body: 'x' }]), { noOverwriteDirNonDir: true }), /cannot overwrite directory/);
      await assert.rejects(extractInto(t, [], await tarOf([{ name: 'file/', type: 'directory' }]), { noOverwriteDirNonDir: true }), /cannot overwrite non-directory/);
      await extractInto(t, [], await tarOf([{ name: 'file/', type: 'directory' }]), { noOverwriteDirNonDir: false });
      assert.ok(fs.lstatSync(path.join(root, 'file')).isDirectory());
    } finally {
      await t.close();
    }
  });
});

describe('archive wire formats', () => {
  it("Go's os.FileMode bits", () => {
    assert.equal(goFileMode(0o040755), 2 ** 31 + 0o755);
    assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
    assert.equal(goFileMode(0o100644), 0o644);
    assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755);
    assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777);
    assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666);
    assert.equal(goFileMode(0o010644), 2 ** 25 + 0o644);
  });

  it('times as Go marshals them', () => {
    assert.equal(goTime(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
    assert.equal(goTime(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
  });

  it('container paths split as ResolvePath does', () => {
    assert.deepEqual(splitContainerPath('/a/b/'), { comps: ['a', 'b'], trailing: '/', name: 'b' });
    assert.deepEqual(splitContainerPath('/a/b/.'), { comps: ['a', 'b'], trailing: '/.', name: '.' });
    assert.deepEqual(splitContainerPath('a/../c'), { comps: ['c'], trailing: '', name: 'c' });
    assert.deepEqual(splitContainerPath('/'), { comps: [], trailing: '/', name: '/' });
  });
});
