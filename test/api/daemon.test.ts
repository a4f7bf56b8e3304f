// berthd start-up and shutdown: the socket and pid file are its own, a second daemon is refused
// with a message, an unusable data root is named, SIGTERM removes the socket and pid file.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BERTHD, startDaemon, type TestDaemon } from '../fixtures/daemon';

describe('berthd lifecycle', { skip: process.getuid?.() === 0 ? false : 'needs root' }, () => {
  const daemons: TestDaemon[] = [];
  after(async () => {
    for (const d of daemons) await d.stop();
  });

  it('listens on a 0660 socket, writes its pid file, and SIGTERM removes both', async () => {
    const d = await startDaemon();
    daemons.push(d);
    const st = fs.statSync(d.socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    const pidFile = path.join(path.dirname(d.socket), 'berthd.pid');
    assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(d.proc.pid));
    const exited = new Promise<number | null>((r) => d.proc.once('exit', (code) => r(code)));
    d.proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(fs.existsSync(d.socket), false);
    assert.equal(fs.existsSync(pidFile), false);
    assert.match(d.log(), /SIGTERM: shutting down/);
  });

  it('a second berthd on the same socket is refused, and the first keeps serving', async () => {
    const d = await startDaemon();
    daemons.push(d);
    const r = spawnSync(BERTHD, ['--config-file', '/dev/null', '--data-root', path.join(d.dir, 'data2'), '-H', `unix://${d.socket}`, '-p', path.join(d.dir, 'other.pid')], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`socket ${d.socket.replace(/[.]/g, '\\.')} is in use by another daemon`));
    const r2 = spawnSync(BERTHD, ['--config-file', '/dev/null', '--data-root', path.join(d.dir, 'data3'), '--exec-root', path.dirname(d.socket), '-H', `unix://${d.dir}/other.sock`], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /berthd is already running \(pid \d+/);
    assert.equal((await d.request('GET', '/_ping')).body, 'OK');
  });

  it('an unusable data root is refused with its path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-daemon-bad-'));
    try {
      const file = path.join(dir, 'not-a-dir');
      fs.writeFileSync(file, '');
      const r = spawnSync(BERTHD, ['--config-file', '/dev/null', '--data-root', file, '--exec-root', path.join(dir, 'run')], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`data root ${file.replace(/[.]/g, '\\.')} is not usable`));
      assert.equal(fs.existsSync(path.join(dir, 'run', 'berth.sock')), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
