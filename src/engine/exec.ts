/**
 * `docker exec`: sessions created against a running container and started later. The process
 * runs under a monitor of its own (like the container's init), so its output, stdin and tty go
 * through the same attach protocol and it survives a berthd restart; its exit code comes from the
 * monitor's exit file. berthd hands the monitor its attach connection at launch (a socketpair),
 * so no output is missed, and that connection's end tells when the process has ended.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execInContainer } from '../runtime/lifecycle/exec';
import type { Engine } from './engine';
import { EngineConflictError, NotRunningError } from './errors';
import { AttachClient, consoleSocketPath, monitorLauncher, readExitFile } from './monitor';
import { ContainerArchive } from './archive';
import { resolveUser } from './spec/user';
import { currentCapabilities } from './spec/capabilities';
import { mark } from '../kernel/trace';

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
  /** [height, width] of the client's terminal (API 1.42+), set before the process runs. */
  ConsoleSize?: [number, number] | null;
}

export interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  dir: string;
}

export class ExecNotFoundError extends Error {
  constructor(id: string) {
    super(`No such exec instance: ${id}`);
    this.name = 'ExecNotFoundError';
  }
}

export class ExecManager {
  private readonly sessions = new Map<string, ExecSession>();

  constructor(private readonly engine: Engine, private readonly execRoot: string) {}

  create(containerRef: string, config: ExecConfig): string {
    const rec = this.engine.get(containerRef);
    if (!rec.State.Running) throw new NotRunningError(rec.Id);
    if (rec.State.Paused) throw new EngineConflictError(409, `Container ${rec.Id} is paused, unpause the container before exec`);
    if (!Array.isArray(config.Cmd) || config.Cmd.length === 0) throw new EngineConflictError(400, 'No exec command specified');
    const id = randomBytes(32).toString('hex');
    this.sessions.set(id, { id, containerId: rec.Id, config, running: false, exitCode: null, pid: 0, dir: path.join(this.execRoot, 'x', id.slice(0, 24)) });
    this.engine.events.emit('container', `exec_create: ${config.Cmd.join(' ')}`, rec.Id, { name: rec.Name, image: rec.Config.Image ?? '', execID: id });
    return id;
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw new ExecNotFoundError(id);
    return s;
  }

  idsOf(containerId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.containerId === containerId).map((s) => s.id);
  }

  /**
   * Starts the process under its monitor; resolves when it has started, with the monitor
   * connection (stdcopy frames from the process's first byte on; stdin, resizes). The exit is
   * recorded when that connection ends. Without `attached` the output is discarded here.
   */
  async start(id: string, attached: boolean, consoleSize?: [number, number] | null): Promise<{ session: ExecSession; client: AttachClient }> {
    const s = this.get(id);
    if (s.running || s.exitCode !== null) throw new EngineConflictError(409, `exec ${id} has already been started`);
    const rec = this.engine.get(s.containerId);
    if (!rec.State.Running) throw new NotRunningError(rec.Id);
    const c = s.config;
    mark('engine.exec: start');
    s.running = true; // from here: a second start of this exec is refused
    let user: ReturnType<typeof resolveUser> | undefined;
    if (c.User) {
      try {
        // Names are looked up in the container's files as they are now, as dockerd does.
        const names = ['/etc/passwd', '/etc/group'];
        const files = /^\d+(:\d+)?$/.test(c.User) ? [] : await new ContainerArchive(this.engine).readFiles(rec, names);
        user = resolveUser(c.User, [], (p) => files[names.indexOf(p)]);
      } catch (e) {
        s.running = false;
        s.exitCode = 126; // an exec that cannot start (here: no such user), as dockerd records it
        throw e;
      }
    }
    fs.mkdirSync(s.dir, { recursive: true, mode: 0o700 }); // a fresh id: nothing there yet
    let client: AttachClient | undefined;
    try {
      await execInContainer(this.engine.runtime, {
        id: rec.Id,
        args: c.Cmd!,
        tty: !!c.Tty,
        detach: true,
        ...(c.WorkingDir ? { cwd: c.WorkingDir } : {}),
        env: c.Env ?? [],
        ...(user ? { user: `${user.uid}:${user.gid}` } : {}),
        additionalGids: user?.additionalGids ?? [],
        caps: c.Privileged ? currentCapabilities() : [],
        launcher: monitorLauncher({ dir: s.dir, logPath: '/dev/null', tty: !!c.Tty, openStdin: !!c.AttachStdin, attach: { raw: true, connected: (ac) => (client = ac) } }),
        stdio: 'ignore',
        ...(c.Tty ? { consoleSocket: consoleSocketPath(s.dir) } : {}),
        ...(sizeOf(consoleSize ?? c.ConsoleSize) ? { consoleSize: sizeOf(consoleSize ?? c.ConsoleSize)! } : {}),
      }, (pid) => (s.pid = pid));
    } catch (e) {
      s.running = false;
      // dockerd records 126 for any exec that cannot start (command not found, not executable,
      // a bad working directory): checked against dockerd 20.10 with the same docker CLI.
      s.exitCode = 126;
      // The monitor may still be writing its exit file there: remove the dir once it is gone
      // (it leaves when the stage has failed; its end of our connection closes with it).
      if (client) void client.closed.then(() => fs.rmSync(s.dir, { recursive: true, force: true }));
      else fs.rmSync(s.dir, { recursive: true, force: true });
      throw e;
    }
    mark('engine.exec: started');
    this.engine.events.emit('container', `exec_start: ${c.Cmd!.join(' ')}`, rec.Id, { name: rec.Name, image: rec.Config.Image ?? '', execID: id });
    // Registered before the caller's own handlers: the exit is recorded before a client that
    // saw the stream end can ask for it.
    const ac = client!;
    void ac.closed.then(() => this.finished(s));
    if (!attached) ac.frames!.resume();
    return { session: s, client: ac };
  }

  /** The process ended (its monitor closed the attach connection): record the exit code. */
  private async finished(s: ExecSession): Promise<void> {
    // The monitor writes it before closing the connection; a monitor that was killed never does.
    let exit = readExitFile(s.dir);
    for (let i = 0; i < 50 && !exit; i++) {
      await new Promise((r) => setTimeout(r, 20));
      exit = readExitFile(s.dir);
    }
    s.running = false;
    s.exitCode = exit?.exitCode ?? 126;
    mark('engine.exec: exit recorded');
    // Once the caller has ended the client's stream (its handlers run next): not in its way.
    setImmediate(() => fs.rmSync(s.dir, { recursive: true, force: true }));
    const rec = this.engine.store.find(s.containerId);
    if (rec) this.engine.events.emit('container', 'exec_die', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '', execID: s.id, exitCode: String(s.exitCode) });
  }

  /** Docker's ExecInspect. */
  inspect(id: string): Record<string, unknown> {
    const s = this.get(id);
    const [entrypoint = '', ...args] = s.config.Cmd ?? [];
    return {
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: { privileged: !!s.config.Privileged, user: s.config.User ?? '', tty: !!s.config.Tty, entrypoint, arguments: args },
      OpenStdin: !!s.config.AttachStdin,
      OpenStderr: !!s.config.AttachStderr,
      OpenStdout: !!s.config.AttachStdout,
      CanRemove: false,
      ContainerID: s.containerId,
      DetachKeys: s.config.DetachKeys ?? '',
      Pid: s.pid,
    };
  }

  /** Forget sessions of a removed container. */
  dropContainer(containerId: string): void {
    for (const [id, s] of this.sessions) if (s.containerId === containerId) this.sessions.delete(id);
  }
}

/** Docker's [height, width] as the runtime's consoleSize; nothing for an unset or 0x0 size. */
function sizeOf(v: [number, number] | null | undefined): { height: number; width: number } | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [height, width] = v.map(Number) as [number, number];
  return height > 0 && width > 0 ? { height, width } : undefined;
}
