/**
 * berthd: checks its configuration and roots, takes the pid file and the socket (refusing when
 * another daemon holds them), serves the API, and on SIGTERM/SIGINT stops listening and leaves.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ConfigError, parseDaemonArgs, USAGE, type DaemonConfig } from './config';
import type { DaemonContext } from './context';
import { openSnapshotter } from '../storage/snapshotter';
import { ImageService } from '../image/service';
import { EventBus } from '../engine/events';
import { Engine } from '../engine/engine';
import { ExecManager } from '../engine/exec';
import { INIT_BINARY } from '../engine/monitor';
import { reconcile } from '../engine/reconcile';
import { createApiServer } from '../api/server';

export const BERTH_VERSION = '0.1.0';

export class StartupError extends Error {}

// A log whose reader went away must not take berthd down, nor loop: the error of a broken
// stderr would reach the uncaught-exception handler, which logs.
let logBroken = false;
process.stderr.on('error', () => (logBroken = true));

function log(line: string): void {
  if (logBroken) return;
  try {
    process.stderr.write(`${new Date().toISOString()} berthd: ${line}\n`);
  } catch {
    logBroken = true;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the pid file, or explains which berthd holds it. */
function takePidFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o711 });
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (pid > 0 && pid !== process.pid && alive(pid)) {
      const comm = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (comm.includes('berthd')) throw new StartupError(`berthd is already running (pid ${pid}, pid file ${file}); stop it first: kill ${pid}`);
    }
  } catch (e) {
    if (e instanceof StartupError) throw e;
  }
  fs.writeFileSync(`${file}.tmp`, `${process.pid}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** Removes a stale socket file; refuses one somebody still listens on. */
async function claimSocket(sock: string): Promise<void> {
  fs.mkdirSync(path.dirname(sock), { recursive: true, mode: 0o711 });
  if (!fs.existsSync(sock)) return;
  const inUse = await new Promise<boolean>((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (inUse) throw new StartupError(`socket ${sock} is in use by another daemon; stop it, or give berthd another socket with -H unix:///path`);
  fs.unlinkSync(sock);
}

/** The gid of `group` from /etc/group, if it exists. */
function groupId(group: string): number | undefined {
  try {
    for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === group) return Number(gid);
    }
  } catch {
    /* no /etc/group */
  }
  return undefined;
}

function checkRoot(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
    const probe = path.join(dir, `.berthd-probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
  } catch (e) {
    throw new StartupError(`${what} ${dir} is not usable: ${(e as Error).message}; choose another with --${what.replace(' ', '-')}`);
  }
}

/** Starts the daemon; resolves with a stop function once it is listening. */
export async function startDaemon(config: DaemonConfig): Promise<{ stop: () => Promise<void>; sockets: string[] }> {
  checkRoot(config.dataRoot, 'data root');
  checkRoot(config.execRoot, 'exec root');
  takePidFile(config.pidfile);
  try {
    fs.writeFileSync('/proc/self/oom_score_adj', '-500');
  } catch (e) {
    log(`warning: could not lower own oom_score_adj (${(e as NodeJS.ErrnoException).code}): needs CAP_SYS_RESOURCE`);
  }
  const snapshotter = await openSnapshotter(path.join(config.dataRoot, 'storage'), config.storageDriver);
  log(`storage driver ${snapshotter.driver}: ${snapshotter.reason}`);
  const images = new ImageService({
    root: path.join(config.dataRoot, 'image'),
    layers: snapshotter,
    registry: { insecureRegistries: config.insecureRegistries, ...(config.credentialsFile ? { configPath: config.credentialsFile } : {}) },
  });
  await images.init();
  const events = new EventBus();
  const engine = new Engine({
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    images,
    snapshotter,
    events,
    ...(fs.existsSync(INIT_BINARY) ? { initBinary: INIT_BINARY } : {}),
    log,
  });
  const execs = new ExecManager(engine, config.execRoot);
  await reconcile(engine, log);
  const ctx: DaemonContext = {
    config,
    version: BERTH_VERSION,
    startedAt: new Date(),
    images,
    snapshotter,
    events,
    storage: { driver: snapshotter.driver, reason: snapshotter.reason },
    execIdsOf: (id) => execs.idsOf(id),
    imageUsage: async () => engine.imageUsage(),
    containerCounts: () => {
      const all = engine.store.all();
      const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
      const paused = all.filter((c) => c.State.Paused).length;
      return { total: all.length, running, paused, stopped: all.length - running - paused };
    },
    log,
  };
  const server = createApiServer(ctx, engine, execs);
  const sockets = config.hosts.map((h) => h.slice('unix://'.length));
  for (const sock of sockets) {
    await claimSocket(sock);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sock, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(sock, 0o660);
    const gid = groupId(config.group);
    if (gid !== undefined) fs.chownSync(sock, 0, gid);
    else if (config.group !== 'berth') log(`warning: group ${config.group} does not exist; socket ${sock} is root-only`);
    log(`listening on unix://${sock}`);
  }
  const stop = async (): Promise<void> => {
    engine.shuttingDown = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of conns) c.destroy();
    await closed;
    for (const s of sockets) fs.rmSync(s, { force: true });
    try {
      if (fs.readFileSync(config.pidfile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(config.pidfile);
    } catch {
      /* already gone */
    }
  };
  // Keep-alive connections (docker CLI) would hold close() open: end them on shutdown.
  const conns = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    conns.add(s);
    s.once('close', () => conns.delete(s));
  });
  server.once('close', () => {
    for (const s of conns) s.destroy();
  });
  return { stop, sockets };
}

export async function main(argv: string[]): Promise<number> {
  let config: DaemonConfig | 'help';
  try {
    config = parseDaemonArgs(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`berthd: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd: must run as root (it creates namespaces, mounts and cgroups)\n');
    return 1;
  }
  // Last resort: a bug in one request's handling must not take the daemon (and the API of every
  // container) down; it is logged with its stack for the fix.
  process.on('unhandledRejection', (e) => log(`error: unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  process.on('uncaughtException', (e) => log(`error: uncaught exception: ${e.stack ?? e.message}`));
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon(config);
  } catch (e) {
    process.stderr.write(`berthd: ${e instanceof StartupError ? e.message : (e as Error).stack}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (sig: string): void => {
      log(`${sig}: shutting down (containers keep running)`);
      const force = setTimeout(() => resolve(0), 5000);
      force.unref();
      daemon.stop().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
