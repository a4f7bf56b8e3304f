// Spawns the native stage with a launch plan and reads its status lines:
//   pid <hostpid> | hooks | created | exit <code> | error <op> <errno> <message>
import { ChildProcess, StdioOptions, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Socket } from 'node:net';

export type StageMessage =
  | { kind: 'pid'; pid: number }
  | { kind: 'hooks' }
  | { kind: 'created' }
  | { kind: 'exit'; code: number }
  | { kind: 'error'; op: number; errno: number; message: string }
  | { kind: 'eof' }
  /** Host-mode notifications: ready, oom <n>, gone, done. */
  | { kind: 'ready' | 'oom' | 'gone' | 'done'; count?: number }
  /** Host-mode layer_getxattr: the value in hex, or "-" when absent. */
  | { kind: 'xattr'; value: string };

/** The checkout: the nearest directory above this file holding native/ (works from dist/ and from the bundle). */
function findRepoRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'native', 'Makefile'))) return d;
  }
  return path.resolve(__dirname, '../../..');
}
export const REPO_ROOT = findRepoRoot();
export const STAGE_BINARY = process.env.BERTH_STAGE_BINARY ?? path.join(REPO_ROOT, 'native/build/berth-stage');

function parse(line: string): StageMessage | undefined {
  const sp = line.indexOf(' ');
  const kw = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  switch (kw) {
    case 'pid': return { kind: 'pid', pid: Number(rest) };
    case 'hooks': return { kind: 'hooks' };
    case 'created': return { kind: 'created' };
    case 'exit': return { kind: 'exit', code: Number(rest) };
    case 'ready': case 'gone': case 'done': return { kind: kw };
    case 'oom': return { kind: 'oom', count: Number(rest) };
    case 'xattr': return { kind: 'xattr', value: rest };
    case 'error': {
      const m = rest.match(/^(-?\d+) (\d+) ([\s\S]*)$/);
      return m ? { kind: 'error', op: Number(m[1]), errno: Number(m[2]), message: m[3] } : undefined;
    }
    default: return undefined;
  }
}

/** A program that runs the stage for us: `command ...args <stage binary>`. */
export interface StageLauncher {
  command: string;
  args: string[];
  /**
   * Give the launcher one more connected socket, as its fd 4; our end is handed here before
   * the launcher runs (the engine's monitor takes it as its first attach client).
   */
  onSocket?: (sock: Socket) => void;
  /**
   * The launcher can start ahead of need (`command --standby -- <stage>`, its args then sent
   * first on fd 3): StageChannel keeps one ready, for launchers with onSocket and ignored stdio.
   */
  standby?: boolean;
}

/**
 * Launchers started ahead of need, at most one per command (the exec monitor). Taking a ready
 * one saves the ~2 ms Node takes to fork berthd for a new process, on the exec's critical path;
 * a new one is forked once the caller has sent its plan, while the stage starts up. They hold
 * nothing of berthd's alive and leave when berthd goes (EOF on fd 3).
 */
interface Standby {
  child: ChildProcess;
  plan: Socket;
  extra: Socket;
}
const standbys = new Map<string, Standby>();

function takeStandby(command: string): Standby | undefined {
  const s = standbys.get(command);
  standbys.delete(command);
  if (!s) return undefined;
  if (s.child.exitCode !== null || s.child.signalCode !== null || s.plan.destroyed || s.extra.destroyed) return undefined;
  s.child.ref();
  s.plan.ref();
  s.extra.ref();
  return s;
}

function refillStandby(command: string): void {
  if (standbys.has(command)) return;
  let child: ChildProcess;
  try {
    child = spawn(command, ['--standby', '--', STAGE_BINARY], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], env: {}, detached: true });
  } catch {
    return; // the next exec forks its own
  }
  const s: Standby = { child, plan: child.stdio[3] as Socket, extra: child.stdio[4] as Socket };
  const drop = () => standbys.get(command) === s && standbys.delete(command);
  child.on('error', drop);
  child.on('exit', drop);
  for (const sock of [s.plan, s.extra]) {
    sock.on('error', drop);
    sock.unref();
  }
  child.unref();
  standbys.set(command, s);
}

/** A standby launcher's args: u32 LE length, then each NUL-terminated. */
function standbyArgs(args: string[]): Buffer {
  const body = Buffer.from(args.map((a) => `${a}\0`).join(''));
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([len, body]);
}

export class StageChannel {
  private readonly queue: StageMessage[] = [];
  private waiter?: (m: StageMessage) => void;
  private buf = '';
  private ended = false;
  private onEnd: (() => void)[] = [];

  private constructor(readonly child: ChildProcess, private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const msg = parse(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
        if (msg) this.push(msg);
      }
    });
    const end = () => {
      if (this.ended) return;
      this.ended = true;
      this.push({ kind: 'eof' });
      for (const f of this.onEnd.splice(0)) f();
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', end);
  }

  /**
   * stdio are the container's fds 0-2; fd 3 becomes the plan/status socket.
   * A plan whose records include ["more"] is followed by a second part (sendRest).
   */
  static start(plan: Buffer, stdio: StdioOptions = 'inherit', launcher?: StageLauncher): StageChannel {
    const io = (Array.isArray(stdio) ? stdio.slice(0, 3) : [stdio, stdio, stdio]) as StdioOptions & unknown[];
    if (launcher?.standby && launcher.onSocket && io.every((x) => x === 'ignore')) {
      const command = launcher.command;
      const ready = takeStandby(command);
      setImmediate(() => refillStandby(command)); // after the caller's synchronous part (its plan sent)
      if (ready) {
        launcher.onSocket(ready.extra);
        const ch = new StageChannel(ready.child, ready.plan);
        ready.plan.write(standbyArgs(launcher.args));
        ready.plan.write(plan);
        return ch;
      }
    }
    // With a launcher (the engine's per-container monitor), the launcher runs the stage as its
    // own child, passing fd 3 on, and stays as the container's parent in its own session.
    const child = launcher
      ? spawn(launcher.command, [...launcher.args, STAGE_BINARY], { stdio: [...io, 'pipe', ...(launcher.onSocket ? ['pipe'] : [])] as StdioOptions, env: {}, detached: true })
      : spawn(STAGE_BINARY, [], { stdio: [...io, 'pipe'] as StdioOptions, env: {} });
    if (launcher?.onSocket && child.stdio[4]) launcher.onSocket(child.stdio[4] as Socket);
    const sock = child.stdio[3] as Socket;
    const ch = new StageChannel(child, sock);
    child.on('error', () => ch.push({ kind: 'error', op: -1, errno: 2, message: `cannot run ${STAGE_BINARY} (run \`npm run build\`)` }));
    sock.write(plan);
    return ch;
  }

  private push(m: StageMessage): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else {
      this.queue.push(m);
    }
  }

  next(): Promise<StageMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve({ kind: 'eof' });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /**
   * Resolves when every holder of the stage's end has closed it (or `release` was called). Once
   * the container's init is the only holder (after "created"), that is when it execs or dies.
   */
  closed(): Promise<void> {
    if (this.ended || this.sock.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.onEnd.push(resolve));
  }

  /** The rest of a plan started with a ["more"] record. */
  sendRest(plan: Buffer): void {
    this.sock.write(plan);
  }

  send(data: string): void {
    this.sock.write(data);
  }

  /** Stops a long-running host-mode stage (an OOM watch). */
  kill(): void {
    this.sock.destroy();
    this.child.kill('SIGKILL');
  }

  /** Let berth-runtime exit without waiting for the stage (the container lives on). */
  release(): void {
    this.sock.destroy();
    this.child.unref();
    for (const f of this.onEnd.splice(0)) f();
  }
}
