// End-to-end: stats, top, cp, update, system df, port, completion through bin/berth against a
// temporary berthd; where the docker CLI is installed, its output on the same daemon is the
// reference for the table headers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Env, REPO, hasDocker, header, ok } from './helpers';

const env = new Env();
const berth = (args: string[], input?: string | Buffer) => env.berth(args, input);
const docker = (args: string[]) => env.docker(args);
const NAME = `bm${process.pid}`;

before(async () => {
  await env.start();
  const tar = path.join(env.dir, 'busybox-full.tar');
  execFileSync('bash', [path.join(REPO, 'scripts', 'busybox-tarball.sh'), tar], { stdio: ['ignore', 'ignore', 'inherit'] });
  ok(berth(['import', tar, 'busybox:latest']));
  ok(berth(['run', '-d', '--name', NAME, 'busybox', 'sleep', '300']));
});

after(async () => {
  if (env.sock) {
    const ids = berth(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (ids.length) berth(['rm', '-f', ...ids]);
  }
  await env.stop();
});

const cols = (h: string) => h.split(/\s{2,}/);

describe('berth stats, top, cp, update, system df, port, completion', () => {
  test('stats --no-stream: docker header, a --format line', () => {
    const table = ok(berth(['stats', '--no-stream']));
    assert.deepEqual(cols(header(table)), ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS']);
    assert.ok(table.split('\n').some((l) => l.includes(NAME)), table);
    assert.equal(ok(berth(['container', 'stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', NAME])), `${NAME} 1\n`);
    if (hasDocker) {
      assert.equal(header(table), header(ok(docker(['stats', '--no-stream']))));
      assert.equal(ok(berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', NAME])), ok(docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', NAME])));
    }
  });

  test('top: ps -ef header and the sleep process', () => {
    const out = ok(berth(['top', NAME]));
    assert.match(header(out), /^UID {17}PID {17}PPID {16}C {19}STIME {15}TTY {17}TIME {16}CMD$/);
    assert.ok(out.includes('sleep 300'), out);
    if (hasDocker) assert.equal(header(out), header(ok(docker(['top', NAME]))));
  });

  test('cp: a file into the container and back out, content kept', () => {
    const src = path.join(env.dir, 'in.txt');
    fs.writeFileSync(src, 'copied in\n');
    assert.equal(ok(berth(['cp', src, `${NAME}:/tmp/`])), '');
    assert.equal(ok(berth(['exec', NAME, 'cat', '/tmp/in.txt'])), 'copied in\n');
    ok(berth(['exec', NAME, 'sh', '-c', 'echo from container > /tmp/out.txt']));
    const dst = path.join(env.dir, 'out-copy.txt');
    assert.equal(ok(berth(['container', 'cp', `${NAME}:/tmp/out.txt`, dst])), '');
    assert.equal(fs.readFileSync(dst, 'utf8'), 'from container\n');
    const bad = berth(['cp', src, `${NAME}:/tmp/nodir/`]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'no such directory\n');
  });

  test('update --memory: printed name, reflected in inspect', () => {
    assert.equal(ok(berth(['update', '--memory', '64m', '--pids-limit', '100', NAME])), `${NAME}\n`);
    assert.equal(ok(berth(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', NAME])), `${64 * 1024 * 1024} 100\n`);
    const none = berth(['update', NAME]);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'you must provide one or more flags when using this command\n');
  });

  test('system df: docker header and rows', () => {
    const out = ok(berth(['system', 'df']));
    assert.deepEqual(cols(header(out)), ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
    assert.deepEqual(out.split('\n').slice(1, 5).map((l) => cols(l)[0]), ['Images', 'Containers', 'Local Volumes', 'Build Cache']);
    if (hasDocker) assert.equal(out, ok(docker(['system', 'df'])));
  });

  test('port: nothing for a container without published ports; docker error for a port', () => {
    assert.equal(ok(berth(['port', NAME])), '');
    const r = berth(['port', NAME, '80/tcp']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: No public port '80/tcp' published for ${NAME}\n`);
  });

  test('completion bash: commands and flags', () => {
    const out = ok(berth(['completion', 'bash']));
    assert.match(out, /\brun\b/);
    assert.ok(out.includes('--rm'), 'run --rm flag');
    assert.ok(out.includes("berth ps -a --format '{{.Names}}'"));
    assert.ok(ok(berth(['completion', 'zsh'])).startsWith('#compdef berth\n'));
  });
});
