// The per-container monitor (native/monitor, `berth-monitor`): how berthd launches it and
// talks to it. The monitor runs the stage as its child (a StageLauncher for createContainer),
// becomes the container init's parent, logs its output in Docker's json-file format, serves
// attach clients on DIR/attach.sock and writes DIR/exit.json when the init has ended. It lives
// in its own session and needs nothing from berthd, so containers survive a berthd restart.
//
// The attach protocol (see the header of native/monitor/monitor.c):
//   monitor -> client: stdcopy frames [stream u8 (1 stdout, 2 stderr)][0 0 0][len u32 BE][payload]
//   client -> monitor: [type u8][len u32 BE][payload]: 0 stdin, 1 close stdin, 2 resize (rows, cols u16 BE)
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { REPO_ROOT, type StageLauncher } from '../kernel/stage';

export const MONITOR_BINARY = process.env.BERTH_MONITOR_BINARY ?? path.join(REPO_ROOT, 'native/build/berth-monitor');
/** berth's tini for `--init`: static, bind-mounted into the container. */
export const INIT_BINARY = process.env.BERTH_INIT_BINARY ?? path.join(REPO_ROOT, 'native/build/berth-init');

export interface MonitorOptions {
  /** The monitor's directory (made 0700 by the monitor if missing): sockets, pid and exit files. */
  dir: string;
  /** The json-file log. */
  logPath: string;
  /** Rotate when the log would exceed this many bytes (0/undefined: never). */
  logMaxSize?: number;
  /** Files kept in all, the live one included (Docker's max-file; default 1). */
  logMaxFiles?: number;
  tty: boolean;
  /** Give the container a stdin pipe that attach clients write to (docker run -i). */
  openStdin: boolean;
  /** Start the stage only once the first attach client is connected (no output is missed). */
  waitAttach?: boolean;
  /**
   * Hand the monitor an attach client of ours from the start (a socketpair, its fd 4): the
   * client misses no output, without waiting for attach.sock and connecting (exec).
   */
  attach?: AttachOptions & { connected: (client: AttachClient) => void };
}

/** unix socket paths are limited to 107 bytes; the monitor binds a temp name beside the final one. */
const SUN_PATH_MAX = 107;

export function monitorLauncher(opts: MonitorOptions): StageLauncher {
  const dir = path.resolve(opts.dir);
  if (Buffer.byteLength(path.join(dir, '.console.sock.tmp')) > SUN_PATH_MAX) {
    throw new Error(`monitor directory ${dir} is too long for a unix socket path`);
  }
  const args = ['--dir', dir, '--log', path.resolve(opts.logPath)];
  if (opts.logMaxSize && opts.logMaxSize > 0) args.push('--log-max-size', String(Math.floor(opts.logMaxSize)));
  if (opts.logMaxFiles && opts.logMaxFiles > 1) args.push('--log-max-files', String(Math.floor(opts.logMaxFiles)));
  if (opts.tty) args.push('--tty');
  if (opts.openStdin) args.push('--stdin');
  if (opts.waitAttach) args.push('--wait-attach');
  if (opts.attach) args.push('--attach-fd', '4');
  args.push('--');
  const attach = opts.attach;
  return attach ? { command: MONITOR_BINARY, args, onSocket: (sock) => attach.connected(AttachClient.fromSocket(sock, attach)), standby: true } : { command: MONITOR_BINARY, args };
}

/** Where the monitor receives the pty master (pass as createContainer's consoleSocket with a tty). */
export function consoleSocketPath(dir: string): string {
  return path.join(path.resolve(dir), 'console.sock');
}

export function attachSocketPath(dir: string): string {
  return path.join(path.resolve(dir), 'attach.sock');
}

export interface ExitRecord {
  /** Exit status, or 128+signal. */
  exitCode: number;
  /** The signal that killed the init, 0 if it exited. */
  signal: number;
  /** RFC 3339 with nanoseconds. */
  finishedAt: string;
  /** The init's host pid. */
  pid: number;
}

/** DIR/exit.json, once the container's init has ended (undefined before, or if it never ran). */
export function readExitFile(dir: string): ExitRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'exit.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(text) as Partial<ExitRecord>;
    if (typeof j.exitCode !== 'number' || typeof j.finishedAt !== 'string') return undefined;
    return { exitCode: j.exitCode, signal: j.signal ?? 0, finishedAt: j.finishedAt, pid: j.pid ?? 0 };
  } catch {
    return undefined; // written atomically: a bad file is not ours
  }
}

/** The monitor's pid while it runs (checked against /proc, so a recycled pid does not count). */
export function monitorPid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dir, 'monitor.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('--dir');
    if (i < 0 || path.resolve(argv[i + 1] ?? '') !== path.resolve(dir)) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
const T_STDIN = 0;
const T_CLOSE_STDIN = 1;
const T_RESIZE = 2;

export interface AttachOptions {
  /**
   * Pass the monitor's stdcopy frames through untouched as `frames` (for the API, which sends
   * them to a Docker client as they are) instead of emitting 'stdout'/'stderr' chunks.
   */
  raw?: boolean;
}

export interface AttachClient {
  on(event: 'stdout' | 'stderr', fn: (chunk: Buffer) => void): this;
  on(event: 'close', fn: () => void): this;
  once(event: 'stdout' | 'stderr', fn: (chunk: Buffer) => void): this;
  once(event: 'close', fn: () => void): this;
}

/** A connection to a container's monitor: its output as it is produced, and its stdin and tty size. */
export class AttachClient extends EventEmitter {
  /** Raw mode: the stdcopy-framed output. */
  readonly frames?: Readable;
  /** Resolves when the connection ends (the monitor closes it once the container has exited). */
  readonly closed: Promise<void>;
  private pending = Buffer.alloc(0);

  private constructor(private readonly sock: net.Socket, raw: boolean) {
    super();
    if (raw) {
      const pt = new PassThrough();
      this.frames = pt;
      sock.pipe(pt);
    } else {
      sock.on('data', (d: Buffer) => this.demux(d));
    }
    this.closed = new Promise((resolve) => {
      sock.once('close', () => {
        this.emit('close');
        resolve();
      });
    });
    sock.on('error', () => {
      /* 'close' follows */
    });
  }

  /** A client over a socket already connected to the monitor (see MonitorOptions.attach). */
  static fromSocket(sock: net.Socket, opts: AttachOptions = {}): AttachClient {
    return new AttachClient(sock, !!opts.raw);
  }

  static connect(dir: string, opts: AttachOptions = {}): Promise<AttachClient> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(attachSocketPath(dir));
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new AttachClient(sock, !!opts.raw));
      });
    });
  }

  private demux(d: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      const payload = buf.subarray(8, 8 + len);
      this.emit(buf[0] === STREAM_STDERR ? 'stderr' : 'stdout', payload);
      buf = buf.subarray(8 + len);
    }
    this.pending = Buffer.from(buf);
  }

  private frame(type: number, payload: Buffer): boolean {
    const h = Buffer.alloc(5);
    h[0] = type;
    h.writeUInt32BE(payload.length, 1);
    if (this.sock.destroyed) return false;
    return this.sock.write(Buffer.concat([h, payload]));
  }

  /** Bytes for the container's stdin (needs openStdin or a tty). Returns false when buffered (wait for 'drain' on the socket). */
  writeStdin(data: Buffer | string): boolean {
    return this.frame(T_STDIN, typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Closes the container's stdin once everything written before has reached it (Docker's StdinOnce). */
  closeStdin(): void {
    this.frame(T_CLOSE_STDIN, Buffer.alloc(0));
  }

  /** Sets the pty's window size (tty containers). */
  resize(rows: number, cols: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(rows & 0xffff, 0);
    p.writeUInt16BE(cols & 0xffff, 2);
    this.frame(T_RESIZE, p);
  }

  /** Resolves once what was written so far has left our buffers (flow control for writeStdin). */
  drain(): Promise<void> {
    if (!this.sock.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.sock.once('drain', () => resolve()));
  }

  /**
   * Ends our side and resolves once the monitor has read everything and closed its side (at
   * most `timeoutMs`): a resize must not be lost to a close that resets the connection while
   * the monitor still has our frame unread. Output meanwhile is discarded.
   */
  finish(timeoutMs = 1000): Promise<void> {
    this.frames?.resume();
    if (!this.sock.destroyed) this.sock.end();
    const timer = setTimeout(() => this.sock.destroy(), timeoutMs);
    return this.closed.then(() => clearTimeout(timer));
  }

  /** Detaches after sending what is queued (the container keeps running). */
  close(): void {
    if (this.sock.destroyed) return;
    this.sock.end(() => this.sock.destroy());
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }
}
