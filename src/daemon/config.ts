/**
 * berthd's configuration: command-line flags over `/etc/berth/daemon.json`, with Docker's key
 * names where Docker has them. Unknown keys in the file are refused (as dockerd does), so a
 * typo never silently does nothing.
 */
import * as fs from 'node:fs';

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  group: string;
  storageDriver: 'overlay' | 'vfs' | 'auto';
  insecureRegistries: string[];
  liveRestore: boolean;
  pidfile: string;
  debug: boolean;
  /** Registry credentials file used when a request carries none (Docker's config.json format). */
  credentialsFile?: string;
}

export class ConfigError extends Error {}

export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

export function defaultConfig(): DaemonConfig {
  return {
    dataRoot: '/var/lib/berth',
    execRoot: '/run/berth',
    hosts: ['unix:///run/berth/berth.sock'],
    group: 'berth',
    storageDriver: 'auto',
    insecureRegistries: [],
    liveRestore: true,
    pidfile: '/run/berth/berthd.pid',
    debug: false,
  };
}

/** daemon.json key → how it lands in DaemonConfig. */
const FILE_KEYS: Record<string, (c: DaemonConfig, v: unknown, key: string) => void> = {
  'data-root': (c, v, k) => (c.dataRoot = absPath(v, k)),
  'exec-root': (c, v, k) => (c.execRoot = absPath(v, k)),
  hosts: (c, v, k) => (c.hosts = strings(v, k)),
  group: (c, v, k) => (c.group = str(v, k)),
  'storage-driver': (c, v, k) => (c.storageDriver = driver(str(v, k))),
  'insecure-registries': (c, v, k) => (c.insecureRegistries = strings(v, k)),
  'live-restore': (c, v, k) => (c.liveRestore = bool(v, k)),
  pidfile: (c, v, k) => (c.pidfile = absPath(v, k)),
  debug: (c, v, k) => (c.debug = bool(v, k)),
  // Accepted for compatibility; the engine reads them when those features land.
  'log-driver': (_c, v, k) => void str(v, k),
  'log-opts': (_c, v, k) => void obj(v, k),
  'default-ulimits': (_c, v, k) => void obj(v, k),
};

function str(v: unknown, key: string): string {
  if (typeof v !== 'string') throw new ConfigError(`daemon config: "${key}" must be a string`);
  return v;
}
function absPath(v: unknown, key: string): string {
  const s = str(v, key);
  if (!s.startsWith('/')) throw new ConfigError(`daemon config: "${key}" must be an absolute path, got ${JSON.stringify(s)}`);
  return s.replace(/\/+$/, '') || '/';
}
function strings(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(`daemon config: "${key}" must be a list of strings`);
  return v as string[];
}
function bool(v: unknown, key: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`daemon config: "${key}" must be true or false`);
  return v;
}
function obj(v: unknown, key: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`daemon config: "${key}" must be an object`);
  return v as Record<string, unknown>;
}
function driver(s: string): DaemonConfig['storageDriver'] {
  if (s === 'overlay2' || s === 'overlay') return 'overlay';
  if (s === 'vfs' || s === 'auto') return s;
  throw new ConfigError(`unsupported storage driver "${s}": berth has overlay2 (overlay) and vfs`);
}

/** Applies the JSON of a daemon.json to `c`. */
export function applyConfigFile(c: DaemonConfig, text: string, file: string): void {
  if (text.trim() === '') return; // an empty file configures nothing
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const o = obj(data, file);
  for (const [k, v] of Object.entries(o)) {
    const apply = FILE_KEYS[k];
    if (!apply) throw new ConfigError(`${file}: unknown key "${k}" (known: ${Object.keys(FILE_KEYS).join(', ')})`);
    apply(c, v, k);
  }
}

export const USAGE = `Usage: berthd [OPTIONS]

berth's daemon: serves the Docker Engine API on a unix socket.

Options:
      --config-file string        daemon configuration file (default "${DEFAULT_CONFIG_FILE}")
      --data-root string          root of persistent state (default "/var/lib/berth")
      --exec-root string          root of runtime state (default "/run/berth")
  -H, --host list                 socket to listen on (default unix:///run/berth/berth.sock)
  -G, --group string              group that may use the socket (default "berth")
  -p, --pidfile string            pid file (default "/run/berth/berthd.pid")
  -s, --storage-driver string     overlay2 | vfs | auto (default "auto")
      --insecure-registry list    registries reached over plain HTTP
  -D, --debug                     log every request
  -h, --help                      print this help
`;

/** Flags (Docker's names) over the config file over the defaults. */
export function parseDaemonArgs(argv: readonly string[]): DaemonConfig | 'help' {
  const flags = new Map<string, string[]>();
  const takesValue = new Set(['config-file', 'data-root', 'exec-root', 'host', 'group', 'pidfile', 'storage-driver', 'insecure-registry', 'credentials-file']);
  const alias: Record<string, string> = { H: 'host', G: 'group', p: 'pidfile', s: 'storage-driver', D: 'debug', h: 'help' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/.exec(a);
    if (!m) throw new ConfigError(`berthd takes no arguments, got ${JSON.stringify(a)}`);
    const name = a.startsWith('--') ? m[1]! : (alias[m[1]!] ?? '');
    if (!name) throw new ConfigError(`unknown flag: ${a}`);
    if (name === 'help' || name === 'debug') {
      flags.set(name, ['true']);
      continue;
    }
    if (!takesValue.has(name)) throw new ConfigError(`unknown flag: --${name}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new ConfigError(`flag needs an argument: --${name}`);
    flags.set(name, [...(flags.get(name) ?? []), v]);
  }
  if (flags.has('help')) return 'help';
  const c = defaultConfig();
  const file = flags.get('config-file')?.at(-1) ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || flags.has('config-file')) {
      throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }
  if (text !== undefined) applyConfigFile(c, text, file);
  const last = (n: string): string | undefined => flags.get(n)?.at(-1);
  if (last('data-root')) c.dataRoot = absPath(last('data-root'), '--data-root');
  if (last('exec-root')) {
    c.execRoot = absPath(last('exec-root'), '--exec-root');
    // Sockets and the pid file follow an explicit exec root unless given too.
    if (!flags.has('host') && !text?.includes('"hosts"')) c.hosts = [`unix://${c.execRoot}/berth.sock`];
    if (!flags.has('pidfile') && !text?.includes('"pidfile"')) c.pidfile = `${c.execRoot}/berthd.pid`;
  }
  if (flags.has('host')) c.hosts = flags.get('host')!;
  if (last('group')) c.group = last('group')!;
  if (last('pidfile')) c.pidfile = absPath(last('pidfile'), '--pidfile');
  if (last('storage-driver')) c.storageDriver = driver(last('storage-driver')!);
  if (flags.has('insecure-registry')) c.insecureRegistries = [...c.insecureRegistries, ...flags.get('insecure-registry')!];
  if (last('credentials-file')) c.credentialsFile = last('credentials-file')!;
  if (flags.has('debug')) c.debug = true;
  for (const h of c.hosts) {
    if (!h.startsWith('unix:///')) throw new ConfigError(`unsupported host ${JSON.stringify(h)}: berthd listens on unix sockets only (unix:///path)`);
  }
  return c;
}
