// `docker cp` through the real docker CLI against berthd (HEAD/GET/PUT /containers/{id}/archive):
// files and directories both ways, into running and stopped containers (overlay, and vfs), and
// the safety cases: symlinks in the container to /etc (followed inside the container) and to
// ../../../../<host path> (stays inside), hostile PUT tars (`../` names, escaping symlinks,
// entries under a symlinked dir), and proof that nothing on the host outside the container
// changed. Every container is removed afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { busyboxTarball, dockerCliAvailable, startDaemon, type TestDaemon, ok, until } from '../fixtures/daemon';

const skip = dockerCliAvailable() ?? (process.getuid?.() === 0 ? undefined : 'needs root');



type Entry = { name: string; type?: 'file' | 'directory' | 'symlink'; body?: string; linkname?: string };
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = tar.pack();
  for (const e of entries) {
    await new Promise<void>((res, rej) =>
      p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644 }, e.body ?? '', (err) => (err ? rej(err) : res())),
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Every path under `dir` with its type/content (to prove the host side did not change). */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, n);
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mode}`);
        walk(r);
      } else out.push(`${r} ${st.mode} ${st.isSymbolicLink() ? fs.readlinkSync(path.join(dir, r)) : fs.readFileSync(path.join(dir, r), 'utf8')}`);
    }
  };
  walk('');
  return out;
}

function suite(driver: 'auto' | 'vfs'): void {
  describe(`docker cp (storage driver ${driver})`, { skip }, () => {
    let d: TestDaemon;
    let src: string; // host files to copy in
    let out: string; // where copies from containers land
    let outside: string; // host dir the container symlinks aim at: must never change
    let outsideBefore: string[];
    let hostEtcBefore: string[];
    const links = (o: string): string => `ln -s /etc /etclink && ln -s ../../../..${o} /esc && mkdir -p /data && echo data > /data/f`;

    before(async () => {
      d = await startDaemon(driver === 'vfs' ? ['--storage-driver', 'vfs'] : []);
      ok(d.docker(['import', '-c', 'CMD ["sh"]', busyboxTarball(d.dir), 'busybox:latest']), 'import busybox');
      src = path.join(d.dir, 'src');
      out = path.join(d.dir, 'out');
      outside = path.join(d.dir, 'outside');
      fs.mkdirSync(path.join(src, 'tree', 'a', 'sub'), { recursive: true });
      fs.mkdirSync(out);
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, 'secret'), 'host secret\n');
      fs.writeFileSync(path.join(src, 'hello.txt'), 'hello from the host\n');
      fs.writeFileSync(path.join(src, 'tree', 'a', 'b.txt'), 'b\n');
      fs.writeFileSync(path.join(src, 'tree', 'a', 'sub', 'c.txt'), 'c\n');
      fs.symlinkSync('a/b.txt', path.join(src, 'tree', 'lnk'));
      outsideBefore = snapshot(outside);
      hostEtcBefore = fs.readdirSync('/etc').sort();
      // "prep": stopped, with the symlinks in its writable layer; "run": the same, running.
      ok(d.docker(['run', '--name', 'prep', 'busybox', 'sh', '-c', links(outside)]), 'run prep');
      ok(d.docker(['run', '-d', '--name', 'run', 'busybox', 'sh', '-c', `${links(outside)} && exec sleep 300`]), 'run -d');
      await until('the running container\'s links', () => d.docker(['exec', 'run', 'test', '-f', '/data/f']).status === 0);
    });

    after(async () => {
      if (!d) return;
      const ids = d.docker(['ps', '-aq']).stdout.trim();
      if (ids) d.docker(['rm', '-f', ...ids.split('\n')]);
      const left = d.docker(['ps', '-aq']).stdout.trim();
      // nothing outside the containers changed
      const outsideNow = snapshot(outside);
      await d.stop();
      assert.equal(left, '', 'all containers removed');
      assert.deepEqual(outsideNow, outsideBefore);
      assert.deepEqual(fs.readdirSync('/etc').sort(), hostEtcBefore);
    });

    for (const c of ['run', 'prep'] as const) {
      it(`${c}: a file and a directory host → container → host`, () => {
        ok(d.docker(['cp', path.join(src, 'hello.txt'), `${c}:/data/`]), 'cp file in');
        ok(d.docker(['cp', path.join(src, 'tree'), `${c}:/data/tree`]), 'cp dir in');
        const back = path.join(out, c);
        fs.mkdirSync(back);
        ok(d.docker(['cp', `${c}:/data/hello.txt`, path.join(back, 'h.txt')]), 'cp file out');
        assert.equal(fs.readFileSync(path.join(back, 'h.txt'), 'utf8'), 'hello from the host\n');
        ok(d.docker(['cp', `${c}:/data/tree`, path.join(back, 'tree')]), 'cp dir out');
        assert.equal(fs.readFileSync(path.join(back, 'tree', 'a', 'b.txt'), 'utf8'), 'b\n');
        assert.equal(fs.readFileSync(path.join(back, 'tree', 'a', 'sub', 'c.txt'), 'utf8'), 'c\n');
        assert.equal(fs.readlinkSync(path.join(back, 'tree', 'lnk')), 'a/b.txt');
        // dir/. into an existing dir copies the contents
        fs.mkdirSync(path.join(back, 'contents'));
        ok(d.docker(['cp', `${c}:/data/tree/.`, path.join(back, 'contents')]), 'cp dir/. out');
        assert.deepEqual(fs.readdirSync(path.join(back, 'contents')).sort(), ['a', 'lnk']);
        // a file that the image has (lower layer / image copy) read back
        ok(d.docker(['cp', `${c}:/bin/busybox`, path.join(back, 'busybox')]), 'cp image file out');
        assert.ok(fs.statSync(path.join(back, 'busybox')).size > 100_000);
        assert.ok(fs.statSync(path.join(back, 'busybox')).mode & 0o100);
      });

      it(`${c}: a symlink to /etc is followed inside the container`, () => {
        const got = path.join(out, `${c}-passwd`);
        ok(d.docker(['cp', `${c}:/etclink/passwd`, got]), 'cp through /etclink');
        const inContainer = ok(d.docker(c === 'run' ? ['exec', 'run', 'cat', '/etc/passwd'] : ['cp', `${c}:/etc/passwd`, '-']), 'read /etc/passwd');
        assert.equal(fs.readFileSync(got, 'utf8'), c === 'run' ? inContainer : readFromContainer(c, '/etc/passwd'));
        assert.notEqual(fs.readFileSync(got, 'utf8'), fs.readFileSync('/etc/passwd', 'utf8'));
        ok(d.docker(['cp', path.join(src, 'hello.txt'), `${c}:/etclink/`]), 'cp into /etclink/');
        assert.equal(readFromContainer(c, '/etc/hello.txt'), 'hello from the host\n');
        assert.equal(fs.existsSync('/etc/hello.txt'), false);
      });

      it(`${c}: a symlink to ../../../..<host path> stays inside the container`, () => {
        const r = d.docker(['cp', `${c}:/esc/secret`, path.join(out, `${c}-secret`)]);
        assert.notEqual(r.status, 0, r.stdout);
        assert.match(r.stderr, /Could not find the file \/esc\/secret in container/);
        assert.equal(fs.existsSync(path.join(out, `${c}-secret`)), false);
        // copying into it either fails or lands in the container's own copy of that path
        d.docker(['cp', path.join(src, 'hello.txt'), `${c}:/esc/`]);
        d.docker(['cp', path.join(src, 'hello.txt'), `${c}:/esc/planted.txt`]);
        assert.deepEqual(snapshot(outside), outsideBefore);
      });

      it(`${c}: hostile PUT tars are refused or contained`, async () => {
        const put = (p: string, body: Buffer) => d.request('PUT', `/containers/${c}/archive?path=${encodeURIComponent(p)}`, body, { 'Content-Type': 'application/x-tar' });
        let r = await put('/data', await tarOf([{ name: '../../../../../../../../tmp/berth-cp-evil', body: 'x' }]));
        assert.equal(r.status, 400, r.body);
        assert.match(r.body, /outside of the extraction directory/);
        r = await put('/data', await tarOf([{ name: 'bad', type: 'symlink', linkname: '../../../../../../etc' }]));
        assert.equal(r.status, 400, r.body);
        // an entry under a symlinked dir: /esc resolves inside the container's root
        r = await put('/', await tarOf([{ name: 'esc/planted', body: 'planted\n' }, { name: 'etclink/planted', body: 'in etc\n' }]));
        assert.equal(r.status, 200, r.body);
        assert.equal(readFromContainer(c, `${outside}/planted`), 'planted\n');
        assert.equal(readFromContainer(c, '/etc/planted'), 'in etc\n');
        assert.equal(fs.existsSync('/tmp/berth-cp-evil'), false);
        assert.equal(fs.existsSync('/etc/planted'), false);
        assert.deepEqual(snapshot(outside), outsideBefore);
        // the extraction point must exist and be a directory
        r = await put('/nope', await tarOf([{ name: 'f' }]));
        assert.equal(r.status, 404, r.body);
        r = await put('/data/f', await tarOf([{ name: 'f' }]));
        assert.equal(r.status, 400, r.body);
        assert.match(r.body, /extraction point is not a directory/);
      });

      it(`${c}: HEAD answers the path stat with Go's mode bits`, async () => {
        const stat = async (p: string) => {
          const r = await d.request('HEAD', `/containers/${c}/archive?path=${encodeURIComponent(p)}`);
          assert.equal(r.status, 200);
          return JSON.parse(Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString()) as { name: string; mode: number; linkTarget: string; size: number };
        };
        const dir = await stat('/data');
        assert.equal(dir.name, 'data');
        assert.equal(dir.mode, 2 ** 31 + 0o755);
        const ln = await stat('/etclink');
        assert.equal(Math.floor(ln.mode / 2 ** 20) * 2 ** 20, 2 ** 27);
        assert.equal(ln.linkTarget, '/etc');
        assert.equal((await stat('/esc')).linkTarget, outside);
        assert.equal((await stat('/data/f')).size, 5);
        assert.equal((await d.request('HEAD', `/containers/${c}/archive?path=/nope`)).status, 404);
      });

      it(`${c}: a missing path is an error naming the file and the container`, () => {
        const r = d.docker(['cp', `${c}:/no/such/file`, out]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, new RegExp(`Could not find the file /no/such/file in container ${c}`));
      });
    }

    it('run: copies go through the root the container sees (its own mounts included)', () => {
      ok(d.docker(['cp', path.join(src, 'hello.txt'), 'run:/dev/shm/']), 'cp into the container\'s /dev/shm');
      assert.equal(ok(d.docker(['exec', 'run', 'cat', '/dev/shm/hello.txt', '/data/hello.txt']), 'exec cat'), 'hello from the host\n'.repeat(2));
      ok(d.docker(['exec', 'run', 'sh', '-c', 'echo live > /tmp/live']), 'exec write');
      assert.equal(readFromContainer('run', '/tmp/live'), 'live\n');
    });

    it('a stopped container sees what was copied in when it starts (image and init files replaced)', () => {
      ok(d.docker(['create', '--name', 'st', 'busybox', 'sh', '-c', 'cat /tmp/hello.txt /etc/tree/a/b.txt /etc/hostname; ls /etc/tree']), 'create');
      ok(d.docker(['cp', path.join(src, 'hello.txt'), 'st:/tmp/']), 'cp into created');
      ok(d.docker(['cp', path.join(src, 'tree'), 'st:/etc/']), 'cp dir into created');
      fs.writeFileSync(path.join(src, 'hostname'), 'replaced-hostname\n');
      ok(d.docker(['cp', path.join(src, 'hostname'), 'st:/etc/hostname']), 'cp over an init-layer file');
      const outText = ok(d.docker(['start', '-a', 'st']), 'start -a');
      assert.equal(outText, 'hello from the host\nb\nreplaced-hostname\na\nlnk\n');
    });

    it('a directory copied over one the container deleted does not bring the image\'s contents back', () => {
      ok(d.docker(['run', '--name', 'base', 'busybox', 'sh', '-c', 'mkdir /stuff && touch /stuff/old']), 'run base');
      ok(d.docker(['commit', 'base', 'stuff:cp']), 'commit');
      const first = ok(d.docker(['run', '--name', 'wo', 'stuff:cp', 'sh', '-c', 'ls -A /stuff; rm -rf /stuff']), 'run wo');
      assert.equal(first, 'old\n');
      fs.mkdirSync(path.join(src, 'stuff'));
      fs.writeFileSync(path.join(src, 'stuff', 'x'), 'x\n');
      ok(d.docker(['cp', path.join(src, 'stuff'), 'wo:/']), 'cp stuff');
      assert.equal(ok(d.docker(['start', '-a', 'wo']), 'start -a wo'), 'x\n');
    });

    function readFromContainer(c: string, p: string): string {
      const dst = path.join(out, `read-${Math.random().toString(36).slice(2)}`);
      ok(d.docker(['cp', `${c}:${p}`, dst]), `cp ${c}:${p}`);
      return fs.readFileSync(dst, 'utf8');
    }
  });
}

suite('auto');
suite('vfs');
