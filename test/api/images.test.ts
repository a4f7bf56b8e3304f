// berthd's image API driven by the real docker CLI (and raw requests for the error cases):
// import, images, tag, history, inspect, save/load, pull/push with a local registry, rmi, prune.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { busyboxTarball, dockerCliAvailable, startDaemon, type TestDaemon, ok } from '../fixtures/daemon';
import { ensureRegistryTools, startRegistry, type TestRegistry } from '../fixtures/registry';

const skip = dockerCliAvailable() ?? ensureRegistryTools() ?? (process.getuid?.() === 0 ? undefined : 'needs root');


describe('berthd image API through the docker CLI', { skip }, () => {
  let d: TestDaemon;
  let reg: TestRegistry;
  let tarball = '';
  before(async () => {
    d = await startDaemon();
    reg = await startRegistry();
    tarball = busyboxTarball(d.dir);
  });
  after(async () => {
    await reg?.stop();
    await d?.stop();
  });

  it('docker version and info talk to berthd', () => {
    const v = ok(d.docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}']), 'version');
    assert.match(v.trim(), /^\d+\.\d+\.\d+ 1\.50$/);
    const info = ok(d.docker(['info', '--format', '{{.Driver}} {{.OSType}} {{.DockerRootDir}}']), 'info');
    assert.equal(info.trim(), `overlay2 linux ${d.dataRoot}`);
  });

  it('imports a tarball with --change and --message, and lists it', () => {
    const id = ok(d.docker(['import', '-c', 'CMD ["sh"]', '-c', 'ENV A=1', '-m', 'from busybox-static', tarball, 'berth-test/bb:1']), 'import').trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const rows = ok(d.docker(['images', '--format', '{{.Repository}}|{{.Tag}}|{{.ID}}']), 'images').trim().split('\n');
    assert.deepEqual(rows, [`berth-test/bb|1|${id.slice(7, 19)}`]);
    const header = ok(d.docker(['images']), 'images').split('\n')[0]!;
    assert.match(header, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    const cmd = ok(d.docker(['image', 'inspect', '-f', '{{json .Config.Cmd}} {{json .Config.Env}} {{.Os}} {{len .RootFS.Layers}}', 'berth-test/bb:1']), 'inspect');
    assert.equal(cmd.trim(), '["sh"] ["A=1"] linux 1');
    const hist = ok(d.docker(['history', '--format', '{{.ID}} {{.Comment}}', 'berth-test/bb:1']), 'history');
    assert.equal(hist.trim(), `${id.slice(7, 19)} from busybox-static`);
  });

  it('tags, pushes to and pulls from a local registry with progress', () => {
    const remote = `${reg.host}/berth-test/bb:pushed`;
    ok(d.docker(['tag', 'berth-test/bb:1', remote]), 'tag');
    const push = ok(d.docker(['push', remote]), 'push');
    assert.match(push, /The push refers to repository/);
    assert.match(push, /pushed: digest: sha256:[0-9a-f]{64} size: \d+/);
    ok(d.docker(['rmi', remote]), 'rmi remote tag');
    ok(d.docker(['rmi', 'berth-test/bb:1']), 'rmi');
    assert.equal(ok(d.docker(['images', '-q']), 'images -q').trim(), '');
    const pull = ok(d.docker(['pull', remote]), 'pull');
    assert.match(pull, /pushed: Pulling from berth-test\/bb/);
    assert.match(pull, /Pull complete/);
    assert.match(pull, /Digest: sha256:[0-9a-f]{64}/);
    assert.match(pull, new RegExp(`Status: Downloaded newer image for ${remote.replace(/[.]/g, '\\.')}`));
    const digests = ok(d.docker(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}']), 'images --digests');
    assert.match(digests.trim(), new RegExp(`^${reg.host.replace(/[.]/g, '\\.')}/berth-test/bb sha256:[0-9a-f]{64}$`));
    const again = ok(d.docker(['pull', remote]), 'pull again');
    assert.match(again, /Image is up to date/);
  });

  it('save -o then load -i restores the image and its tag', () => {
    const remote = `${reg.host}/berth-test/bb:pushed`;
    const out = path.join(d.dir, 'saved.tar');
    const size = () => Number(ok(d.docker(['image', 'inspect', '-f', '{{.Size}}', remote]), 'inspect size').trim());
    // SIZE is the unpacked layers' bytes as Docker counts them, whichever way the image came.
    const pulledSize = size();
    const busyboxBytes = fs.statSync(['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p))!).size;
    assert.ok(pulledSize >= busyboxBytes && pulledSize < busyboxBytes + 4096, `size ${pulledSize} vs busybox ${busyboxBytes}`);
    ok(d.docker(['save', '-o', out, remote]), 'save');
    assert.ok(fs.statSync(out).size > 500_000);
    ok(d.docker(['rmi', remote]), 'rmi');
    const load = ok(d.docker(['load', '-i', out]), 'load');
    assert.match(load, new RegExp(`Loaded image: ${remote.replace(/[.]/g, '\\.')}`));
    assert.equal(ok(d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']), 'images').trim(), remote);
    assert.equal(size(), pulledSize, 'the same size after save and load');
  });

  it('errors speak Docker: unknown image, bad reference, unreachable registry', () => {
    const r1 = d.docker(['image', 'inspect', 'berth-test/none:1']);
    assert.equal(r1.status, 1);
    assert.match(r1.stderr, /No such image: berth-test\/none:1/);
    const r2 = d.docker(['rmi', 'berth-test/none:1']);
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /Error response from daemon: No such image: berth-test\/none:1/);
    const r3 = d.docker(['tag', `${reg.host}/berth-test/bb:pushed`, 'berth-test/Bad']);
    assert.notEqual(r3.status, 0);
    assert.match(r3.stderr, /invalid reference format/);
    const r4 = d.docker(['pull', '127.0.0.1:1/berth-test/x:1']);
    assert.equal(r4.status, 1);
    assert.match(r4.stderr, /127\.0\.0\.1:1/);
  });

  it('prune -af removes everything and reports the space reclaimed', () => {
    const out = ok(d.docker(['image', 'prune', '-af']), 'prune');
    assert.match(out, /Deleted Images:/);
    assert.match(out, /Total reclaimed space: [1-9]/);
    assert.equal(ok(d.docker(['images', '-q']), 'images').trim(), '');
    assert.deepEqual(fs.readdirSync(path.join(d.dataRoot, 'image', 'content', 'blobs', 'sha256')), []);
  });

  it('raw API: version negotiation, malformed input and unknown paths get Docker status codes', async () => {
    const ping = await d.request('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    assert.equal(ping.headers['api-version'], '1.50');
    const tooNew = await d.request('GET', '/v1.99/version');
    assert.equal(tooNew.status, 400);
    assert.match(JSON.parse(tooNew.body).message, /client version 1\.99 is too new\. Maximum supported API version is 1\.50/);
    const unknown = await d.request('GET', '/v1.50/nothing/here');
    assert.equal(unknown.status, 404);
    const badFilters = await d.request('GET', '/v1.50/images/json?filters=%7Bnot-json');
    assert.equal(badFilters.status, 400);
    assert.match(JSON.parse(badFilters.body).message, /invalid filters/);
    const badKey = await d.request('GET', '/v1.50/images/json?filters=' + encodeURIComponent('{"colour":["red"]}'));
    assert.equal(badKey.status, 400);
    const noName = await d.request('POST', '/v1.50/images/create');
    assert.equal(noName.status, 400);
    const badAuth = await d.request('POST', '/v1.50/auth', '{"username": 1', { 'Content-Type': 'application/json' });
    assert.equal(badAuth.status, 400);
    assert.match(JSON.parse(badAuth.body).message, /invalid JSON body/);
    const notTar = await d.request('POST', '/v1.50/images/create?fromSrc=-&repo=berth-test/junk', Buffer.from('this is not a tar'));
    assert.ok(notTar.status >= 400, `status ${notTar.status}`);
    assert.ok(JSON.parse(notTar.body).message, notTar.body);
    assert.equal((await d.request('GET', '/v1.50/images/json')).body.trim(), '[]');
    // berthd is still up after all of it.
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });
});
