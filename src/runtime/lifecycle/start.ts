// start: release a created container's init through its exec fifo, then poststart hooks.
import * as fs from 'node:fs';
import { RuntimeError, errnoCode } from '../errors';
import { runHooksWarn } from '../hooks/run-hooks';
import { isSameProcessAlive } from '../../kernel/proc';
import type { RuntimeContext } from './context';
import { ociState, statusOf } from './status';

/**
 * poststart runs after the process has been executed, and a failing startContainer hook
 * fails `start` (OCI runtime spec): wait until the init is no longer the stage binary.
 */
async function waitForExec(ctx: RuntimeContext, id: string, pid: number, startTime: string | undefined, execed?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 120_000; // startContainer hooks may take their time
  if (execed) {
    // The caller's signal (the plan socket's end: the init holds it close-on-exec) saves polling.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([execed, new Promise((r) => (timer = setTimeout(r, 120_000)))]);
    clearTimeout(timer);
  }
  for (let delay = 0.2; ; delay = Math.min(delay * 2, 20)) {
    let exe: string | undefined;
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
    } catch {
      exe = undefined;
    }
    if (exe !== undefined && !exe.includes('memfd:berth-stage')) return;
    if (!isSameProcessAlive(pid, startTime)) {
      let why = '';
      try {
        why = fs.readFileSync(ctx.store.statusFile(id), 'utf8').replace(/^\d+ /, '').trim();
      } catch {
        /* nothing recorded */
      }
      if (why) throw new RuntimeError(`starting container ${id}: ${why}`);
      return; // it exec'd and already exited: that is a successful start
    }
    if (Date.now() > deadline) throw new RuntimeError(`starting container ${id}: its process did not start within 120 s (a startContainer hook still running?)`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

export interface StartOptions {
  /**
   * Settles when the init has exec'd the process or died (the engine keeps the stage's plan
   * socket, which the init holds close-on-exec, and passes its end): no polling of /proc.
   */
  execed?: Promise<unknown>;
}

export async function startContainer(ctx: RuntimeContext, id: string, opts: StartOptions = {}): Promise<void> {
  const state = ctx.store.read(id);
  const status = statusOf(ctx.store, state);
  if (status === 'stopped') throw new RuntimeError(`cannot start container ${id}: it has stopped`);
  if (status !== 'created') throw new RuntimeError(`cannot start container ${id}: it is already ${status}`);
  const fifo = ctx.store.fifo(id);
  let fd: number;
  try {
    // Non-blocking: with no reader (the init died), ENXIO instead of hanging.
    fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    if (errnoCode(e) === 'ENXIO' || errnoCode(e) === 'ENOENT') throw new RuntimeError(`cannot start container ${id}: its init is no longer waiting`);
    throw e;
  }
  try {
    fs.writeSync(fd, '0');
  } finally {
    fs.closeSync(fd);
  }
  fs.rmSync(fifo, { force: true });
  await waitForExec(ctx, state.id, state.pid, state.pidStartTime, opts.execed);
  await runHooksWarn('poststart', state.config.hooks?.poststart, ociState(ctx.store, state, 'running'), ctx.warn);
}
