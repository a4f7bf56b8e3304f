import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyConfigFile, ConfigError, defaultConfig, parseDaemonArgs } from './config';

function withFile(text: string, fn: (file: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-cfg-'));
  try {
    const f = path.join(dir, 'daemon.json');
    fs.writeFileSync(f, text);
    fn(f);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults are Docker-shaped paths under berth names', () => {
  const c = parseDaemonArgs(['--config-file', '/dev/null']);
  assert.notEqual(c, 'help');
  if (c === 'help') return;
  assert.equal(c.dataRoot, '/var/lib/berth');
  assert.deepEqual(c.hosts, ['unix:///run/berth/berth.sock']);
  assert.equal(c.pidfile, '/run/berth/berthd.pid');
  assert.equal(c.liveRestore, true);
});

test('daemon.json keys use Docker names; flags win over the file', () => {
  withFile(JSON.stringify({ 'data-root': '/srv/b', 'storage-driver': 'overlay2', 'insecure-registries': ['reg:5000'], 'live-restore': false, 'log-opts': { 'max-size': '1m' } }), (f) => {
    const c = parseDaemonArgs(['--config-file', f, '--data-root=/srv/flag', '-s', 'vfs']);
    if (c === 'help') throw new Error('help');
    assert.equal(c.dataRoot, '/srv/flag');
    assert.equal(c.storageDriver, 'vfs');
    assert.deepEqual(c.insecureRegistries, ['reg:5000']);
    assert.equal(c.liveRestore, false);
  });
});

test('an explicit exec root moves the socket and pid file with it', () => {
  const c = parseDaemonArgs(['--config-file', '/dev/null', '--exec-root', '/tmp/x']);
  if (c === 'help') throw new Error('help');
  assert.deepEqual(c.hosts, ['unix:///tmp/x/berth.sock']);
  assert.equal(c.pidfile, '/tmp/x/berthd.pid');
});

test('bad configuration is refused with the key named', () => {
  const c = defaultConfig();
  assert.throws(() => applyConfigFile(c, '{"data-rot": "/x"}', 'f.json'), /unknown key "data-rot"/);
  assert.throws(() => applyConfigFile(c, '{"data-root": "rel/x"}', 'f.json'), /"data-root" must be an absolute path/);
  assert.throws(() => applyConfigFile(c, '{"storage-driver": "zfs"}', 'f.json'), /unsupported storage driver "zfs"/);
  assert.throws(() => applyConfigFile(c, '{"hosts": "unix:///a"}', 'f.json'), /must be a list of strings/);
  assert.throws(() => applyConfigFile(c, '{', 'f.json'), /f\.json is not valid JSON/);
  assert.throws(() => parseDaemonArgs(['--config-file', '/dev/null', '-H', 'tcp://0.0.0.0:2375']), /unix sockets only/);
  assert.throws(() => parseDaemonArgs(['--config-file', '/dev/null', '--bogus']), ConfigError);
  assert.throws(() => parseDaemonArgs(['--config-file', '/nonexistent/daemon.json']), /cannot read \/nonexistent\/daemon\.json/);
  assert.equal(parseDaemonArgs(['--help']), 'help');
});
