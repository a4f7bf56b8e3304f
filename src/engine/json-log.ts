// Reads the json-file logs the monitor writes (Docker's format, one object per line):
//   {"log":"hello\n","stream":"stdout","time":"2026-11-22T19:40:00.123456789Z"}
// FILE is the live log; rotation renames FILE -> FILE.1 -> FILE.2 ..., so the oldest is the
// highest number. readJsonLog yields entries oldest first with Docker's `docker logs`
// semantics: `tail` picks the last N lines, then `since` (inclusive) and `until` (inclusive)
// filter them; `follow` keeps reading appends across rotations.
import * as fs from 'node:fs';
import { parseInstantNs } from '../format/timestamp';
import * as path from 'node:path';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
  /** The text, with its '\n' (a piece of a long line or a last unterminated line has none). */
  line: string;
}

/** A Date, RFC 3339 text, unix seconds (number or "secs[.nanos]" text, Docker's API form), or nanoseconds. */
export type TimeBound = Date | string | number | bigint;

export interface ReadLogOptions {
  since?: TimeBound;
  until?: TimeBound;
  /** Only the last N lines (before since/until filter them); undefined or negative: all. */
  tail?: number;
  /** Keep reading what is appended, across rotations, until `signal` aborts or `exitFile` appears. */
  follow?: boolean;
  signal?: AbortSignal;
  /** Follow stops once this file exists (the monitor's exit.json) and everything is read. */
  exitFile?: string;
  /** How often follow looks for more when no change is signalled (ms, default 250). */
  pollMs?: number;
}

/** A time bound as nanoseconds since the epoch. */
export function toNanos(t: TimeBound): bigint {
  if (typeof t === 'bigint') return t;
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  if (typeof t === 'number') return BigInt(Math.round(t * 1e6)) * 1000n;
  const ns = parseInstantNs(t);
  if (ns === undefined) throw new Error(`invalid time ${JSON.stringify(t)}`);
  return ns;
}

/** One log line (without its '\n'), or undefined if it is not a json-file record. */
export function parseLogLine(text: string): LogEntry | undefined {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object') return undefined;
  const { log, stream, time } = j as Record<string, unknown>;
  if (typeof log !== 'string' || typeof time !== 'string') return undefined;
  return { stream: stream === 'stderr' ? 'stderr' : 'stdout', time, line: log };
}

/** FILE and its rotated files that exist, oldest first: FILE.N ... FILE.1, FILE. */
export function logFiles(file: string): string[] {
  const found: string[] = [];
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const nums = names
    .map((n) => (n.startsWith(base + '.') ? /^\d+$/.exec(n.slice(base.length + 1))?.[0] : undefined))
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  for (const n of nums) found.push(`${file}.${n}`);
  if (names.includes(base)) found.push(file);
  return found;
}

interface Open {
  fd: number;
  /** Identity across renames: inode and birth time (an inode number alone may be reused). */
  id: string;
  /** Next byte to read. */
  pos: number;
  /** Bytes of an unterminated line. */
  rest: Buffer;
}

function openLog(file: string): Open | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  return { fd, id: fileId(fs.fstatSync(fd)), pos: 0, rest: Buffer.alloc(0) };
}

function fileId(st: fs.Stats): string {
  return `${st.ino}/${st.birthtimeMs}`;
}

const CHUNK = 64 * 1024;

/**
 * Where the last `n` complete lines of `files` (opened, oldest first) start: sets each file's
 * pos, and returns the index of the first file to read.
 */
function seekTail(files: Open[], n: number): number {
  const buf = Buffer.alloc(CHUNK);
  let need = n; // lines still wanted, newest first
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i]!;
    let end = fs.fstatSync(f.fd).size;
    // An unterminated last line (a record being written) is not a line yet.
    if (i === files.length - 1 && end > 0) {
      for (let p = end; p > 0; ) {
        const len = Math.min(CHUNK, p);
        fs.readSync(f.fd, buf, 0, len, p - len);
        const nl = buf.subarray(0, len).lastIndexOf(0x0a);
        if (nl >= 0) {
          end = p - len + nl + 1;
          break;
        }
        p -= len;
        if (p === 0) end = 0;
      }
    }
    // Find the need+1-th '\n' from `end` backwards: the wanted lines start after it.
    let seen = 0;
    let start = 0;
    let found = false;
    for (let p = end; p > 0 && !found; ) {
      const len = Math.min(CHUNK, p);
      fs.readSync(f.fd, buf, 0, len, p - len);
      for (let k = len - 1; k >= 0; k--) {
        if (buf[k] !== 0x0a) continue;
        if (++seen === need + 1) {
          start = p - len + k + 1;
          found = true;
          break;
        }
      }
      p -= len;
    }
    f.pos = start;
    if (found) return i;
    need -= seen;
    if (need <= 0) return i;
  }
  return 0;
}

function* linesOf(f: Open, data: Buffer): Generator<string> {
  let buf = f.rest.length ? Buffer.concat([f.rest, data]) : data;
  let nl: number;
  while ((nl = buf.indexOf(0x0a)) >= 0) {
    yield buf.subarray(0, nl).toString('utf8');
    buf = buf.subarray(nl + 1);
  }
  f.rest = Buffer.from(buf);
}

/** Reads f from its pos to its current end; yields complete lines. */
function* readMore(f: Open, limit?: number): Generator<string> {
  const buf = Buffer.alloc(CHUNK);
  for (;;) {
    const want = limit === undefined ? CHUNK : Math.min(CHUNK, limit - f.pos);
    if (want <= 0) return;
    const n = fs.readSync(f.fd, buf, 0, want, f.pos);
    if (n <= 0) return;
    f.pos += n;
    yield* linesOf(f, buf.subarray(0, n));
  }
}

function sleep(ms: number, signal: AbortSignal | undefined, wake: { fn?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      wake.fn = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
    wake.fn = done;
  });
}

/** The log's entries, oldest first; see ReadLogOptions. */
export async function* readJsonLog(file: string, opts: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
  const since = opts.since !== undefined ? toNanos(opts.since) : undefined;
  const until = opts.until !== undefined ? toNanos(opts.until) : undefined;
  // Opened up front: a rotation while we read renames files, never our fds.
  const files = logFiles(file).map(openLog).filter((f): f is Open => !!f);
  const seen = new Set(files.map((f) => f.id));
  let watcher: fs.FSWatcher | undefined;
  let cur: Open | undefined;
  const closeAll = () => {
    for (const f of files) fs.closeSync(f.fd);
    files.length = 0;
    if (cur) fs.closeSync(cur.fd);
    cur = undefined;
    watcher?.close();
  };
  // false: stop everything (past `until`).
  const admit = (text: string): LogEntry | false | undefined => {
    const e = parseLogLine(text);
    if (!e) return undefined;
    let t: bigint;
    try {
      t = toNanos(e.time);
    } catch {
      return undefined;
    }
    if (until !== undefined && t > until) return false;
    if (since !== undefined && t < since) return undefined;
    return e;
  };
  // Yields f's admitted entries up to limit (or its end); true once past `until`.
  function* entries(f: Open, limit?: number): Generator<LogEntry, boolean> {
    for (const text of readMore(f, limit)) {
      const e = admit(text);
      if (e === false) return true;
      if (e) yield e;
    }
    return false;
  }
  try {
    let first = 0;
    if (opts.tail !== undefined && opts.tail >= 0) {
      first = seekTail(files, opts.tail);
    }
    // What exists now: every file but the live one to its end; the live one to its end as of now.
    for (let i = first; i < files.length; i++) {
      const f = files[i]!;
      const limit = opts.follow && i === files.length - 1 ? undefined : fs.fstatSync(f.fd).size;
      if (yield* entries(f, limit)) return;
    }
    if (!opts.follow) return;

    // Follow the live file (the last one); the rotated ones are done with.
    cur = files.pop();
    for (const f of files) fs.closeSync(f.fd);
    files.length = 0;
    const wake: { fn?: () => void } = {};
    try {
      watcher = fs.watch(path.dirname(file), () => wake.fn?.());
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined; // polling only
    }
    for (;;) {
      if (opts.signal?.aborted) return;
      if (until !== undefined && BigInt(Date.now()) * 1_000_000n > until) return;
      const last = opts.exitFile !== undefined && fs.existsSync(opts.exitFile);
      for (let pass = 0; pass < 2; pass++) {
        if (cur) {
          if (fs.fstatSync(cur.fd).size < cur.pos) {
            cur.pos = 0; // truncated in place (max-files 1)
            cur.rest = Buffer.alloc(0);
          }
          if (yield* entries(cur)) return;
        }
        // Rotated? Files we have not seen, oldest first, end with the new live file.
        let live: string | undefined;
        try {
          live = fileId(fs.statSync(file));
        } catch {
          live = undefined; // between the rename and the new file
        }
        if (live === undefined || live === cur?.id) break;
        // What the writer appended to the old file after our read and before renaming it.
        if (cur) {
          if (yield* entries(cur)) return;
        }
        for (const name of logFiles(file)) {
          const f = openLog(name);
          if (!f) continue;
          if (seen.has(f.id)) {
            fs.closeSync(f.fd);
            continue;
          }
          seen.add(f.id);
          if (name === file) {
            if (cur) fs.closeSync(cur.fd);
            cur = f;
            break;
          }
          try {
            if (yield* entries(f)) return;
          } finally {
            fs.closeSync(f.fd);
          }
        }
      }
      if (last) return;
      await sleep(opts.pollMs ?? 250, opts.signal, wake);
    }
  } finally {
    closeAll();
  }
}
