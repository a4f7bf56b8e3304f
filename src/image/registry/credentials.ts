/**
 * Storing registry credentials in a Docker-style config.json, and `login`:
 *
 *   await login(client, '127.0.0.1:5000', 'alice', 's3cret', { configPath });
 *   → GET /v2/ with the credentials (Basic, or a Bearer token fetched with them);
 *     only on success is { "auths": { "127.0.0.1:5000": { "auth": base64("alice:s3cret") } } } saved.
 *
 * Writes are atomic (temp file in the same directory, fsync, rename, fsync dir),
 * mode 0600, and keep every other key of the file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { Authorizer, DOCKER_HUB_AUTH_KEY, TokenError, authConfigKeys, describeCause, type FetchFn } from './auth';
import { RegistryError, type RegistryClient } from './client';

type ConfigFile = Record<string, unknown> & { auths?: Record<string, Record<string, unknown>> };

async function readConfig(configPath: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await fsp.readFile(configPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  if (text.trim() === '') return {};
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new Error(`invalid registry config ${configPath}: ${(e as Error).message} (not overwriting it)`);
  }
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`invalid registry config ${configPath}: not a JSON object`);
  return cfg as ConfigFile;
}

async function writeConfigAtomic(configPath: string, cfg: ConfigFile): Promise<void> {
  const dir = path.dirname(path.resolve(configPath));
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(configPath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  let renamed = false;
  try {
    try {
      await fh.writeFile(JSON.stringify(cfg, null, '\t') + '\n');
      await fh.chmod(0o600);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, configPath);
    renamed = true;
    const dh = await fsp.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } finally {
    if (!renamed) await fsp.rm(tmp, { force: true });
  }
}

/** Key under which `host` is stored (Docker Hub uses its legacy v1 URL). */
export function authKeyFor(host: string): string {
  return authConfigKeys(host)[0] === DOCKER_HUB_AUTH_KEY ? DOCKER_HUB_AUTH_KEY : host;
}

export async function saveCredentials(configPath: string, host: string, username: string, password: string): Promise<void> {
  if (username.includes(':')) throw new Error('username must not contain ":"');
  const cfg = await readConfig(configPath);
  const auths = (cfg.auths && typeof cfg.auths === 'object' ? cfg.auths : {}) as Record<string, Record<string, unknown>>;
  // Drop stale entries under alias keys (https://host, ...), keep the rest.
  for (const k of authConfigKeys(host)) delete auths[k];
  auths[authKeyFor(host)] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  cfg.auths = auths;
  await writeConfigAtomic(configPath, cfg);
}

/** Remove stored credentials for `host`; false when there were none. */
export async function removeCredentials(configPath: string, host: string): Promise<boolean> {
  const cfg = await readConfig(configPath);
  if (!cfg.auths || typeof cfg.auths !== 'object') return false;
  let removed = false;
  for (const k of authConfigKeys(host)) {
    if (k in cfg.auths) {
      delete cfg.auths[k];
      removed = true;
    }
  }
  if (removed) await writeConfigAtomic(configPath, cfg);
  return removed;
}

export interface LoginOptions {
  /** Where to save (default: the client's configPath). */
  configPath?: string;
  /** false: only check the credentials (the daemon's POST /auth; the client saves them). */
  save?: boolean;
}

/**
 * Check `username`/`password` against the registry's /v2/ (Basic or Bearer),
 * then save them. Nothing is saved when the registry refuses them.
 */
export async function login(
  client: RegistryClient,
  host: string,
  username: string,
  password: string,
  opts: LoginOptions = {},
): Promise<{ status: 'Login Succeeded'; configPath: string }> {
  const transport = client.transport();
  const configPath = opts.configPath ?? transport.configPath ?? '';
  if (!configPath && opts.save !== false) throw new Error('login: no config file to save credentials to (configPath)');
  const fetchFn: FetchFn = transport.fetchFn;
  const url = client.endpoint(host) + '/v2/';
  const headers = { 'User-Agent': transport.userAgent };
  const get = async (authorization?: string): Promise<Response> => {
    try {
      return await fetchFn(url, { headers: authorization ? { ...headers, Authorization: authorization } : headers });
    } catch (e) {
      throw new RegistryError('unreachable', `cannot reach registry ${host}: ${describeCause(e)}`);
    }
  };
  const refused = (detail: string) =>
    new RegistryError('unauthorized', `login to ${host} failed: unauthorized: ${detail}`, 401);
  let res = await get();
  if (res.status === 401) {
    const challenge = res.headers.get('www-authenticate');
    await res.body?.cancel();
    const authorizer = new Authorizer(async () => ({ username, password }), fetchFn);
    let header: string | undefined;
    try {
      header = await authorizer.onUnauthorized(host, '', challenge);
    } catch (e) {
      if (e instanceof TokenError) throw refused('incorrect username or password');
      throw e;
    }
    if (!header) throw refused(`unsupported authentication challenge ${JSON.stringify(challenge)}`);
    res = await get(header);
    if (res.status === 401) {
      await res.body?.cancel();
      throw refused('incorrect username or password');
    }
  }
  await res.body?.cancel();
  if (!res.ok) throw new RegistryError('protocol', `login to ${host} failed: HTTP ${res.status} from /v2/`, res.status);
  if (opts.save !== false) await saveCredentials(configPath, host, username, password);
  return { status: 'Login Succeeded', configPath };
}
