// Shared by the CLI end-to-end tests: a berthd on a temporary socket, a busybox tarball,
// and runners for bin/berth and (as the reference) the docker CLI on the same socket.
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
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
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

  /** Run bin/berth with this daemon and a private config dir. */
  berth(args: string[], input?: string | Buffer): Run {
    const r = spawnSync(process.execPath, [BERTH, ...args], {
      env: { ...process.env, BERTH_HOST: `unix://${this.sock}`, BERTH_CONFIG: path.join(this.dir, 'config'), DOCKER_HOST: '' },
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
