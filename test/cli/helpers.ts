// Shared by the CLI end-to-end tests: a berthd on a temporary socket, a busybox tarball,
// and runners for bin/berth and (as the reference) the docker CLI on the same socket.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const BERTH = path.join(REPO, 'bin', 'berth');
const BERTHD = path.join(REPO, 'bin', 'berthd');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const hasDocker = spawnSync('docker', ['--version'], { encoding: 'utf8' }).status === 0;

export class Env {
  dir = '';
  sock = '';
  tarball = '';
  private daemon: ChildProcess | undefined;

  /** Make the temp dir and tarball, start berthd, wait for /_ping. */
  async start(): Promise<void> {
    assert.ok(fs.existsSync(path.join(REPO, 'dist', 'berth.js')), 'dist/berth.js missing: run the bundle step (esbuild src/cli/main.ts ...)');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-cli-'));
    this.sock = path.join(this.dir, 'berthd.sock');
    const rootfs = path.join(this.dir, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
    assert.ok(busybox, 'busybox-static is needed');
    fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'sh'));
    this.tarball = path.join(this.dir, 'busybox.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', this.tarball, 'bin']);
    const d = spawn(process.execPath, [BERTHD, '--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '-H', `unix://${this.sock}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.daemon = d;
    let log = '';
    d.stderr!.on('data', (c) => (log += c));
    const deadline = Date.now() + 15_000;
    while (!(fs.existsSync(this.sock) && (await this.ping()))) {
      if (Date.now() > deadline || d.exitCode !== null) throw new Error(`berthd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM berthd, then remove the temp dir (refusing if anything is still mounted in it). */
  async stop(): Promise<void> {
    const d = this.daemon;
    if (d && d.exitCode === null) {
      const exited = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer); // a pending timer would keep the test process alive for 10 s more
      if (d.exitCode === null) d.kill('SIGKILL');
    }
    if (this.dir) {
      const mounted = fs
        .readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(this.dir + '/'));
      assert.deepEqual(mounted, [], 'berthd left mounts behind');
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get({ socketPath: this.sock, path: '/_ping' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
  }

  /** The environment bin/berth runs in: this daemon and a private config dir. */
  berthEnv(): NodeJS.ProcessEnv {
    return { ...process.env, BERTH_HOST: `unix://${this.sock}`, BERTH_CONFIG: path.join(this.dir, 'config'), DOCKER_HOST: '' };
  }

  /** Run bin/berth with this daemon and a private config dir. */
  berth(args: string[], input?: string | Buffer): Run {
    const r = spawnSync(process.execPath, [BERTH, ...args], {
      env: this.berthEnv(),
      input: input ?? '',
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Run the docker CLI against the same daemon, sharing berth's credentials file. */
  docker(args: string[]): Run {
    const r = spawnSync('docker', args, {
      env: { ...process.env, DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'config') },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
}

export function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export function header(out: string): string {
  return out.split('\n')[0]!;
}

// ---- a real pseudo-terminal ------------------------------------------------------------------

/**
 * The relay behind PtySession (python3's pty module; no npm dependency): forks argv on a new
 * pty whose window is ROWS x COLS (set in the child before exec, so the program sees it from
 * its first instruction), copies the master to stdout and stdin to the master, and reads
 * "resize R C" lines on fd 3 (TIOCSWINSZ on the master, then SIGWINCH to the child, as a
 * terminal emulator does). On stderr: {"pid":N} first, {"exit":N|null,"signal":N|null} last.
 */
const PTY_RELAY = String.raw`
import fcntl, json, os, pty, select, signal, struct, sys, termios
rows, cols, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    try:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
def report(o):
    os.write(2, (json.dumps(o) + '\n').encode())
def write_all(fd, b):
    while b:
        b = b[os.write(fd, b):]
report({'pid': pid})
inputs, ctl = [master, 0, 3], b''
while True:
    ready = select.select(inputs, [], [])[0]
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b''
        if not data:
            break
        write_all(1, data)
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            write_all(master, data)
        else:
            inputs.remove(0)
    if 3 in ready:
        data = os.read(3, 4096)
        if not data:
            inputs.remove(3)
        ctl += data
        while b'\n' in ctl:
            line, ctl = ctl.split(b'\n', 1)
            words = line.split()
            if words and words[0] == b'resize':
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', int(words[1]), int(words[2]), 0, 0))
                os.kill(pid, signal.SIGWINCH)
_, st = os.waitpid(pid, 0)
report({'exit': os.WEXITSTATUS(st) if os.WIFEXITED(st) else None, 'signal': os.WTERMSIG(st) if os.WIFSIGNALED(st) else None})
`;

export interface PtyExit {
  code: number | null;
  /** The signal number that ended the program, null if it exited. */
  signal: number | null;
}

export const hasPython3 = spawnSync('python3', ['-c', 'import pty, fcntl, termios'], { encoding: 'utf8' }).status === 0;

/** bin/berth (or any program) on its own pseudo-terminal, driven like a user at a terminal. */
export class PtySession {
  /** Everything the program wrote to its terminal (with the tty's \r\n and echoes). */
  output = '';
  /** The pid of the program on the pty (the relay's child). */
  pid = 0;
  readonly exited: Promise<PtyExit>;
  private readonly relay: ChildProcess;
  private relayErr = '';
  private waiters: Array<() => void> = [];

  private constructor(argv: string[], env: NodeJS.ProcessEnv, rows: number, cols: number) {
    this.relay = spawn('python3', ['-c', PTY_RELAY, String(rows), String(cols), ...argv], { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    // Keys typed after the program is gone: nothing to do (EPIPE).
    this.relay.stdin!.on('error', () => {});
    (this.relay.stdio[3] as NodeJS.WritableStream).on('error', () => {});
    this.relay.stdout!.on('data', (c: Buffer) => {
      this.output += c.toString('utf8');
      this.notify();
    });
    this.relay.stderr!.on('data', (c: Buffer) => {
      this.relayErr += c.toString('utf8');
      const m = /\{"pid": (\d+)\}/.exec(this.relayErr);
      if (m && !this.pid) this.pid = Number(m[1]);
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      this.relay.on('close', (code) => {
        const m = /\{"exit": (null|\d+), "signal": (null|\d+)\}/.exec(this.relayErr);
        if (m) resolve({ code: m[1] === 'null' ? null : Number(m[1]), signal: m[2] === 'null' ? null : Number(m[2]) });
        else resolve({ code: null, signal: null }); // the relay itself failed: see describe()
        if (!m && code !== 0) this.relayErr += `\n(pty relay exited ${code})`;
        this.notify();
      });
    });
  }

  /** Start `berth ARGS` for `env`'s daemon on a ROWS x COLS terminal; resolves once it runs. */
  static berth(env: Env, args: string[], size: { rows: number; cols: number } = { rows: 24, cols: 80 }): Promise<PtySession> {
    return PtySession.spawn([process.execPath, BERTH, ...args], env.berthEnv(), size);
  }

  /** Start any program (looked up in PATH) on a ROWS x COLS terminal; resolves once it runs. */
  static async spawn(argv: string[], environ: NodeJS.ProcessEnv, size: { rows: number; cols: number } = { rows: 24, cols: 80 }): Promise<PtySession> {
    const s = new PtySession(argv, environ, size.rows, size.cols);
    await s.until(() => s.pid > 0, 10_000, 'the pty relay to start the program');
    return s;
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolve when cond() holds, re-checked on every output; reject with the screen after `ms`. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${this.describe()}`));
      }, ms);
      const check = () => {
        if (settled) return;
        if (cond()) {
          settled = true;
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Wait until the output after offset `from` matches `re`; the match. */
  async expect(re: RegExp, ms = 10_000, from = 0): Promise<RegExpExecArray> {
    let m: RegExpExecArray | null = null;
    await this.until(() => (m = re.exec(this.output.slice(from))) !== null, ms, `${re} in the terminal output`);
    return m!;
  }

  /** Resolve once the program has written nothing for `ms` (the screen is still). */
  async idle(ms = 200, max = 10_000): Promise<void> {
    const end = Date.now() + max;
    for (let seen = -1; seen !== this.output.length; ) {
      if (Date.now() > end) throw new Error(`the terminal did not go quiet within ${max} ms\n${this.describe()}`);
      seen = this.output.length;
      await new Promise((r) => setTimeout(r, ms));
    }
  }

  /** Type on the terminal's keyboard. */
  write(s: string): void {
    this.relay.stdin!.write(s);
  }

  /** Change the terminal's window size, as a terminal emulator does (SIGWINCH to the program). */
  resize(rows: number, cols: number): void {
    (this.relay.stdio[3] as NodeJS.WritableStream).write(`resize ${rows} ${cols}\n`);
  }

  /** How the program ended; rejects (with the screen) if it runs on for `ms`. */
  async exit(ms = 15_000): Promise<PtyExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for the program to exit\n${this.describe()}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The output so far and the relay's own messages, for assertion messages. */
  describe(): string {
    return `--- terminal output ---\n${JSON.stringify(this.output)}\n--- pty relay ---\n${this.relayErr}`;
  }

  /** SIGKILL the program if it still runs and close the relay (for `finally`). */
  async close(): Promise<void> {
    if (this.relay.exitCode === null && this.relay.signalCode === null) {
      if (this.pid) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      const t = setTimeout(() => this.relay.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
  }
}

/**
 * A CLI test file's hooks: berthd up on `env` with the full busybox imported as busybox:latest
 * (after `check`, a precondition that must hold), and at the end every container the file made
 * removed, even after a failure, and berthd stopped.
 */
export function busyboxSuite(env: Env, check?: () => void): void {
  before(async () => {
    check?.();
    await env.start();
    const tar = path.join(env.dir, 'busybox-full.tar');
    execFileSync('bash', [path.join(REPO, 'scripts', 'busybox-tarball.sh'), tar], { stdio: ['ignore', 'ignore', 'inherit'] });
    ok(env.berth(['import', tar, 'busybox:latest']));
  });
  after(async () => {
    if (env.sock) {
      const ids = env.berth(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
      if (ids.length) env.berth(['rm', '-f', ...ids]);
    }
    await env.stop();
  });
}
