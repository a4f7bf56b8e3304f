// End-to-end: bin/berth on a real pseudo-terminal (python3's pty module, see PtySession in
// helpers.ts) against a temporary berthd, as a user at a terminal drives it: run -it with the
// detach keys then attach, the window size and its changes, the terminal modes, signal
// proxying, exec -it. Where the docker CLI is installed, it runs the same detach and signal
// scenarios on the same daemon: the reference for what the client prints and its exit status.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { busyboxSuite, BERTH, Env, PtySession, hasDocker, hasPython3, ok } from './helpers';

const env = new Env();
const berth = (args: string[], input?: string | Buffer) => env.berth(args, input);
const PREFIX = `berth-test-${process.pid}`;
const DETACH = '\x10\x11'; // ctrl-p ctrl-q
/** busybox sh's interactive prompt (after the line editor's reset sequence, if any). */
const PROMPT = /\/ # (\x1b\[[0-9;]*[A-Za-z])*$/;

busyboxSuite(env, () => assert.ok(hasPython3, 'python3 with its pty, fcntl and termios modules is needed for the terminal tests'));

/** The docker CLI's environment for the same daemon (the reference runs). */
const dockerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: `unix://${env.sock}`, DOCKER_CONFIG: path.join(env.dir, 'config') });

/**
 * At the shell prompt of `s`, the detach keys: the client leaves as attach and exec do, with
 * docker's "read escape sequence" and exit 1.
 */
async function detachAtPrompt(s: PtySession): Promise<void> {
  await s.expect(PROMPT);
  s.write(DETACH);
  assert.deepEqual(await s.exit(), { code: 1, signal: null }, s.describe());
  assert.match(s.output, /read escape sequence\r\n$/);
}

function state(name: string): string {
  return ok(berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name])).trim();
}

/** Type `cmd` until `want` shows after it (the daemon applies some changes asynchronously). */
async function retype(s: PtySession, cmd: string, want: RegExp, tries = 20): Promise<void> {
  for (let i = 0; ; i++) {
    const from = s.output.length;
    s.write(cmd);
    try {
      await s.expect(want, 500, from);
      return;
    } catch (e) {
      if (i + 1 >= tries) throw e;
    }
  }
}

/**
 * Resize the terminal while the container is silent, and leave it silent for a moment, so the
 * size the test reads next is the one it set (resizes under output are tested in
 * test/api/containers.test.ts).
 */
async function resizeQuietly(s: PtySession, rows: number, cols: number): Promise<void> {
  await s.idle(150);
  s.resize(rows, cols);
  await new Promise((r) => setTimeout(r, 300));
}

describe('berth on a terminal', () => {
  test('run -it: type, detach with ctrl-p ctrl-q (exit 0, still running), attach: detach again, then exit 3', async (t) => {
    const name = `${PREFIX}-it`;
    const sessions: PtySession[] = [];
    try {
      const run = await PtySession.berth(env, ['run', '-it', '--name', name, 'busybox', 'sh']);
      sessions.push(run);
      await run.expect(PROMPT);
      run.write('echo typed-$((6*7))\r');
      await run.expect(/typed-42\r\n/);
      // The local terminal is raw as docker's MakeRaw makes it (no output processing): the
      // container's own tty already turned "\n" into "\r\n", so no "\r\r\n" here.
      assert.doesNotMatch(run.output, /\r\r\n/, run.describe());
      const before = run.output.length;
      run.write(DETACH);
      const detached = await run.exit();
      assert.deepEqual(detached, { code: 0, signal: null }, run.describe());
      // docker run prints nothing on a detach (the escape error is its clean exit).
      assert.doesNotMatch(run.output.slice(before), /read escape sequence/);
      assert.equal(ok(berth(['ps', '--filter', `name=${name}`, '--format', '{{.Names}} {{.State}}'])), `${name} running\n`);
      // Attaching a tty container needs a terminal on stdin (docker's CheckTty), as docker says.
      const piped = berth(['attach', name]);
      assert.deepEqual([piped.code, piped.stderr], [1, 'the input device is not a TTY\n']);
      if (hasDocker) {
        const dp = env.docker(['attach', name]);
        assert.deepEqual([dp.code, dp.stderr], [1, 'the input device is not a TTY\n']);
      }

      // attach: docker's resize nudge makes the shell redraw its prompt; the detach keys now end
      // the client with docker attach's "read escape sequence" error (exit 1).
      const a1 = await PtySession.berth(env, ['attach', name]);
      sessions.push(a1);
      await a1.expect(PROMPT);
      a1.write('echo attached-$((40+2))\r');
      await a1.expect(/attached-42\r\n/);
      a1.write(DETACH);
      assert.deepEqual(await a1.exit(), { code: 1, signal: null }, a1.describe());
      assert.match(a1.output, /read escape sequence\r\n$/);
      assert.equal(state(name), 'running 0');

      const a2 = await PtySession.berth(env, ['attach', name]);
      sessions.push(a2);
      await a2.expect(PROMPT);
      a2.write('exit 3\r');
      assert.deepEqual(await a2.exit(), { code: 3, signal: null }, a2.describe());
      assert.equal(state(name), 'exited 3');

      if (hasDocker) {
        // The reference: the docker CLI on the same daemon detaches and reports the same way.
        const dname = `${name}-docker`;
        ok(berth(['run', '-dit', '--name', dname, 'busybox', 'sh']));
        const d = await PtySession.spawn(['docker', 'attach', dname], dockerEnv());
        sessions.push(d);
        await detachAtPrompt(d);
      } else t.diagnostic('docker CLI not installed: no reference run');
    } finally {
      for (const s of sessions) await s.close();
      berth(['rm', '-f', name, `${name}-docker`]);
    }
  });

  test('run -it: the window size at start (40x120) and after a resize (TIOCSWINSZ + SIGWINCH)', async () => {
    const name = `${PREFIX}-size`;
    let s: PtySession | undefined;
    try {
      s = await PtySession.berth(env, ['run', '-it', '--rm', '--name', name, 'busybox', 'sh'], { rows: 40, cols: 120 });
      await s.expect(PROMPT);
      const from = s.output.length;
      s.write('stty size\r');
      // The console size is part of the create request: right from the first command.
      await s.expect(/\r+\n40 120\r+\n/, 10_000, from);
      // Each resize on a still screen, then typed after a pause: berthd loses a resize that
      // meets container output (see resizeQuietly).
      await resizeQuietly(s, 50, 100);
      await retype(s, 'stty size\r', /\r+\n50 100\r+\n/);
      await resizeQuietly(s, 33, 91);
      await retype(s, 'stty size\r', /\r+\n33 91\r+\n/);
      s.write('exit\r');
      assert.deepEqual(await s.exit(), { code: 0, signal: null }, s.describe());
      // --rm: gone once the client has returned.
      assert.equal(ok(berth(['ps', '-aq', '--filter', `name=${name}`])), '');
    } finally {
      await s?.close();
      berth(['rm', '-f', name]);
    }
  });

  test('run -it leaves the terminal settings as it found them (raw while attached, restored after)', async () => {
    // A shell on the pty prints `stty -a` before berth, while it is attached (from a background
    // job: raw means no echo, no icanon, no output processing) and after it: "after" must equal
    // "before".
    const b = `"${process.execPath}" "${BERTH}"`;
    const poll = `for i in $(seq 100); do s=$(stty -a </dev/tty); echo "$s" | grep -q -- -icanon && echo "$s" | grep -q -- -opost && break; sleep 0.05; done; echo "$s"`;
    const script = `stty -a; echo =during=; (${poll}) & ${b} run -it --rm busybox sh -c 'sleep 2; echo in-container'; wait; echo =after=; stty -a`;
    let s: PtySession | undefined;
    try {
      s = await PtySession.spawn(['sh', '-c', script], env.berthEnv());
      assert.deepEqual(await s.exit(), { code: 0, signal: null }, s.describe());
      const out = s.output.replace(/\r/g, '');
      const [before, duringAll, after] = out.split(/=during=\n|=after=\n/);
      assert.ok(before && duringAll && after, s.describe());
      assert.match(duringAll, /in-container/);
      const flags = (text: string) => new Set(text.split(/[\s;]+/).filter((w) => /^-?[a-z]+\d?$/.test(w)));
      const raw = flags(duringAll);
      for (const f of ['-icanon', '-echo', '-isig', '-opost', '-icrnl', '-ixon']) assert.ok(raw.has(f), `${f} while attached:\n${duringAll}`);
      assert.equal(after.trim(), before.trim());
    } finally {
      await s?.close();
    }
  });

  test('--sig-proxy: SIGTERM to the client reaches the container (exit 7), with a tty too; with --sig-proxy=false it does not', async () => {
    const script = 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done';
    const start = (name: string, extra: string[]) => {
      const p = spawn(process.execPath, [BERTH, 'run', ...extra, '--name', name, 'busybox', 'sh', '-c', script], { env: env.berthEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout!.on('data', (c) => (out += c));
      p.stderr!.on('data', (c) => (err += c));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('close', (code, signal) => r({ code, signal })));
      const waitFor = async (re: RegExp, ms: number) => {
        for (const end = Date.now() + ms; !re.test(out); ) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${re}: stdout ${JSON.stringify(out)} stderr ${JSON.stringify(err)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const exit = async (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          return await Promise.race([
            exited,
            new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`berth run did not exit: stdout ${JSON.stringify(out)} stderr ${JSON.stringify(err)}`)), ms))),
          ]);
        } finally {
          clearTimeout(timer);
        }
      };
      return { p, exit, waitFor, out: () => out, err: () => err };
    };
    const proxied = `${PREFIX}-sig`;
    const unproxied = `${PREFIX}-nosig`;
    const ttyName = `${PREFIX}-sigtty`;
    const procs: Array<ReturnType<typeof start>> = [];
    const sessions: PtySession[] = [];
    try {
      const a = start(proxied, []);
      procs.push(a);
      await a.waitFor(/^ready\n/, 15_000);
      a.p.kill('SIGTERM');
      const ea = await a.exit(15_000);
      assert.deepEqual(ea, { code: 7, signal: null }, a.err());
      assert.equal(a.out(), 'ready\ngot TERM\n');
      assert.equal(state(proxied), 'exited 7');

      const b = start(unproxied, ['--sig-proxy=false']);
      procs.push(b);
      await b.waitFor(/^ready\n/, 15_000);
      b.p.kill('SIGTERM');
      const eb = await b.exit(15_000);
      // Not proxied: the client dies of the signal, the container goes on untouched.
      assert.deepEqual(eb, { code: null, signal: 'SIGTERM' });
      assert.equal(b.out(), 'ready\n');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(state(unproxied), 'running 0');
      assert.equal(ok(berth(['logs', unproxied])), 'ready\n');

      // docker run proxies signals with a tty too: SIGTERM (or the SIGHUP of a closed terminal)
      // to the client reaches the container's process.
      const tty = await PtySession.berth(env, ['run', '-it', '--name', ttyName, 'busybox', 'sh', '-c', script]);
      sessions.push(tty);
      await tty.expect(/ready\r\n/, 15_000);
      process.kill(tty.pid, 'SIGTERM');
      assert.deepEqual(await tty.exit(), { code: 7, signal: null }, tty.describe());
      assert.match(tty.output, /ready\r\ngot TERM\r\n/);
      assert.equal(state(ttyName), 'exited 7');
      if (hasDocker) {
        const dname = `${ttyName}-docker`;
        const d = await PtySession.spawn(['docker', 'run', '-it', '--name', dname, 'busybox', 'sh', '-c', script], dockerEnv());
        sessions.push(d);
        await d.expect(/ready\r\n/, 15_000);
        process.kill(d.pid, 'SIGTERM');
        assert.deepEqual(await d.exit(), { code: 7, signal: null }, d.describe());
        assert.equal(state(dname), 'exited 7');
      }
    } finally {
      for (const p of procs) if (p.p.exitCode === null && p.p.signalCode === null) p.p.kill('SIGKILL');
      for (const s of sessions) await s.close();
      berth(['rm', '-f', proxied, unproxied, ttyName, `${ttyName}-docker`]);
    }
  });

  test('exec -it: a terminal inside (tty, stty size), exit returns its status; detach keys as docker exec', async (t) => {
    const name = `${PREFIX}-exec`;
    const sessions: PtySession[] = [];
    try {
      ok(berth(['run', '-d', '--name', name, 'busybox', 'sleep', '300']));
      const s = await PtySession.berth(env, ['exec', '-it', name, 'sh'], { rows: 30, cols: 100 });
      sessions.push(s);
      await s.expect(PROMPT);
      const from = s.output.length;
      s.write('tty; stty size\r');
      await s.expect(/\r+\n\/dev\/pts\/\d+\r+\n30 100\r+\n/, 10_000, from);
      s.write('exit\r');
      assert.deepEqual(await s.exit(), { code: 0, signal: null }, s.describe());

      const s2 = await PtySession.berth(env, ['exec', '-it', name, 'sh']);
      sessions.push(s2);
      await s2.expect(PROMPT);
      s2.write('exit 4\r');
      assert.deepEqual(await s2.exit(), { code: 4, signal: null }, s2.describe());

      // docker exec reports a detach as its "read escape sequence" error, exit 1.
      const s3 = await PtySession.berth(env, ['exec', '-it', name, 'sh']);
      sessions.push(s3);
      await detachAtPrompt(s3);
      assert.equal(state(name), 'running 0');
      if (hasDocker) {
        const d = await PtySession.spawn(['docker', 'exec', '-it', name, 'sh'], dockerEnv());
        sessions.push(d);
        await detachAtPrompt(d);
      } else t.diagnostic('docker CLI not installed: no reference run');
    } finally {
      for (const s of sessions) await s.close();
      berth(['rm', '-f', name]);
    }
  });
});
