// start: release a created container's init through its exec fifo, then poststart hooks.
import * as fs from 'node:fs';
import { RuntimeError, errnoCode } from '../errors';
import { runHooksWarn } from '../hooks/run-hooks';
import type { RuntimeContext } from './context';
import { ociState, statusOf } from './status';

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
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
  await runHooksWarn('poststart', state.config.hooks?.poststart, ociState(ctx.store, state, 'running'), ctx.warn);
}
