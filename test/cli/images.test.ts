// End-to-end: the berth CLI (bin/berth) against a real berthd on a temporary socket.
// Where the docker CLI is installed, its output for the same daemon is the reference:
// table headers and columns must match it exactly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BERTH, Env, hasDocker, header, ok } from './helpers';

const env = new Env();
const berth = (args: string[], input?: string | Buffer) => env.berth(args, input);
const docker = (args: string[]) => env.docker(args);
let dir = '';
let tarball = '';

before(async () => {
  await env.start();
  dir = env.dir;
  tarball = env.tarball;
});

after(() => env.stop());

describe('berth image commands against berthd', () => {
  let id1 = '';

  test('import a tarball (file and stdin with --change/--message)', () => {
    const out = ok(berth(['import', tarball, 'bb:1']));
    assert.match(out, /^sha256:[0-9a-f]{64}\n$/);
    id1 = out.trim();
    const out2 = ok(berth(['import', '-c', 'CMD ["sh"]', '-m', 'from stdin', '-', 'bb:stdin'], fs.readFileSync(tarball)));
    assert.match(out2, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(ok(berth(['image', 'inspect', '-f', '{{json .Config.Cmd}}', 'bb:stdin'])), '["sh"]\n');
    assert.equal(ok(berth(['history', '--format', '{{.Comment}}', 'bb:stdin'])), 'from stdin\n');
  });

  test('images: default table, -q, --digests, --no-trunc, --format, filters', () => {
    const table = ok(berth(['images']));
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^REPOSITORY\s{3,}TAG\s{3,}IMAGE ID\s{3,}CREATED\s{3,}SIZE$/);
    assert.ok(lines.some((l) => /^bb\s+1\s+[0-9a-f]{12}\s+.+ ago\s+\S+B$/.test(l)), table);
    // columns start at the same offsets on every line (tabwriter alignment)
    const col = (l: string) => l.indexOf(lines[0]!.includes('IMAGE ID') ? l.match(/[0-9a-f]{12}|IMAGE ID/)![0] : '');
    for (const l of lines) assert.equal(col(l), col(lines[0]!), table);
    assert.ok(ok(berth(['images', '-q'])).split('\n').includes(id1.slice(7, 19)));
    assert.ok(ok(berth(['images', '-q', '--no-trunc'])).split('\n').includes(id1));
    assert.match(header(ok(berth(['images', '--digests']))), /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.equal(ok(berth(['images', '--format', '{{.Repository}}:{{.Tag}}', 'bb:1'])), 'bb:1\n');
    assert.equal(ok(berth(['images', '--filter', 'reference=bb:1', '--format', '{{.Repository}}:{{.Tag}}'])), 'bb:1\n');
    assert.equal(ok(berth(['images', '--filter', 'dangling=true', '-q'])), '');
    const json = JSON.parse(ok(berth(['images', '--format', 'json', 'bb:1'])).trim());
    assert.deepEqual(Object.keys(json), ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']);
    assert.equal(json.Digest, '<none>');
    assert.match(header(ok(berth(['images', '--format', 'table {{.ID}}\t{{.CreatedSince}}\t{{.Size}}']))), /^IMAGE ID\s+CREATED\s+SIZE$/);
  });

  test('tag, history, inspect -f', () => {
    assert.equal(ok(berth(['tag', 'bb:1', 'example.com/x/bb:2'])), '');
    const refs = ok(berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n');
    assert.ok(refs.includes('example.com/x/bb:2') && refs.includes('bb:1'), refs.join(' '));
    assert.equal(ok(berth(['rmi', 'example.com/x/bb:2'])), 'Untagged: example.com/x/bb:2\n');
    const hist = ok(berth(['history', 'bb:1']));
    assert.match(header(hist), /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.equal(ok(berth(['history', '-q', '--no-trunc', 'bb:1'])).split('\n')[0], id1);
    assert.match(ok(berth(['history', '-H=false', '--format', '{{.CreatedSince}} {{.Size}}', 'bb:1'])), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[-+]\d\d:\d\d) \d+\n/);
    assert.equal(ok(berth(['image', 'inspect', '-f', '{{.Id}}', 'bb:1'])), id1 + '\n');
    const arr = JSON.parse(ok(berth(['image', 'inspect', 'bb:1', 'bb:stdin'])));
    assert.equal(arr.length, 2);
    assert.equal(arr[0].Id, id1);
    assert.match(ok(berth(['image', 'inspect', 'bb:1'])), /^\[\n    \{\n        "Id": "sha256:/);
  });

  test('save -o and load -i round trip; save refuses nothing when redirected', () => {
    const out = path.join(dir, 'saved.tar');
    assert.equal(ok(berth(['save', '-o', out, 'bb:1'])), '');
    assert.ok(fs.statSync(out).size > 1024);
    ok(berth(['rmi', 'bb:1']));
    assert.equal(berth(['image', 'inspect', 'bb:1']).code, 1);
    assert.equal(ok(berth(['load', '-i', out])), 'Loaded image: bb:1\n');
    assert.equal(ok(berth(['image', 'inspect', '-f', '{{.Id}}', 'bb:1'])), id1 + '\n');
    assert.equal(ok(berth(['load'], fs.readFileSync(out))), 'Loaded image: bb:1\n');
  });

  test('images REPO lists only the matching tags of an image (moby narrows RepoTags)', () => {
    ok(berth(['tag', 'bb:1', 'example.com/x/bb:3']));
    try {
      assert.equal(ok(berth(['images', '--format', '{{.Repository}}:{{.Tag}}', 'example.com/x/bb'])), 'example.com/x/bb:3\n');
    } finally {
      berth(['rmi', 'example.com/x/bb:3']);
    }
  });

  test('load keeps the other tags of the image it brings back', () => {
    ok(berth(['import', tarball, 'u:1']));
    ok(berth(['tag', 'u:1', 'example.com/z/u:2']));
    ok(berth(['tag', 'u:1', 'u:3']));
    const out = path.join(dir, 'u.tar');
    ok(berth(['save', '-o', out, 'u:1']));
    ok(berth(['rmi', 'u:1']));
    ok(berth(['load', '-i', out]));
    try {
      const refs = ok(berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n');
      assert.ok(refs.includes('example.com/z/u:2') && refs.includes('u:3'), refs.join(' '));
    } finally {
      berth(['rmi', '-f', 'u:1', 'u:3', 'example.com/z/u:2']);
    }
  });

  test('rmi and prune -af', () => {
    ok(berth(['tag', 'bb:1', 'bb:gone']));
    const pruned = ok(berth(['image', 'prune', '-af']));
    assert.match(pruned, /^Deleted Images:\n(untagged: \S+\n|deleted: sha256:[0-9a-f]{64}\n)+\nTotal reclaimed space: \S+B\n$/);
    assert.equal(ok(berth(['images', '-q'])), '');
    assert.equal(ok(berth(['image', 'prune', '-f'])), 'Total reclaimed space: 0B\n');
    // without -f it asks; "n" (or EOF) cancels with exit 0
    const asked = berth(['image', 'prune'], 'n\n');
    assert.equal(asked.code, 0);
    assert.equal(asked.stdout, 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
  });

  test('errors: unknown image exits 1 with the daemon message, unknown flag exits 125', () => {
    const r = berth(['history', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: No such image: nope(:latest)?\n$/);
    const i = berth(['image', 'inspect', 'nope']);
    assert.equal(i.code, 1);
    assert.equal(i.stdout, '[]\n');
    const f = berth(['images', '--bogus']);
    assert.equal(f.code, 125);
    assert.equal(f.stderr, "unknown flag: --bogus\n\nUsage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'berth images --help' for more information\n");
    const a = berth(['tag', 'x']);
    assert.equal(a.code, 1);
    assert.match(a.stderr, /^berth: 'berth tag' requires 2 arguments/);
    const c = spawnSync(process.execPath, [BERTH, 'images'], { env: { ...process.env, BERTH_HOST: `unix://${dir}/none.sock` }, encoding: 'utf8' });
    assert.equal(c.status, 1);
    assert.match(c.stderr, /^Cannot connect to the berth daemon at unix:\/\/.*none\.sock\. Is berthd running\?/);
  });

  test('same output as the docker CLI for the same daemon', { skip: !hasDocker && 'docker CLI not installed' }, () => {
    ok(berth(['import', tarball, 'cmp:1']));
    ok(berth(['import', tarball]));
    for (const args of [
      ['images'],
      ['images', '--digests'],
      ['images', '-a', '--no-trunc'],
      ['images', '-q'],
      ['images', '--format', 'json'],
      ['images', '--format', 'table {{.Repository}}\t{{.ID}}\t{{.CreatedAt}}'],
      ['history', 'cmp:1'],
      ['history', '--no-trunc', '-H=false', 'cmp:1'],
      ['image', 'inspect', 'cmp:1'],
      ['image', 'inspect', '-f', '{{.Id}} {{json .RootFS}} {{.Config.Cmd}}', 'cmp:1'],
      ['history', 'nope'],
    ]) {
      const b = berth(args);
      const d = docker(args);
      // "N seconds ago" may tick between the two runs, and change the column width with it
      const norm = (s: string) => s.replace(/(Less than a second|\d+ seconds?|About a minute) ago/g, 'X ago').replace(/ {2,}/g, '  ');
      assert.equal(norm(b.stdout), norm(d.stdout), `stdout of ${args.join(' ')}`);
      assert.equal(b.stderr, d.stderr, `stderr of ${args.join(' ')}`);
      assert.equal(b.code, d.code, `exit of ${args.join(' ')}`);
    }
  });
});
