/**
 * Registry authentication, following Docker's flow:
 *
 *   1. try anonymously;
 *   2. on 401, read `WWW-Authenticate`:
 *        Basic realm="..."                         → Basic with the stored credentials
 *        Bearer realm="...",service="...",scope="..." → GET a token from the realm
 *                                                     (with Basic credentials if any),
 *                                                     cached per realm/service/scope.
 *
 * Credentials come from a Docker-style config.json:
 *   { "auths": { "host:port": { "auth": base64("user:pass") } } }
 *   { "auths": { "host": { "username": "u", "password": "p" } } }
 * Docker Hub's entry is keyed "https://index.docker.io/v1/".
 */
import { promises as fsp } from 'node:fs';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  /** Lower-cased scheme: "basic", "bearer", ... */
  scheme: string;
  params: Record<string, string>;
}

/** Docker Hub's key in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/**
 * Parse a WWW-Authenticate header into challenges. Handles quoted strings with
 * backslash escapes and commas inside quotes (`scope="repository:a:pull,push"`).
 */
export function parseWWWAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const word = token();
    if (word === '') {
      i++; // unexpected character: skip it
      continue;
    }
    skipWs();
    if (s[i] === '=' && current) {
      i++;
      skipWs();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        value = s.slice(start, i);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** Keys under which config.json may hold credentials for `host`. */
export function authConfigKeys(host: string): string[] {
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') {
    return [DOCKER_HUB_AUTH_KEY, 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1'];
  }
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`, `http://${host}/v1/`];
}

/** Read credentials for `host` from a Docker-style config.json; undefined when absent. */
export async function loadCredentials(configPath: string, host: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(configPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let cfg: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new Error(`invalid registry config ${configPath}: ${(e as Error).message}`);
  }
  const auths = cfg.auths ?? {};
  for (const key of authConfigKeys(host)) {
    const entry = auths[key];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new Error(`invalid auth for ${key} in ${configPath}: expected base64 "user:password"`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}

export function basicAuthHeader(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

export type FetchFn = typeof fetch;

interface CachedToken {
  header: string;
  expires: number;
}

/**
 * Per-registry authorizer: remembers the last challenge per host and caches
 * bearer tokens per realm/service/scope.
 */
export class Authorizer {
  private readonly tokens = new Map<string, CachedToken>();
  /** host → last challenge seen (so later requests can pre-authorize). */
  private readonly challenges = new Map<string, Challenge>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly getCredentials: (host: string) => Promise<Credentials | undefined>,
    private readonly fetchFn: FetchFn = fetch,
  ) {}

  /** Authorization header to send up front for `host`/`scope`, if one is known. */
  async headerFor(host: string, scope: string): Promise<string | undefined> {
    const ch = this.challenges.get(host);
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = await this.getCredentials(host);
      return c ? basicAuthHeader(c) : undefined;
    }
    if (ch.scheme === 'bearer') {
      const cached = this.tokens.get(tokenKey(ch, scope));
      if (cached && cached.expires > Date.now()) return cached.header;
    }
    return undefined;
  }

  /**
   * Handle a 401: returns the Authorization header to retry with, or
   * undefined when there is nothing more to try (no credentials for Basic).
   */
  async onUnauthorized(host: string, scope: string, wwwAuthenticate: string | null): Promise<string | undefined> {
    const challenges = parseWWWAuthenticate(wwwAuthenticate ?? '');
    const ch = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!ch) return undefined;
    this.challenges.set(host, ch);
    if (ch.scheme === 'basic') {
      const c = await this.getCredentials(host);
      return c ? basicAuthHeader(c) : undefined;
    }
    const key = tokenKey(ch, scope);
    this.tokens.delete(key);
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(host, ch, scope).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async fetchToken(host: string, ch: Challenge, scope: string): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new Error(`registry ${host} sent a Bearer challenge without a realm`);
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    const scopes = scope ? [scope] : ch.params.scope ? [ch.params.scope] : [];
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { Accept: 'application/json' };
    const creds = await this.getCredentials(host);
    if (creds) headers.Authorization = basicAuthHeader(creds);
    let res: Response;
    try {
      res = await this.fetchFn(url, { headers });
    } catch (e) {
      throw new Error(`cannot reach token server ${url.host}: ${describeCause(e)}`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new TokenError(res.status, `token server ${url.host} refused credentials (HTTP ${res.status})`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`token server ${url.host} answered HTTP ${res.status}`);
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`token server ${url.host} returned no token`);
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const header = `Bearer ${token}`;
    this.tokens.set(tokenKey(ch, scope), { header, expires: Date.now() + Math.max(ttl - 5, 1) * 1000 });
    return header;
  }
}

export class TokenError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

function tokenKey(ch: Challenge, scope: string): string {
  return `${ch.params.realm ?? ''}|${ch.params.service ?? ''}|${scope}`;
}

/** "ECONNREFUSED 127.0.0.1:1234" from undici's `fetch failed` TypeError. */
export function describeCause(e: unknown): string {
  let err = e as { message?: string; code?: string; cause?: unknown } | undefined;
  // Walk to the innermost cause.
  while (err && typeof err === 'object' && err.cause && typeof err.cause === 'object') {
    err = err.cause as typeof err;
  }
  if (!err) return String(e);
  const code = err.code;
  const msg = err.message ?? String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
