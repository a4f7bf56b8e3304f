/**
 * The berth Engine API client: HTTP/1.1 over berthd's unix socket (node:http socketPath),
 * every path under /v1.50. Where the daemon is:
 *
 *   -H/--host unix:///path   >   $BERTH_HOST   >   $DOCKER_HOST (unix:// only)   >   unix:///run/berth/berth.sock
 *
 * Daemon errors ({"message": "..."}) become DaemonError("Error response from daemon: ...");
 * a missing or refusing socket becomes ConnectError with docker's hint, adapted to berthd.
 */
import * as http from 'node:http';
import type { Readable } from 'node:stream';

export const API_VERSION = '1.50';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
export const USER_AGENT = 'berth-cli/0.1.0';

import { ConnectError, DaemonError } from './errors';

export { ConnectError, DaemonError, encodeFilters } from './errors';

/** Which daemon to talk to; throws for hosts berth can't reach. */
export function resolveHost(flagHost: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const hosts = flagHost ?? [];
  if (hosts.length > 1) throw new Error('Specify only one -H');
  const host = hosts[0] || env.BERTH_HOST || env.DOCKER_HOST || DEFAULT_HOST;
  return host;
}

/** The socket path of a unix:// host (a bare absolute path is accepted too). */
export function socketPathOf(host: string): string {
  if (host.startsWith('unix://')) {
    const p = host.slice('unix://'.length);
    if (!p.startsWith('/')) throw new Error(`unable to parse docker host \`${host}\``);
    return p;
  }
  if (host.startsWith('/')) return host;
  const proto = /^([a-z]+):\/\//.exec(host)?.[1];
  if (proto) throw new Error(`berth only talks to berthd over a unix socket: unsupported protocol ${proto}:// in ${host}`);
  throw new Error(`unable to parse docker host \`${host}\``);
}

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body (object), raw bytes, or a stream (sent chunked). */
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

export interface Response {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const k of Object.keys(q).sort()) {
    const v = q[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function isStream(b: unknown): b is Readable {
  return typeof b === 'object' && b !== null && typeof (b as Readable).pipe === 'function';
}

async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export class Client {
  readonly socketPath: string;

  constructor(readonly host: string) {
    this.socketPath = socketPathOf(host);
  }

  /**
   * One connection per request, and servername '': there is no TLS on a unix socket, and the
   * agent working one out compiles Node's IPv6 regex (~8 ms of a CLI run here).
   */
  private options(method: string, path: string, headers: Record<string, string>): http.RequestOptions {
    return { socketPath: this.socketPath, method, path, headers, agent: false, servername: '' } as http.RequestOptions;
  }

  /** Send a request; resolves once the response head arrives (any status). */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...opts.headers };
    let payload: Buffer | undefined;
    let stream: Readable | undefined;
    if (isStream(opts.body)) {
      stream = opts.body;
      headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
    } else if (Buffer.isBuffer(opts.body)) {
      payload = opts.body;
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    }
    if (payload) headers['Content-Length'] = String(payload.length);
    const url = `/v${API_VERSION}${path}${encodeQuery(opts.query)}`;
    return new Promise((resolve, reject) => {
      const req = http.request(this.options(method, url, headers), (res) => {
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES' || e.code === 'ENOTSOCK') {
          const hint = e.code === 'EACCES' ? ` (permission denied on ${this.socketPath})` : '';
          reject(new ConnectError(`Cannot connect to the berth daemon at ${this.host}. Is berthd running?${hint} Start it with: bin/berthd &`));
        } else {
          reject(e);
        }
      });
      if (stream) {
        stream.on('error', (e) => req.destroy(e));
        stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /** Request and fail with DaemonError unless the status is 2xx. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.request(method, path, opts);
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await this.errorOf(res);
  }

  /** Request and decode a JSON response. */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.call(method, path, opts);
    const text = (await readAll(res.body)).toString('utf8');
    return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The raw body text of a successful request (inspect keeps the daemon's bytes). */
  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.call(method, path, opts);
    return (await readAll(res.body)).toString('utf8');
  }

  /**
   * A hijacked connection (attach, exec start): the request with `Connection: Upgrade`,
   * `Upgrade: tcp`; resolves with the raw socket once the daemon answers 101 (or 200, which
   * older daemons send before streaming on the same connection).
   */
  hijack(method: string, path: string, opts: RequestOptions = {}): Promise<{ socket: import('node:net').Socket; head: Buffer }> {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Connection: 'Upgrade', Upgrade: 'tcp', ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const url = `/v${API_VERSION}${path}${encodeQuery(opts.query)}`;
    return new Promise((resolve, reject) => {
      const req = http.request(this.options(method, url, headers));
      req.on('upgrade', (_res, socket, head) => resolve({ socket: socket as import('node:net').Socket, head }));
      req.on('response', (res) => {
        this.errorOf({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res }).then(reject, reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
          reject(new ConnectError(`Cannot connect to the berth daemon at ${this.host}. Is berthd running?`));
        } else reject(e);
      });
      req.end(payload);
    });
  }

  private async errorOf(res: Response): Promise<DaemonError> {
    const body = (await readAll(res.body)).toString('utf8');
    let message = body.trim();
    if (String(res.headers['content-type'] ?? '').includes('application/json')) {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (typeof parsed.message === 'string') message = parsed.message.trim();
      } catch {
        /* keep the raw body */
      }
    }
    if (message === '') message = `${res.statusCode} ${http.STATUS_CODES[res.statusCode] ?? ''}`.trim();
    return new DaemonError(res.statusCode, message);
  }
}

export { readAll };
