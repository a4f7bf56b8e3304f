/**
 * berth: the docker-compatible command line client of berthd.
 *
 *   berth [OPTIONS] COMMAND [ARG...]
 *
 * Command modules load lazily (require inside the table below): `berth --help` evaluates
 * only this file, flags.ts and command.ts.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { flagUsages, FlagError, parseFlags, type FlagDef } from './flags';
import { BIN, runCommand, type CommandSpec, type Ctx } from './command';
import type { Client } from './client';

interface Entry {
  name: string;
  short: string;
  load: () => CommandSpec;
  /** Position in "Common Commands" (docker's category-top annotation). */
  top?: number;
  aliases?: string[];
}

const img = () => require('./commands/image') as typeof import('./commands/image');
const list = () => require('./commands/image-list') as typeof import('./commands/image-list');
const arc = () => require('./commands/image-archive') as typeof import('./commands/image-archive');
const sys = () => require('./commands/system') as typeof import('./commands/system');
const reg = () => require('./commands/registry') as typeof import('./commands/registry');
const crun = () => require('./commands/container-run') as typeof import('./commands/container-run');
const clist = () => require('./commands/container-list') as typeof import('./commands/container-list');
const cio = () => require('./commands/container-io') as typeof import('./commands/container-io');
const cst = () => require('./commands/container-stats') as typeof import('./commands/container-stats');
const sdf = () => require('./commands/system-df') as typeof import('./commands/system-df');
const ccp = () => require('./commands/container-cp') as typeof import('./commands/container-cp');
const cops = () => require('./commands/container-ops') as typeof import('./commands/container-ops');
const prune = () => require('./commands/prune') as typeof import('./commands/prune');

const COMMANDS: Entry[] = [
  { name: 'run', short: 'Create and run a new container from an image', top: 1, load: () => crun().run() },
  { name: 'ps', short: 'List containers', top: 3, load: () => clist().ps() },
  { name: 'exec', short: 'Execute a command in a running container', top: 4, load: () => cio().exec() },
  { name: 'logs', short: 'Fetch the logs of a container', load: () => cio().logs() },
  { name: 'attach', short: 'Attach local standard input, output, and error streams to a running container', load: () => cio().attach() },
  { name: 'inspect', short: 'Return low-level information on Berth objects', load: () => cio().inspect() },
  { name: 'events', short: 'Get real time events from the server', load: () => cio().events() },
  { name: 'create', short: 'Create a new container', load: () => crun().create() },
  { name: 'start', short: 'Start one or more stopped containers', load: () => crun().start() },
  { name: 'stop', short: 'Stop one or more running containers', load: () => cops().stop() },
  { name: 'restart', short: 'Restart one or more containers', load: () => cops().restart() },
  { name: 'kill', short: 'Kill one or more running containers', load: () => cops().kill() },
  { name: 'rm', short: 'Remove one or more containers', load: () => cops().rm() },
  { name: 'pause', short: 'Pause all processes within one or more containers', load: () => cops().pause() },
  { name: 'unpause', short: 'Unpause all processes within one or more containers', load: () => cops().unpause() },
  { name: 'wait', short: 'Block until one or more containers stop, then print their exit codes', load: () => cops().wait() },
  { name: 'rename', short: 'Rename a container', load: () => cops().rename() },
  { name: 'diff', short: "Inspect changes to files or directories on a container's filesystem", load: () => cops().diff() },
  { name: 'export', short: "Export a container's filesystem as a tar archive", load: () => cops().exportCmd() },
  { name: 'commit', short: "Create a new image from a container's changes", load: () => cops().commit() },
  { name: 'cp', short: 'Copy files/folders between a container and the local filesystem', load: () => ccp().cp() },
  { name: 'stats', short: "Display a live stream of container(s) resource usage statistics", load: () => cst().stats() },
  { name: 'top', short: 'Display the running processes of a container', load: () => cst().top() },
  { name: 'port', short: 'List port mappings or a specific mapping for the container', load: () => cst().port() },
  { name: 'update', short: 'Update configuration of one or more containers', load: () => cst().update() },
  { name: 'pull', short: 'Download an image from a registry', top: 5, load: () => img().pull() },
  { name: 'push', short: 'Upload an image to a registry', top: 6, load: () => img().push() },
  { name: 'images', short: 'List images', top: 7, load: () => list().images() },
  { name: 'login', short: 'Authenticate to a registry', top: 8, load: () => reg().login() },
  { name: 'logout', short: 'Log out from a registry', top: 9, load: () => reg().logout() },
  { name: 'version', short: 'Show the Berth version information', top: 10, load: () => sys().version() },
  { name: 'info', short: 'Display system-wide information', top: 11, load: () => sys().info() },
  { name: 'history', short: 'Show the history of an image', load: () => img().history() },
  { name: 'import', short: 'Import the contents from a tarball to create a filesystem image', load: () => arc().importCmd() },
  { name: 'load', short: 'Load an image from a tar archive or STDIN', load: () => arc().load() },
  { name: 'rmi', short: 'Remove one or more images', load: () => img().rmi() },
  { name: 'save', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)', load: () => arc().save() },
  { name: 'tag', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: () => img().tag() },
];

const GROUPS: Record<string, { short: string; subs: Entry[] }> = {
  container: {
    short: 'Manage containers',
    subs: [
      { name: 'attach', short: 'Attach local standard input, output, and error streams to a running container', load: () => cio().attach('container attach') },
      { name: 'commit', short: "Create a new image from a container's changes", load: () => cops().commit('container commit') },
      { name: 'cp', short: 'Copy files/folders between a container and the local filesystem', load: () => ccp().cp('container cp') },
      { name: 'create', short: 'Create a new container', load: () => crun().create('container create') },
      { name: 'diff', short: "Inspect changes to files or directories on a container's filesystem", load: () => cops().diff('container diff') },
      { name: 'exec', short: 'Execute a command in a running container', load: () => cio().exec('container exec') },
      { name: 'export', short: "Export a container's filesystem as a tar archive", load: () => cops().exportCmd('container export') },
      { name: 'inspect', short: 'Display detailed information on one or more containers', load: () => cio().containerInspect() },
      { name: 'kill', short: 'Kill one or more running containers', load: () => cops().kill('container kill') },
      { name: 'logs', short: 'Fetch the logs of a container', load: () => cio().logs('container logs') },
      { name: 'ls', short: 'List containers', aliases: ['ps', 'list'], load: () => clist().containerLs() },
      { name: 'pause', short: 'Pause all processes within one or more containers', load: () => cops().pause('container pause') },
      { name: 'port', short: 'List port mappings or a specific mapping for the container', load: () => cst().port('container port') },
      { name: 'prune', short: 'Remove all stopped containers', load: () => prune().containerPrune() },
      { name: 'rename', short: 'Rename a container', load: () => cops().rename('container rename') },
      { name: 'restart', short: 'Restart one or more containers', load: () => cops().restart('container restart') },
      { name: 'rm', short: 'Remove one or more containers', aliases: ['remove'], load: () => cops().rm('container rm') },
      { name: 'run', short: 'Create and run a new container from an image', load: () => crun().run('container run') },
      { name: 'start', short: 'Start one or more stopped containers', load: () => crun().start('container start') },
      { name: 'stats', short: "Display a live stream of container(s) resource usage statistics", load: () => cst().stats('container stats') },
      { name: 'stop', short: 'Stop one or more running containers', load: () => cops().stop('container stop') },
      { name: 'top', short: 'Display the running processes of a container', load: () => cst().top('container top') },
      { name: 'unpause', short: 'Unpause all processes within one or more containers', load: () => cops().unpause('container unpause') },
      { name: 'update', short: 'Update configuration of one or more containers', load: () => cst().update('container update') },
      { name: 'wait', short: 'Block until one or more containers stop, then print their exit codes', load: () => cops().wait('container wait') },
    ],
  },
  image: {
    short: 'Manage images',
    subs: [
      { name: 'history', short: 'Show the history of an image', load: () => img().history('image history') },
      { name: 'import', short: 'Import the contents from a tarball to create a filesystem image', load: () => arc().importCmd('image import') },
      { name: 'inspect', short: 'Display detailed information on one or more images', load: () => img().imageInspect() },
      { name: 'load', short: 'Load an image from a tar archive or STDIN', load: () => arc().load('image load') },
      { name: 'ls', short: 'List images', aliases: ['list'], load: () => list().imageLs() },
      { name: 'prune', short: 'Remove unused images', load: () => prune().imagePrune() },
      { name: 'pull', short: 'Download an image from a registry', load: () => img().pull('image pull') },
      { name: 'push', short: 'Upload an image to a registry', load: () => img().push('image push') },
      { name: 'rm', short: 'Remove one or more images', aliases: ['rmi', 'remove'], load: () => img().imageRm() },
      { name: 'save', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)', load: () => arc().save('image save') },
      { name: 'tag', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: () => img().tag('image tag') },
    ],
  },
  system: {
    short: 'Manage Berth',
    subs: [
      { name: 'df', short: 'Show berth disk usage', load: () => sdf().df() },
      { name: 'events', short: 'Get real time events from the server', load: () => cio().events('system events') },
      { name: 'info', short: 'Display system-wide information', load: () => sys().info('system info') },
      { name: 'prune', short: 'Remove unused data', load: () => prune().systemPrune() },
    ],
  },
};

const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'config', kind: 'string', usage: 'Location of client config files', default: defaultConfigDir() },
  { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug mode' },
  { name: 'host', short: 'H', kind: 'list', usage: 'Daemon socket to connect to' },
  { name: 'log-level', short: 'l', kind: 'string', usage: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', default: 'info' },
  { name: 'version', short: 'v', kind: 'bool', usage: 'Print version information and quit' },
];

function defaultConfigDir(): string {
  return process.env.BERTH_CONFIG || path.join(os.homedir(), '.berth');
}

const rpad = (s: string, n: number) => s.padEnd(n);

function cols(): number {
  return (process.stdin.isTTY ? (process.stdout.columns ?? 80) : 80) - 1;
}

function rootHelp(): string {
  const pad = Math.max(11, ...COMMANDS.map((c) => c.name.length), ...Object.keys(GROUPS).map((g) => g.length));
  const line = (name: string, short: string) => `  ${rpad(name + ' ', pad + 1)}${short}\n`;
  let s = `Usage:  ${BIN} [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers, compatible with docker\n\nCommon Commands:\n`;
  for (const c of COMMANDS.filter((x) => x.top).sort((a, b) => a.top! - b.top!)) s += line(c.name, c.short);
  s += '\nManagement Commands:\n';
  for (const [name, g] of Object.entries(GROUPS)) s += line(name, g.short);
  s += '\nCommands:\n';
  for (const c of COMMANDS.filter((x) => !x.top)) s += `  ${rpad(c.name, pad)} ${c.short}\n`;
  s += `\nGlobal Options:\n${flagUsages(GLOBAL_FLAGS, cols()).replace(/\s+$/, '')}\n`;
  s += `\nRun '${BIN} COMMAND --help' for more information on a command.\n`;
  return s;
}

function groupHelp(name: string): string {
  const g = GROUPS[name]!;
  const pad = Math.max(11, ...g.subs.map((c) => c.name.length));
  let s = `Usage:  ${BIN} ${name} COMMAND\n\n${g.short}\n\nCommands:\n`;
  for (const c of g.subs) s += `  ${rpad(c.name, pad)} ${c.short}\n`;
  s += `\nRun '${BIN} ${name} COMMAND --help' for more information on a command.\n`;
  return s;
}

function write(stream: NodeJS.WriteStream, s: string): void {
  if (s !== '') stream.write(s);
}

function flagWords(defs: FlagDef[]): string[] {
  const out: string[] = [];
  for (const d of defs.filter((x) => !x.hidden)) {
    out.push(`--${d.name}`);
    if (d.short) out.push(`-${d.short}`);
  }
  return [...out, '--help'];
}

/** The command table for `berth completion` (loads every command module). */
function completionTable(): import('./commands/completion').CompletionTable {
  return {
    commands: COMMANDS.map((c) => ({ name: c.name, flags: flagWords(c.load().flags) })),
    groups: Object.entries(GROUPS).map(([name, g]) => ({ name, subs: g.subs.map((c) => ({ name: c.name, flags: flagWords(c.load().flags) })) })),
    globalFlags: flagWords(GLOBAL_FLAGS),
    globalValueFlags: GLOBAL_FLAGS.filter((d) => d.kind !== 'bool').flatMap((d) => [`--${d.name}`, ...(d.short ? [`-${d.short}`] : [])]),
  };
}

export function makeContext(host: string[] | undefined, configDir: string): Ctx {
  let client: Client | undefined;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    configDir,
    client() {
      if (!client) {
        const { Client: C, resolveHost } = require('./client') as typeof import('./client');
        client = new C(resolveHost(host));
      }
      return client;
    },
    out: (s) => write(process.stdout, s),
    err: (s) => write(process.stderr, s),
  };
}

export async function main(argv: string[]): Promise<number> {
  // A closed pipe (berth images | head) ends output quietly, as Go programs do on EPIPE.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  let g;
  try {
    g = parseFlags(GLOBAL_FLAGS, argv, { interspersed: false });
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\n\nUsage:  ${BIN} [OPTIONS] COMMAND [ARG...]\n\nRun '${BIN} --help' for more information\n`);
      return 125;
    }
    throw e;
  }
  if (g.values.version) {
    process.stdout.write(`Berth version ${require('./commands/system').VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = g.args;
  if (g.help && name !== undefined) rest.push('--help');
  if (name === undefined) {
    process.stdout.write(rootHelp());
    return 0;
  }
  if (name === 'help') return main([...rest, '--help']);
  const ctx = makeContext(g.changed.has('host') ? (g.values.host as string[]) : undefined, g.values.config as string);
  const group = GROUPS[name];
  if (group) {
    const [sub, ...subArgs] = rest;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write(groupHelp(name));
      return 0;
    }
    const entry = group.subs.find((c) => c.name === sub || c.aliases?.includes(sub));
    if (!entry) {
      process.stderr.write(`${BIN}: unknown command: ${BIN} ${name} ${sub}\n\nUsage:  ${BIN} ${name}\n\nRun '${BIN} ${name} --help' for more information\n`);
      return 1;
    }
    return runCommand(entry.load(), ctx, subArgs);
  }
  if (name === 'completion') {
    const { completion } = require('./commands/completion') as typeof import('./commands/completion');
    return runCommand(completion(completionTable), ctx, rest);
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`${BIN}: unknown command: ${BIN} ${name}\n\nRun '${BIN} --help' for more information\n`);
    return 1;
  }
  return runCommand(entry.load(), ctx, rest);
}
