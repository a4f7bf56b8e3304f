// A second real client: dockerode (npm) against berthd — images, create/start/wait/logs/inspect,
// exec with its stream demultiplexed, remove.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { busyboxTarball, startDaemon, type TestDaemon } from '../fixtures/daemon';

const skip = process.getuid?.() === 0 ? undefined : 'needs root';

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const c of stream) s += c.toString();
  return s;
}

describe('berthd driven by dockerode', { skip }, () => {
  let d: TestDaemon;
  let docker: Docker;
  before(async () => {
    d = await startDaemon();
    docker = new Docker({ socketPath: d.socket });
    const stream = (await docker.importImage(fs.createReadStream(busyboxTarball(d.dir)), { repo: 'busybox', tag: 'latest', changes: ['CMD ["sh"]'] } as never)) as unknown as NodeJS.ReadableStream;
    await collect(stream);
  });
  after(async () => {
    await d?.stop();
  });

  it('ping, version and image list', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    assert.equal((await docker.version()).ApiVersion, '1.50');
    const images = await docker.listImages();
    assert.deepEqual(images.map((i) => i.RepoTags), [['busybox:latest']]);
  });

  it('create, start, wait, logs, inspect, remove', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'], name: 'berth-test-dockerode' });
    await c.start();
    assert.deepEqual(await c.wait(), { StatusCode: 4 });
    const raw = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const out = new PassThrough();
    const err = new PassThrough();
    docker.modem.demuxStream(new PassThrough().end(raw), out, err);
    await new Promise((r) => setImmediate(r));
    assert.equal(out.read()?.toString(), 'out\n');
    assert.equal(err.read()?.toString(), 'err\n');
    const info = await c.inspect();
    assert.equal(info.State.ExitCode, 4);
    assert.equal(info.Name, '/berth-test-dockerode');
    await c.remove();
    await assert.rejects(c.inspect(), /No such container/);
  });

  it('exec with a hijacked, multiplexed stream and its exit code', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'] });
    await c.start();
    const ex = await c.exec({ Cmd: ['sh', '-c', 'echo from-exec; exit 9'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    const err = new PassThrough();
    docker.modem.demuxStream(stream, out, err);
    await new Promise((r) => stream.on('end', r));
    assert.equal(out.read()?.toString(), 'from-exec\n');
    assert.equal((await ex.inspect()).ExitCode, 9);
    await c.remove({ force: true });
  });
});
