/**
 * `create`/`run` flags and how they become the Engine API's create body, following docker CLI 28
 * (cli/command/container/opts.go): Config + HostConfig + NetworkingConfig.
 */
import * as fs from 'node:fs';
import type { FlagDef, ParsedFlags } from '../flags';
import { fromHumanSize, ramInBytes } from '../flags';
import { invalidFlag } from '../command';

const s = (name: string, usage: string, short?: string, extra: Partial<FlagDef> = {}): FlagDef => ({ name, kind: 'string', usage, ...(short ? { short } : {}), ...extra });
const b = (name: string, usage: string, short?: string, extra: Partial<FlagDef> = {}): FlagDef => ({ name, kind: 'bool', usage, ...(short ? { short } : {}), ...extra });
const l = (name: string, usage: string, short?: string, extra: Partial<FlagDef> = {}): FlagDef => ({ name, kind: 'list', usage, ...(short ? { short } : {}), ...extra });

/** The flags shared by create and run (sorted as pflag prints them). */
export const CREATE_FLAGS: FlagDef[] = [
  l('add-host', 'Add a custom host-to-IP mapping (host:ip)'),
  l('annotation', 'Add an annotation to the container (passed through to the OCI runtime)', undefined, { typeName: 'map' }),
  l('attach', 'Attach to STDIN, STDOUT or STDERR', 'a'),
  l('cap-add', 'Add Linux capabilities'),
  l('cap-drop', 'Drop Linux capabilities'),
  s('cgroup-parent', 'Optional parent cgroup for the container'),
  s('cgroupns', `Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)`),
  s('cidfile', 'Write the container ID to the file'),
  { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
  s('cpus', 'Number of CPUs', undefined, { typeName: 'decimal' }),
  s('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  s('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  l('device', 'Add a host device to the container'),
  l('dns', 'Set custom DNS servers'),
  l('dns-option', 'Set DNS options'),
  l('dns-search', 'Set custom DNS search domains'),
  s('domainname', 'Container NIS domain name'),
  s('entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  l('env', 'Set environment variables', 'e'),
  l('env-file', 'Read in a file of environment variables'),
  l('expose', 'Expose a port or a range of ports'),
  l('group-add', 'Add additional groups to join'),
  s('hostname', 'Container host name', 'h'),
  b('init', 'Run an init inside the container that forwards signals and reaps processes'),
  b('interactive', 'Keep STDIN open even if not attached', 'i'),
  s('ipc', 'IPC mode to use'),
  l('label', 'Set meta data on a container', 'l'),
  l('label-file', 'Read in a line delimited file of labels'),
  s('log-driver', 'Logging driver for the container'),
  l('log-opt', 'Log driver options'),
  { name: 'memory', short: 'm', kind: 'bytes', usage: 'Memory limit' },
  { name: 'memory-reservation', kind: 'bytes', usage: 'Memory soft limit' },
  s('memory-swap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", undefined, { typeName: 'bytes' }),
  l('mount', 'Attach a filesystem mount to the container', undefined, { typeName: 'mount' }),
  s('name', 'Assign a name to the container'),
  s('network', 'Connect a container to a network', undefined, { typeName: 'network', default: 'default' }),
  b('no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  b('oom-kill-disable', 'Disable OOM Killer'),
  s('pid', 'PID namespace to use'),
  { name: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
  s('platform', 'Set platform if server is multi-platform capable'),
  b('privileged', 'Give extended privileges to this container'),
  l('publish', 'Publish a container\'s port(s) to the host', 'p'),
  b('publish-all', 'Publish all exposed ports to random ports', 'P'),
  s('pull', 'Pull image before creating ("always", "missing", "never")', undefined, { default: 'missing' }),
  b('quiet', 'Suppress the pull output', 'q'),
  b('read-only', "Mount the container's root filesystem as read only"),
  s('restart', 'Restart policy to apply when a container exits', undefined, { default: 'no' }),
  b('rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  l('security-opt', 'Security Options'),
  { name: 'shm-size', kind: 'bytes', usage: 'Size of /dev/shm' },
  s('stop-signal', 'Signal to stop the container'),
  { name: 'stop-timeout', kind: 'int', usage: 'Timeout (in seconds) to stop a container' },
  l('sysctl', 'Sysctl options', undefined, { typeName: 'map' }),
  l('tmpfs', 'Mount a tmpfs directory', undefined),
  b('tty', 'Allocate a pseudo-TTY', 't'),
  l('ulimit', 'Ulimit options', undefined, { typeName: 'ulimit' }),
  s('user', 'Username or UID (format: <name|uid>[:<group|gid>])', 'u'),
  s('userns', 'User namespace to use'),
  s('uts', 'UTS namespace to use'),
  l('volume', 'Bind mount a volume', 'v'),
  l('volumes-from', 'Mount volumes from the specified container(s)'),
  s('workdir', 'Working directory inside the container', 'w'),
];

function readLines(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  void what;
  return text
    .split('\n')
    .map((x) => x.replace(/\r$/, '').replace(/^\s+/, ''))
    .filter((x) => x !== '' && !x.startsWith('#'));
}

/** opts.ValidateEnv: "VAR" takes the value from the client's environment, or is dropped. */
function envValue(v: string): string | undefined {
  if (v.includes('=')) {
    if (v.startsWith('=')) throw new Error(`invalid environment variable: ${v}`);
    return v;
  }
  const x = process.env[v];
  return x === undefined ? undefined : `${v}=${x}`;
}

function keyValueMap(list: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const x of list) {
    const i = x.indexOf('=');
    if (i < 0) m[x] = '';
    else m[x.slice(0, i)] = x.slice(i + 1);
  }
  return m;
}

const SIGNALS = /^(SIG)?[A-Z0-9+-]+$|^\d+$/;

function parseRestart(v: string): { Name: string; MaximumRetryCount: number } {
  if (v === '') return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count] = v.split(':') as [string, string | undefined];
  if (count !== undefined && !/^\d+$/.test(count)) throw new Error(`invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

function parseUlimit(v: string): { Name: string; Soft: number; Hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
  if (!m) throw invalidFlag({ name: 'ulimit' }, v, `invalid ulimit argument: ${v}`);
  const soft = Number(m[2]);
  return { Name: m[1]!, Soft: soft, Hard: m[3] !== undefined ? Number(m[3]) : soft };
}

function parseDevice(v: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = v.split(':');
  const host = parts[0]!;
  let ctr = host;
  let perms = 'rwm';
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1]!)) perms = parts[1]!;
    else ctr = parts[1]!;
  } else if (parts.length >= 3) {
    ctr = parts[1]!;
    perms = parts[2]!;
  }
  return { PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perms };
}

function parseMount(v: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  const bind: Record<string, unknown> = {};
  const tmpfs: Record<string, unknown> = {};
  for (const field of v.split(',')) {
    const i = field.indexOf('=');
    const key = (i < 0 ? field : field.slice(0, i)).toLowerCase();
    const val = i < 0 ? '' : field.slice(i + 1);
    switch (key) {
      case 'type':
        m.Type = val;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = i < 0 || ['1', 'true'].includes(val.toLowerCase());
        break;
      case 'bind-propagation':
        bind.Propagation = val;
        break;
      case 'tmpfs-size':
        tmpfs.SizeBytes = ramInBytes(val);
        break;
      case 'tmpfs-mode':
        tmpfs.Mode = Number.parseInt(val, 8);
        break;
      default:
        throw invalidFlag({ name: 'mount' }, v, `unexpected key '${key}' in '${field}'`);
    }
  }
  if (m.Type === 'bind' && Object.keys(bind).length) m.BindOptions = bind;
  if (m.Type === 'tmpfs' && Object.keys(tmpfs).length) m.TmpfsOptions = tmpfs;
  if (!m.Target) throw invalidFlag({ name: 'mount' }, v, 'target is required');
  return m;
}

export interface CreateRequest {
  name: string;
  image: string;
  body: Record<string, unknown>;
}

/** Build the create request from parsed flags; args[0] is the image, the rest the command. */
export function buildCreate(f: ParsedFlags, detach: boolean): CreateRequest {
  const v = f.values;
  const [image, ...cmd] = f.args as [string, ...string[]];
  const env: string[] = [];
  for (const file of v['env-file'] as string[]) for (const line of readLines(file, 'env')) {
    const e = envValue(line);
    if (e !== undefined) env.push(e);
  }
  for (const x of v.env as string[]) {
    const e = envValue(x);
    if (e !== undefined) env.push(e);
  }
  const labels: string[] = [];
  for (const file of v['label-file'] as string[]) labels.push(...readLines(file, 'label'));
  labels.push(...(v.label as string[]));

  const attach = v.attach as string[];
  const interactive = v.interactive as boolean;
  const tty = v.tty as boolean;
  let attachStdin = false;
  let attachStdout = false;
  let attachStderr = false;
  if (!detach) {
    if (attach.length) {
      for (const a of attach) {
        const x = a.toLowerCase();
        if (x === 'stdin') attachStdin = true;
        else if (x === 'stdout') attachStdout = true;
        else if (x === 'stderr') attachStderr = true;
        else throw invalidFlag({ name: 'attach', short: 'a' }, a, `valid streams are STDIN, STDOUT and STDERR`);
      }
    } else {
      attachStdin = interactive;
      attachStdout = attachStderr = true;
    }
  }

  const config: Record<string, unknown> = {
    Hostname: v.hostname,
    Domainname: v.domainname,
    User: v.user,
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: attachStdin && !detach ? true : false,
    Env: env,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: null,
    WorkingDir: v.workdir,
    Entrypoint: f.changed.has('entrypoint') ? [v.entrypoint as string] : null,
    Labels: keyValueMap(labels),
  };
  if (f.changed.has('stop-signal')) {
    if (!SIGNALS.test(String(v['stop-signal']).toUpperCase())) throw new Error(`invalid signal: ${v['stop-signal']}`);
    config.StopSignal = v['stop-signal'];
  }
  if (f.changed.has('stop-timeout')) config.StopTimeout = v['stop-timeout'];
  const exposed = v.expose as string[];
  if (exposed.length) config.ExposedPorts = Object.fromEntries(exposed.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]));

  const memory = v.memory as number;
  let memorySwap = 0;
  const ms = v['memory-swap'] as string;
  if (ms === '-1') memorySwap = -1;
  else if (ms !== '') {
    try {
      memorySwap = ramInBytes(ms);
    } catch (e) {
      throw invalidFlag({ name: 'memory-swap' }, ms, (e as Error).message);
    }
  }
  let nanoCpus = 0;
  const cpus = v.cpus as string;
  if (cpus !== '') {
    const n = Number(cpus);
    if (!Number.isFinite(n) || !/^[0-9.]+$/.test(cpus)) throw invalidFlag({ name: 'cpus' }, cpus, 'failed to parse as a rational number');
    nanoCpus = Math.round(n * 1e9);
  }
  const tmpfs: Record<string, string> = {};
  for (const t of v.tmpfs as string[]) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  const binds: string[] = [];
  for (const vol of v.volume as string[]) {
    if (!vol.includes(':')) throw new Error(`berth supports only bind mounts for -v (host:container[:opts]): anonymous volume ${vol} is not supported`);
    binds.push(vol);
  }
  const network = v.network as string;
  const hostConfig: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: v.cidfile,
    LogConfig: { Type: v['log-driver'], Config: keyValueMap(v['log-opt'] as string[]) },
    NetworkMode: network,
    PortBindings: {},
    RestartPolicy: parseRestart(v.restart as string),
    AutoRemove: v.rm,
    VolumeDriver: '',
    VolumesFrom: (v['volumes-from'] as string[]).length ? v['volumes-from'] : null,
    ConsoleSize: [0, 0],
    CapAdd: (v['cap-add'] as string[]).length ? v['cap-add'] : null,
    CapDrop: (v['cap-drop'] as string[]).length ? v['cap-drop'] : null,
    CgroupnsMode: v.cgroupns,
    Dns: v.dns,
    DnsOptions: v['dns-option'],
    DnsSearch: v['dns-search'],
    ExtraHosts: (v['add-host'] as string[]).length ? v['add-host'] : null,
    GroupAdd: (v['group-add'] as string[]).length ? v['group-add'] : null,
    IpcMode: v.ipc,
    Cgroup: '',
    OomScoreAdj: 0,
    PidMode: v.pid,
    Privileged: v.privileged,
    PublishAllPorts: v['publish-all'],
    ReadonlyRootfs: v['read-only'],
    SecurityOpt: (v['security-opt'] as string[]).length ? v['security-opt'] : null,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: v.uts,
    UsernsMode: v.userns,
    ShmSize: v['shm-size'],
    Sysctls: (v.sysctl as string[]).length ? keyValueMap(v.sysctl as string[]) : undefined,
    Annotations: (v.annotation as string[]).length ? keyValueMap(v.annotation as string[]) : undefined,
    CpuShares: v['cpu-shares'],
    Memory: memory,
    NanoCpus: nanoCpus,
    CgroupParent: v['cgroup-parent'],
    CpusetCpus: v['cpuset-cpus'],
    CpusetMems: v['cpuset-mems'],
    Devices: (v.device as string[]).map(parseDevice),
    MemoryReservation: v['memory-reservation'],
    MemorySwap: memorySwap,
    OomKillDisable: f.changed.has('oom-kill-disable') ? v['oom-kill-disable'] : null,
    PidsLimit: f.changed.has('pids-limit') ? v['pids-limit'] : null,
    Ulimits: (v.ulimit as string[]).map(parseUlimit),
    Mounts: (v.mount as string[]).length ? (v.mount as string[]).map(parseMount) : undefined,
    Init: f.changed.has('init') ? v.init : null,
  };
  if ((v.publish as string[]).length) throw new Error('berth does not publish ports yet (-p)');
  void fromHumanSize;
  const body: Record<string, unknown> = { ...config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: {} } };
  return { name: v.name as string, image, body };
}
