// Engine behaviour through the docker CLI: health checks, update, restart policies, --init,
// OOM kills, log rotation — each proven by its effect.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { busyboxTarball, dockerCliAvailable, startDaemon, type TestDaemon, ok, until } from '../fixtures/daemon';

const skip = dockerCliAvailable() ?? (process.getuid?.() === 0 ? undefined : 'needs root');



describe('engine features through the docker CLI', { skip }, () => {
  let d: TestDaemon;
  const inspect = (fmt: string, name: string): string => ok(d.docker(['inspect', '-f', fmt, name]), `inspect ${fmt}`).trim();
  before(async () => {
    d = await startDaemon();
    ok(d.docker(['import', '-c', 'CMD ["sh"]', busyboxTarball(d.dir), 'busybox:latest']), 'import');
  });
  after(async () => {
    await d?.stop();
  });

  it('health checks: healthy, then unhealthy after the retries, with health_status events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(d.docker(['run', '-d', '--name', 'berth-test-health', '--health-cmd', 'test ! -e /tmp/sick', '--health-interval', '300ms', '--health-retries', '2', 'busybox', 'sleep', '1000']), 'run');
    await until('healthy', () => inspect('{{.State.Health.Status}}', 'berth-test-health') === 'healthy');
    assert.match(ok(d.docker(['ps', '--format', '{{.Status}}', '-f', 'name=berth-test-health']), 'ps'), /\(healthy\)/);
    ok(d.docker(['exec', 'berth-test-health', 'touch', '/tmp/sick']), 'exec');
    await until('unhealthy', () => inspect('{{.State.Health.Status}}', 'berth-test-health') === 'unhealthy');
    assert.ok(Number(inspect('{{.State.Health.FailingStreak}}', 'berth-test-health')) >= 2);
    const ev = ok(d.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '-f', 'container=berth-test-health', '--format', '{{.Action}}']), 'events');
    assert.match(ev, /health_status: healthy/);
    assert.match(ev, /health_status: unhealthy/);
    ok(d.docker(['rm', '-f', 'berth-test-health']), 'rm');
  });

  it('update changes a running container\'s memory limit in its cgroup', () => {
    const id = ok(d.docker(['run', '-d', '--name', 'berth-test-upd', '-m', '64m', '--memory-swap', '64m', 'busybox', 'sleep', '1000']), 'run').trim();
    ok(d.docker(['update', '--memory', '48m', '--memory-swap', '48m', 'berth-test-upd']), 'update');
    assert.equal(inspect('{{.HostConfig.Memory}}', 'berth-test-upd'), String(48 * 1024 * 1024));
    const v1 = `/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`;
    const v2 = `/sys/fs/cgroup/berth/${id}/memory.max`;
    const file = fs.existsSync(v1) ? v1 : v2;
    assert.equal(fs.readFileSync(file, 'utf8').trim(), String(48 * 1024 * 1024));
    const bad = d.docker(['update', '--memory', '1k', 'berth-test-upd']);
    assert.notEqual(bad.status, 0);
    ok(d.docker(['rm', '-f', 'berth-test-upd']), 'rm');
  });

  it('restart policy on-failure:2 restarts twice, then stops with the exit code', async () => {
    ok(d.docker(['run', '-d', '--name', 'berth-test-restart', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']), 'run');
    await until('two restarts', () => inspect('{{.RestartCount}} {{.State.Status}}', 'berth-test-restart') === '2 exited', 20_000);
    assert.equal(inspect('{{.State.ExitCode}}', 'berth-test-restart'), '3');
    ok(d.docker(['rm', 'berth-test-restart']), 'rm');
  });

  it('--init: stop of a shell container is prompt (the init forwards SIGTERM)', () => {
    ok(d.docker(['run', '-d', '--init', '--name', 'berth-test-init', 'busybox', 'sh', '-c', 'sleep 1000; true']), 'run');
    assert.match(inspect('{{.Path}} {{join .Args " "}}', 'berth-test-init'), /sh -c sleep 1000; true/);
    const t0 = Date.now();
    ok(d.docker(['stop', '-t', '10', 'berth-test-init']), 'stop');
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(inspect('{{.State.ExitCode}}', 'berth-test-init'), '143');
    ok(d.docker(['rm', 'berth-test-init']), 'rm');
  });

  it('a memory hog is OOM-killed: exit 137, OOMKilled, an oom event', () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = d.docker(['run', '--name', 'berth-test-oom', '-m', '16m', '--memory-swap', '16m', 'busybox', 'sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done']);
    assert.equal(r.status, 137, r.stderr);
    assert.equal(inspect('{{.State.OOMKilled}}', 'berth-test-oom'), 'true');
    const ev = ok(d.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '-f', 'container=berth-test-oom', '--format', '{{.Action}}']), 'events');
    assert.match(ev, /^oom$/m);
    ok(d.docker(['rm', 'berth-test-oom']), 'rm');
  });

  it('json-file logs rotate at max-size, keeping max-file files', () => {
    ok(d.docker(['run', '--name', 'berth-test-rot', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done']), 'run');
    const logPath = inspect('{{.LogPath}}', 'berth-test-rot');
    const files = [logPath, `${logPath}.1`, `${logPath}.2`];
    for (const f of files) assert.ok(fs.existsSync(f), `${f} exists`);
    assert.equal(fs.existsSync(`${logPath}.3`), false);
    for (const f of files) assert.ok(fs.statSync(f).size <= 2048, `${f} is at most 2k`);
    const tail = ok(d.docker(['logs', '--tail', '2', 'berth-test-rot']), 'logs --tail');
    assert.equal(tail, 'line-398\nline-399\n');
    ok(d.docker(['rm', 'berth-test-rot']), 'rm');
  });

  it('impossible values are 400s naming the field; sysctls outside the container\'s namespaces are refused', () => {
    const r1 = d.docker(['create', '-m', '1k', 'busybox']);
    assert.notEqual(r1.status, 0);
    assert.match(r1.stderr, /[Mm]inimum memory limit/);
    const r2 = d.docker(['create', '--sysctl', 'kernel.panic=1', 'busybox']);
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /kernel\.panic/);
    const r3 = d.docker(['create', '--restart', 'always', '--rm', 'busybox']);
    assert.notEqual(r3.status, 0);
    assert.equal(ok(d.docker(['ps', '-aq']), 'ps').trim(), '');
  });
});
