// A container's OCI status, derived from what the kernel says rather than stored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSameProcessAlive } from '../../kernel/proc';
import type { ContainerState, StateStore } from '../state/store';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

function frozen(state: ContainerState): boolean {
  const dirs = state.cgroup?.dirs ?? {};
  try {
    if (dirs.freezer) return fs.readFileSync(path.join(dirs.freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN';
    if (state.cgroup?.version === 2 && dirs.unified) return fs.readFileSync(path.join(dirs.unified, 'cgroup.freeze'), 'utf8').trim() === '1';
  } catch {
    /* a missing cgroup is not frozen */
  }
  return false;
}

export function statusOf(store: StateStore, state: ContainerState): Status {
  if (!isSameProcessAlive(state.pid, state.pidStartTime)) return 'stopped';
  if (fs.existsSync(store.fifo(state.id))) return 'created';
  return frozen(state) ? 'paused' : 'running';
}

/** The OCI state JSON, shaped as runc prints it. */
export function ociState(store: StateStore, state: ContainerState, status = statusOf(store, state)) {
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === 'stopped' ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    owner: state.owner,
    ...(state.annotations && Object.keys(state.annotations).length ? { annotations: state.annotations } : {}),
  };
}

/** Waits until a (non-child) process is gone or a zombie. */
export async function waitGone(pid: number, startTime: string | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (isSameProcessAlive(pid, startTime)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
  return true;
}
