/**
 * The little HTTP framework of the API: a route table with path parameters (image names may
 * contain slashes, so a parameter can be greedy), the `/v1.NN` prefix and version checks,
 * query helpers (Docker's booleans and `filters` JSON), JSON bodies with a size limit, and
 * newline-delimited JSON streams.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseTimestampNs } from '../format/timestamp';
import { ApiError, badRequest } from './errors';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

export interface Request {
  raw: IncomingMessage;
  method: string;
  path: string;
  /** API version of the request (from the path prefix, else the server's). */
  version: string;
  query: URLSearchParams;
  params: Record<string, string>;
  /**
   * The body of a hijacked request (attach, exec start), read off the connection before the
   * stream begins: Node leaves it there, where it would pass for the process's stdin.
   */
  body?: Buffer;
}

export type Handler = (req: Request, res: ServerResponse) => Promise<void> | void;
/** A hijacked connection (attach, exec start): the socket after the HTTP request. */
export type UpgradeHandler = (req: Request, socket: import('node:stream').Duplex, head: Buffer) => Promise<void> | void;

interface Route<H> {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: H;
}

/** Compares "1.41" style versions. */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am! - bm! || an! - bn!;
}

export class Router<H = Handler> {
  private readonly routes: Route<H>[] = [];

  /** `path` like `/images/{name*}/json` ({x*} matches slashes too). */
  add(method: string, path: string, handler: H): void {
    const names: string[] = [];
    const src = path.replace(/[.+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\*?)\}/g, (_m, n: string, greedy: string) => {
      names.push(n);
      return greedy ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${src}$`), names, handler });
  }

  /** Finds the route; 404 for an unknown path, 405 for a known path with another method. */
  match(method: string, path: string): { handler: H; params: Record<string, string> } {
    let pathKnown = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { handler: r.handler, params };
    }
    if (pathKnown) throw new ApiError(405, `method ${method} not allowed on ${path}`);
    throw new ApiError(404, `page not found: ${method} ${path}`);
  }
}

/** Splits `/v1.43/images/json` into version and path; checks the version is served. */
export function splitVersion(rawPath: string): { version: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(rawPath);
  if (!m) return { version: API_VERSION, path: rawPath };
  const version = m[1]!;
  if (compareVersions(version, API_VERSION) > 0) {
    throw badRequest(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw badRequest(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return { version, path: m[2]! };
}

/** Docker's query booleans: "1", "true", "True" are true; "", "0", "false" false. */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'false' || s === 'no');
}

export function intParam(q: URLSearchParams, name: string, dflt: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} is not an integer`);
  return Number(v);
}

/**
 * The `filters` parameter: `{"key":["v1","v2"]}`, or the old `{"key":{"v1":true}}` form.
 * `allowed` names the keys the endpoint accepts; others are a 400 as in dockerd.
 */
export function filtersParam(q: URLSearchParams, allowed: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const raw = q.get('filters');
  if (raw === null || raw === '') return out;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    throw badRequest(`invalid filters: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badRequest('invalid filters: not a JSON object');
  for (const [k, v] of Object.entries(data)) {
    if (!allowed.includes(k)) throw badRequest(`invalid filter '${k}'`);
    let vals: string[];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) vals = v as string[];
    else if (typeof v === 'object' && v !== null) vals = Object.entries(v).filter(([, b]) => b === true).map(([s]) => s);
    else throw badRequest(`invalid filters: values of '${k}' must be a list of strings`);
    out.set(k, vals);
  }
  return out;
}

/** Docker's `label` filter: every wanted `key` is present, every `key=value` matches. */
export function labelsMatch(labels: Record<string, string> | null | undefined, wanted: readonly string[], unwanted: readonly string[] = []): boolean {
  const have = labels ?? {};
  const has = (w: string): boolean => {
    const i = w.indexOf('=');
    return i < 0 ? w in have : have[w.slice(0, i)] === w.slice(i + 1);
  };
  // `label!=k` / `label!=k=v` (prune filters): none of those may match.
  return wanted.every(has) && !unwanted.some(has);
}

/** Reads a JSON body (at most `limit` bytes); an empty body is `{}`. */
export async function jsonBody<T>(req: Request, limit = 4 << 20): Promise<T> {
  const parts: Buffer[] = [];
  let n = 0;
  if (req.body) {
    parts.push(req.body);
  } else {
    for await (const c of req.raw) {
      n += (c as Buffer).length;
      if (n > limit) throw badRequest(`request body larger than ${limit} bytes`);
      parts.push(c as Buffer);
    }
  }
  const text = Buffer.concat(parts).toString('utf8').trim();
  if (text === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw badRequest(`invalid JSON body: ${(e as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/**
 * A newline-delimited JSON stream (pull, push, load). Once the 200 is sent, a failure can only
 * be reported in-band: `{"error": ..., "errorDetail": ...}` as the last message.
 */
export function jsonStream(res: ServerResponse): { send: (m: unknown) => void; end: () => void } {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  return {
    send: (m) => {
      if (!res.writableEnded) res.write(JSON.stringify(m) + '\n');
    },
    end: () => res.end(),
  };
}

/**
 * Reads a hijacked request's Content-Length body from `head` and the connection; bytes after it
 * (a client's first stdin) are put back for the stream. Up to 1 MiB: these bodies are options.
 */
export async function readUpgradeBody(raw: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): Promise<Buffer> {
  const len = Number(raw.headers['content-length'] ?? 0);
  if (!Number.isInteger(len) || len < 0 || len > 1 << 20) throw badRequest(`invalid Content-Length ${JSON.stringify(raw.headers['content-length'])} for this request`);
  let buf = head;
  let listened = false;
  while (buf.length < len) {
    listened = true;
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const done = (c?: Buffer): void => {
        socket.off('data', done);
        socket.off('end', done);
        socket.off('close', done);
        resolve(c);
      };
      socket.on('data', done);
      socket.once('end', done);
      socket.once('close', done);
    });
    if (!chunk) throw badRequest('the connection ended inside the request body');
    buf = Buffer.concat([buf, chunk]);
  }
  if (listened) socket.pause(); // consumers resume() it (a 'data' listener alone no longer does)
  if (buf.length > len) socket.unshift(buf.subarray(len));
  return buf.subarray(0, len);
}

/** A prune filter's `until` (Docker's timestamp forms, durations counting back from now) in ms. */
export function untilCutoffMs(until: string | undefined): number | undefined {
  if (until === undefined) return undefined;
  try {
    return Number(parseTimestampNs(until) / 1_000_000n);
  } catch (e) {
    throw badRequest(`invalid filter 'until=${until}': ${(e as Error).message}`);
  }
}
