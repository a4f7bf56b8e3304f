/**
 * Streams of a running container on the client side, as docker's hijack.go: a hijacked attach or
 * exec-start connection, stdcopy demultiplexing of non-tty output, stdin copying (half-close at
 * EOF), raw terminal mode and tty size tracking, and the detach keys (ctrl-p ctrl-q).
 */
import type { Socket } from 'node:net';
import type { Ctx } from '../command';

/**
 * The user typed the detach sequence (term.EscapeError). `run` and `start` take it as a clean
 * exit (0, nothing printed); `attach` and `exec` return it as docker's do: "read escape
 * sequence" on stderr, exit 1.
 */
export class EscapeError extends Error {
  constructor() {
    super('read escape sequence');
  }
}

/** Split stdcopy frames: [stream, 0, 0, 0, size(BE32)] payload. */
export function stdcopyDemux(onFrame: (stream: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = (buf.length ? Buffer.concat([buf, chunk]) : chunk) as Buffer;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      onFrame(buf[0]!, buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size) as Buffer;
    }
  };
}

/** docker's detach keys: "ctrl-p,ctrl-q" → [0x10, 0x11]. */
export function parseDetachKeys(s: string): number[] {
  const out: number[] = [];
  for (const k of s.split(',')) {
    const m = /^ctrl-([a-z@\[\\\]^_])$/.exec(k);
    if (m) out.push(m[1]!.charCodeAt(0) & 0x1f);
    else if (k.length === 1) out.push(k.charCodeAt(0));
    else throw new Error(`Unknown character: '${k}'`);
  }
  return out;
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** Client-side detach key detection (terminal stdin). */
  detachKeys?: number[];
}

export function writeOut(ctx: Ctx, stream: 'stdout' | 'stderr', b: Buffer): void {
  (stream === 'stdout' ? ctx.stdout : ctx.stderr).write(b);
}

/**
 * Copy between the hijacked socket and the local streams; resolves when the output ends
 * (container exit), rejects with EscapeError on the detach keys.
 */
export function holdHijacked(ctx: Ctx, socket: Socket, head: Buffer, o: StreamOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const stdin = ctx.stdin as NodeJS.ReadStream;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (o.stdin) {
        stdin.removeListener('data', onIn);
        stdin.removeListener('end', onInEnd);
        stdin.pause();
      }
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve();
    };
    const out = o.tty
      ? (b: Buffer) => ctx.stdout.write(b)
      : stdcopyDemux((stream, payload) => {
          if (stream === 2) ctx.stderr.write(payload);
          else if (stream === 1 || stream === 0) ctx.stdout.write(payload);
        });
    if (head.length) out(head);
    socket.on('data', (b: Buffer) => out(b));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (e) => finish(e));
    let matched = 0;
    const keys = o.detachKeys ?? [];
    const onIn = (c: Buffer | string) => {
      let b = typeof c === 'string' ? Buffer.from(c) : c;
      if (keys.length) {
        // Hold back a possible prefix of the detach sequence, as term.NewEscapeProxy does.
        const pass: number[] = [];
        for (const byte of b) {
          if (byte === keys[matched]) {
            matched++;
            if (matched === keys.length) {
              if (pass.length) socket.write(Buffer.from(pass));
              finish(new EscapeError());
              return;
            }
            continue;
          }
          if (matched) pass.push(...keys.slice(0, matched));
          matched = 0;
          if (byte === keys[0]) matched = 1;
          else pass.push(byte);
        }
        b = Buffer.from(pass);
      }
      if (b.length) socket.write(b);
    };
    const onInEnd = () => {
      if (!done) socket.end();
    };
    if (o.stdin) {
      stdin.on('data', onIn);
      stdin.on('end', onInEnd);
      stdin.resume();
    }
  });
}

/**
 * Put the terminal in raw mode when stdin is one, as docker's term.MakeRaw does; returns the
 * restore function. libuv's raw mode (setRawMode) keeps output processing on, so every "\n"
 * the container's tty sends (already "\r\n" there, or a bare line feed from a full-screen
 * program) would gain a "\r" on the way out: `stty -opost` on the same terminal turns that off
 * too. setRawMode(false) restores the whole termios libuv saved, OPOST included.
 */
export function rawTerminal(ctx: Ctx, on: boolean): () => void {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  if (!on || !stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  stdin.setRawMode(true);
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const fd = (stdin as { fd?: number }).fd;
  spawnSync('stty', ['-opost'], { stdio: [typeof fd === 'number' ? fd : 0, 'ignore', 'ignore'] });
  return () => {
    try {
      stdin.setRawMode(false);
    } catch {
      /* terminal gone */
    }
  };
}

/**
 * Send the terminal size now and on SIGWINCH, one request at a time so that they reach the
 * daemon in order; returns the stop function. `nudge` first sends the size plus one row and
 * column, as docker attach does: the program in the container sees a change even when the
 * size is the same as at its last attach, and redraws (a shell prints its prompt again).
 */
export function monitorTtySize(ctx: Ctx, resize: (h: number, w: number) => Promise<unknown>, nudge = false): () => void {
  const out = ctx.stdout as NodeJS.WriteStream;
  if (!out.isTTY) return () => {};
  let queue: Promise<unknown> = Promise.resolve();
  const sendSize = (h: number, w: number) => {
    if (h > 0 || w > 0) queue = queue.then(() => resize(h, w)).catch(() => {});
  };
  const send = () => sendSize(out.rows ?? 0, out.columns ?? 0);
  if (nudge) sendSize((out.rows ?? 0) + 1, (out.columns ?? 0) + 1);
  send();
  process.on('SIGWINCH', send);
  return () => process.removeListener('SIGWINCH', send);
}
