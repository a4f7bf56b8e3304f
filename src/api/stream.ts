/**
 * Docker's stream framing and hijacking: stdcopy frames (`[stream, 0, 0, 0, len u32 BE]` +
 * payload) for non-tty output, the `101 UPGRADED` answer that turns an HTTP connection into a
 * raw bidirectional stream (attach, exec start), and the detach-keys matcher (ctrl-p ctrl-q).
 */
import type { Duplex } from 'node:stream';

export function stdcopyFrame(stream: 1 | 2, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Parses stdcopy frames from `chunk` onward; `emit` gets each (stream, payload, whole frame). */
export function stdcopyReader(emit: (stream: number, payload: Buffer, frame: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      emit(buf[0]!, buf.subarray(8, 8 + len), buf.subarray(0, 8 + len));
      buf = buf.subarray(8 + len);
    }
    pending = Buffer.from(buf);
  };
}

export function upgradeResponse(socket: Duplex, tty: boolean): void {
  socket.write(
    'HTTP/1.1 101 UPGRADED\r\n' +
      `Content-Type: application/vnd.docker.${tty ? 'raw-stream' : 'multiplexed-stream'}\r\n` +
      'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
  );
}

/** An HTTP error on a socket that was not upgraded yet. */
export function socketError(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message }) + '\n';
  const reason = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export class DetachKeysError extends Error {}

/** "ctrl-p,ctrl-q" → [0x10, 0x11]; "a" → [0x61]; Docker's syntax. */
export function parseDetachKeys(spec: string): number[] {
  if (spec === '') return [];
  return spec.split(',').map((k) => {
    const key = k.trim();
    if (key.length === 1) return key.charCodeAt(0);
    const m = /^ctrl-([a-z@[\\\]^_])$/.exec(key);
    if (!m) throw new DetachKeysError(`Invalid detach keys (${spec}) provided: unknown key ${JSON.stringify(key)}`);
    const c = m[1]!;
    return c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : c.charCodeAt(0) - 64;
  });
}

/**
 * Watches stdin for the detach sequence: returns the bytes to pass on (a partial match is held
 * back until it resolves) and whether the sequence completed.
 */
export function detachMatcher(keys: number[]): (chunk: Buffer) => { pass: Buffer; detach: boolean } {
  let held: number[] = [];
  return (chunk) => {
    if (keys.length === 0) return { pass: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[held.length]) {
        held.push(b);
        if (held.length === keys.length) return { pass: Buffer.from(out), detach: true };
      } else {
        out.push(...held);
        held = [];
        if (b === keys[0]) held.push(b);
        else out.push(b);
      }
    }
    return { pass: Buffer.from(out), detach: false };
  };
}
