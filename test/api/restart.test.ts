// berthd killed with SIGKILL: containers keep running under their monitors; a new berthd on the
// same roots re-adopts the running one (stop works, logs are there) and records how the other
// one ended meanwhile (its exit code, --rm honoured).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { busyboxTarball, dockerCliAvailable, startDaemon, type TestDaemon, ok } from '../fixtures/daemon';

const skip = dockerCliAvailable() ?? (process.getuid?.() === 0 ? undefined : 'needs root');


describe('berthd restart (live restore)', { skip }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon();
    ok(d.docker(['import', '-c', 'CMD ["sh"]', busyboxTarball(d.dir), 'busybox:latest']), 'import');
  });
  after(async () => {
    await d?.stop();
  });

  it('SIGKILL of berthd loses nothing: running containers are re-adopted, ended ones reconciled', async () => {
    ok(d.docker(['run', '-d', '--name', 'berth-test-live', 'busybox', 'sh', '-c', 'echo before; while true; do sleep 0.2; done']), 'run live');
    ok(d.docker(['run', '-d', '--name', 'berth-test-ends', 'busybox', 'sh', '-c', 'sleep 1; exit 7']), 'run ends');
    ok(d.docker(['run', '-d', '--rm', '--name', 'berth-test-rm', 'busybox', 'sh', '-c', 'sleep 1']), 'run --rm');
    const pid = Number(ok(d.docker(['inspect', '-f', '{{.State.Pid}}', 'berth-test-live']), 'inspect').trim());
    const exited = new Promise((r) => d.proc.once('exit', r));
    d.proc.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(fs.existsSync(`/proc/${pid}`), 'the container outlived berthd');
    d = await startDaemon([], d.dir);
    const rows = ok(d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Status}}']), 'ps').trim().split('\n').sort();
    assert.equal(rows.length, 2, rows.join('\n'));
    assert.match(rows[0]!, /^berth-test-ends exited Exited \(7\)/);
    assert.match(rows[1]!, /^berth-test-live running Up/);
    assert.equal(ok(d.docker(['logs', 'berth-test-live']), 'logs'), 'before\n');
    assert.equal(ok(d.docker(['exec', 'berth-test-live', 'echo', 'still here']), 'exec'), 'still here\n');
    ok(d.docker(['stop', '-t', '1', 'berth-test-live']), 'stop');
    assert.equal(ok(d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'berth-test-live']), 'inspect').trim(), 'exited 137');
    assert.equal(fs.existsSync(`/proc/${pid}`), false);
    ok(d.docker(['rm', 'berth-test-live', 'berth-test-ends']), 'rm');
  });
});
