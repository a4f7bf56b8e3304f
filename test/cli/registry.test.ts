// End-to-end: login, push, pull, logout through bin/berth, berthd and a local docker-registry
// (htpasswd auth) on 127.0.0.1; progress output compared with the docker CLI's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Env, hasDocker, ok } from './helpers';
import { ensureRegistryTools, startRegistry, type TestRegistry } from '../fixtures/registry';

const missing = ensureRegistryTools(true);
const env = new Env();
let reg: TestRegistry | undefined;

describe('berth login/push/pull/logout against a local registry', { skip: missing }, () => {
  before(async () => {
    await env.start();
    reg = await startRegistry({ auth: { username: 'alice', password: 's3cret' } });
    ok(env.berth(['import', env.tarball, `${reg.host}/bb:1`]));
  });
  after(async () => {
    await reg?.stop();
    await env.stop();
  });

  test('push without credentials fails with the registry message, exit 1', () => {
    const r = env.berth(['push', `${reg!.host}/bb:1`]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^The push refers to repository \[127\.0\.0\.1:\d+\/bb\]\n/);
    assert.match(r.stderr, /unauthorized/);
  });

  test('login --password-stdin checks with the daemon and writes config.json', () => {
    const bad = env.berth(['login', '-u', 'alice', '--password-stdin', reg!.host], 'wrong\n');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error response from daemon: /);
    assert.equal(env.berth(['login', '-p', 'x', reg!.host]).code, 1); // no user on a non-TTY
    assert.equal(ok(env.berth(['login', '-u', 'alice', '--password-stdin', reg!.host], 's3cret\n')), 'Login Succeeded\n');
    const cfg = JSON.parse(fs.readFileSync(path.join(env.dir, 'config', 'config.json'), 'utf8'));
    assert.deepEqual(cfg.auths[reg!.host], { auth: Buffer.from('alice:s3cret').toString('base64') });
  });

  test('push and pull with progress as plain lines when piped; pull -q prints the reference', () => {
    const pushed = ok(env.berth(['push', `${reg!.host}/bb:1`]));
    assert.match(pushed, /^The push refers to repository \[127\.0\.0\.1:\d+\/bb\]\n[0-9a-f]{12}: Preparing\n[0-9a-f]{12}: Pushed\n1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    ok(env.berth(['rmi', `${reg!.host}/bb:1`]));
    const pulled = ok(env.berth(['pull', `${reg!.host}/bb:1`]));
    assert.match(pulled, /^1: Pulling from bb\n/);
    assert.match(pulled, /\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for 127\.0\.0\.1:\d+\/bb:1\n127\.0\.0\.1:\d+\/bb:1\n$/);
    assert.doesNotMatch(pulled, /\x1b\[|Downloading|\[=/);
    assert.equal(ok(env.berth(['pull', '-q', `${reg!.host}/bb:1`])), `${reg!.host}/bb:1\n`);
  });

  test('pull of a missing tag exits 1 with the error', () => {
    const r = env.berth(['pull', `${reg!.host}/bb:nope`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found|manifest unknown/);
  });

  test('same pull and push output as the docker CLI', { skip: !hasDocker && 'docker CLI not installed' }, () => {
    const ref = `${reg!.host}/bb:1`;
    ok(env.berth(['rmi', ref]));
    const d = env.docker(['pull', ref]);
    ok(env.berth(['rmi', ref]));
    const b = env.berth(['pull', ref]);
    assert.deepEqual(b, d);
    assert.deepEqual(env.berth(['push', ref]), env.docker(['push', ref]));
  });

  test('logout removes the credentials', () => {
    assert.equal(ok(env.berth(['logout', reg!.host])), `Removing login credentials for ${reg!.host}\n`);
    const cfg = JSON.parse(fs.readFileSync(path.join(env.dir, 'config', 'config.json'), 'utf8'));
    assert.equal(cfg.auths[reg!.host], undefined);
  });
});
