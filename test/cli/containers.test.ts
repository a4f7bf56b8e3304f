// End-to-end: berth's container commands (run, ps, logs, exec, stop, rm, inspect) through
// bin/berth against a temporary berthd; where the docker CLI is installed, `docker ps` on the
// same daemon is the reference for ps output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { busyboxSuite, BERTH, Env, hasDocker, header, ok } from './helpers';

const env = new Env();
const berth = (args: string[], input?: string | Buffer) => env.berth(args, input);
const docker = (args: string[]) => env.docker(args);
const PREFIX = `bt${process.pid}`;

busyboxSuite(env);

describe('berth container commands against berthd', () => {
  test('run --rm echo: output and exit 0; the container is gone', () => {
    const r = berth(['run', '--rm', '--name', `${PREFIX}-echo`, 'busybox', 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(ok(berth(['ps', '-a', '--filter', `name=${PREFIX}-echo`, '-q'])), '');
  });

  test('run: exit status, stdout/stderr demultiplexed, 127 for a missing executable, 126 for a non-executable', () => {
    const r = berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const missing = berth(['run', '--rm', 'busybox', 'nosuchcmd']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /^berth: Error response from daemon: .*executable file not found.*\n\nRun 'berth run --help' for more information\n$/s);
    assert.equal(berth(['run', '--rm', 'busybox', '/etc/passwd']).code, 126);
  });

  test('run -i with piped stdin; -e, -w, -u, --entrypoint, --hostname, -e VAR from the client env', () => {
    assert.equal(ok(berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], 'piped\n')), 'piped\ndone\n');
    const out = ok(berth(['run', '--rm', '-e', 'A=1', '-e', 'HOME', '-w', '/tmp', '-u', '1:1', '--hostname', 'hh', 'busybox', 'sh', '-c', 'echo $A $HOME $(pwd) $(id -u):$(id -g) $(hostname)']));
    assert.equal(out, `1 ${process.env.HOME} /tmp 1:1 hh\n`);
    assert.equal(ok(berth(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'x', 'y'])), 'x y\n');
  });

  test('run -d, ps (compared with docker ps), logs, exec, inspect, stop, rm', () => {
    const name = `${PREFIX}-bg`;
    const id = ok(berth(['run', '-d', '--name', name, '-l', 'k=v', 'busybox', 'sh', '-c', 'echo started; echo warn >&2; exec sleep 60'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    try {
      const table = ok(berth(['ps']));
      assert.match(header(table), /^CONTAINER ID\s{3}IMAGE\s{3,}COMMAND\s{3,}CREATED\s{3,}STATUS\s{3,}PORTS\s{3,}NAMES$/);
      const line = table.split('\n').find((l) => l.startsWith(id.slice(0, 12)))!;
      assert.ok(line, table);
      assert.ok(line.includes('"sh -c \\"echo started…"'), line);
      assert.ok(line.endsWith(name), line);
      const fmt = '{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.Label "k"}} {{.State}} {{.Networks}}';
      const mine = ok(berth(['ps', '--filter', `name=${name}`, '--format', fmt]));
      assert.equal(mine, `${id.slice(0, 12)} ${name} busybox "sh -c \\"echo started…" v running none\n`);
      if (hasDocker) {
        assert.equal(mine, ok(docker(['ps', '--filter', `name=${name}`, '--format', fmt])));
        const cols = (h: string) => h.split(/\s{2,}/);
        assert.deepEqual(cols(header(table)), cols(header(ok(docker(['ps'])))));
        assert.equal(ok(berth(['ps', '-aq'])), ok(docker(['ps', '-aq'])));
        assert.equal(ok(berth(['ps', '-a', '--no-trunc', '--format', 'table {{.ID}}\t{{.Command}}\t{{.Names}}'])), ok(docker(['ps', '-a', '--no-trunc', '--format', 'table {{.ID}}\t{{.Command}}\t{{.Names}}'])));
      }
      let logs = berth(['logs', name]);
      for (let i = 0; i < 50 && logs.stdout === ''; i++) {
        spawnSync('sleep', ['0.1']);
        logs = berth(['logs', name]);
      }
      assert.equal(logs.code, 0);
      assert.equal(logs.stdout, 'started\n');
      assert.equal(logs.stderr, 'warn\n');
      assert.match(ok(berth(['logs', '-t', name])), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n$/);
      const ex = berth(['exec', name, 'sh', '-c', 'echo in-exec; exit 5']);
      assert.equal(ex.code, 5);
      assert.equal(ex.stdout, 'in-exec\n');
      assert.equal(ok(berth(['exec', '-i', name, 'cat'], 'via stdin\n')), 'via stdin\n');
      const pid = Number(ok(berth(['inspect', '-f', '{{.State.Pid}}', name])).trim());
      assert.ok(pid > 0);
      assert.equal(ok(berth(['container', 'inspect', '-f', '{{.Config.Labels.k}}', id])), 'v\n');
      assert.equal(ok(berth(['stop', '-t', '1', name])), `${name}\n`);
      assert.equal(ok(berth(['inspect', '-f', '{{.State.Running}}', name])), 'false\n');
      assert.equal(ok(berth(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.State}}'])), 'exited\n');
    } finally {
      berth(['rm', '-f', id]);
    }
    const gone = berth(['inspect', name]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such object/);
  });

  test('run -it under a pty gets a terminal', { skip: spawnSync('script', ['--version']).status !== 0 }, () => {
    const cmd = `BERTH_HOST=unix://${env.sock} ${process.execPath} ${BERTH} run -it --rm busybox sh -c 'tty; echo ok'`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 30_000, input: '' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // script(1) sends its VEOF char, NUL in raw mode, when its stdin ends: the tty echoes it as ^@.
    assert.match(r.stdout, /\/dev\/pts\/\d+\r*\n(\^@)?ok\r*\n/);
  });

  test('flag errors exit 125; a missing image fails after trying to pull', () => {
    const bad = berth(['run', '--bogus', 'busybox']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, "unknown flag: --bogus\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n");
    const missing = berth(['run', '--rm', '127.0.0.1:1/nosuch/image:1']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /^Unable to find image '127\.0\.0\.1:1\/nosuch\/image:1' locally\n/);
    assert.match(missing.stderr, /\n\nRun 'berth run --help' for more information\n$/);
  });

  test('create, start -a, wait, rename, diff, rm', () => {
    const id = ok(berth(['create', '--name', `${PREFIX}-c`, 'busybox', 'sh', '-c', 'echo made > /tmp/f; echo attached; exit 2'])).trim();
    try {
      const r = berth(['start', '-a', `${PREFIX}-c`]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, 'attached\n');
      assert.equal(ok(berth(['wait', id])), '2\n');
      assert.equal(ok(berth(['rename', `${PREFIX}-c`, `${PREFIX}-c2`])), '');
      assert.ok(ok(berth(['diff', `${PREFIX}-c2`])).split('\n').includes('A /tmp/f'));
    } finally {
      berth(['rm', '-f', id]);
    }
  });
});
