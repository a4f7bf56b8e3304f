import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCredentials, DOCKER_HUB_AUTH_KEY } from './auth';
import { removeCredentials, saveCredentials } from './credentials';

describe('saveCredentials / removeCredentials', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-creds-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates config.json with mode 0600 and a base64 auth entry', async () => {
    const p = path.join(dir, 'new', 'config.json');
    await saveCredentials(p, 'reg.lan:5000', 'alice', 'pa:ss');
    assert.equal(fs.statSync(p).mode & 0o777, 0o600);
    const cfg = JSON.parse(fs.readFileSync(p, 'utf8'));
    assert.equal(cfg.auths['reg.lan:5000'].auth, Buffer.from('alice:pa:ss').toString('base64'));
    assert.deepEqual(await loadCredentials(p, 'reg.lan:5000'), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(fs.readdirSync(path.dirname(p)), ['config.json']);
  });

  it('preserves other keys and hosts, replaces alias entries', async () => {
    const p = path.join(dir, 'keep.json');
    fs.writeFileSync(
      p,
      JSON.stringify({ credsStore: 'x', proxies: { a: 1 }, auths: { 'other:1': { auth: 'b3RoZXI6cA==' }, 'https://reg.lan': { username: 'old', password: 'o' } } }),
      { mode: 0o644 },
    );
    await saveCredentials(p, 'reg.lan', 'bob', 'pw');
    const cfg = JSON.parse(fs.readFileSync(p, 'utf8'));
    assert.equal(cfg.credsStore, 'x');
    assert.deepEqual(cfg.proxies, { a: 1 });
    assert.deepEqual(Object.keys(cfg.auths).sort(), ['other:1', 'reg.lan']);
    assert.equal(fs.statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(await loadCredentials(p, 'reg.lan'), { username: 'bob', password: 'pw' });

    assert.equal(await removeCredentials(p, 'reg.lan'), true);
    assert.equal(await removeCredentials(p, 'reg.lan'), false);
    const after2 = JSON.parse(fs.readFileSync(p, 'utf8'));
    assert.deepEqual(Object.keys(after2.auths), ['other:1']);
    assert.equal(after2.credsStore, 'x');
    assert.equal(await loadCredentials(p, 'reg.lan'), undefined);
  });

  it('uses the legacy key for Docker Hub', async () => {
    const p = path.join(dir, 'hub.json');
    await saveCredentials(p, 'docker.io', 'u', 'p');
    assert.ok(JSON.parse(fs.readFileSync(p, 'utf8')).auths[DOCKER_HUB_AUTH_KEY]);
    assert.deepEqual(await loadCredentials(p, 'docker.io'), { username: 'u', password: 'p' });
  });

  it('refuses to overwrite an unparsable config', async () => {
    const p = path.join(dir, 'bad.json');
    fs.writeFileSync(p, '{not json');
    await assert.rejects(saveCredentials(p, 'h', 'u', 'p'), /invalid registry config/);
    assert.equal(fs.readFileSync(p, 'utf8'), '{not json');
    assert.equal(await removeCredentials(path.join(dir, 'missing.json'), 'h'), false);
  });
});
