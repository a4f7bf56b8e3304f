// linux.seccomp → the compiled filter for the stage (loaded just before exec), and the
// NOTIFY listener the stage parent connects to.
import * as path from 'node:path';
import type { LinuxSeccomp } from '../spec/types';
import { RuntimeError } from '../errors';
import { compileCached, SeccompError } from '../seccomp';
import { LaunchPlan } from './plan';

/** Not a valid container id (no "@"), so the cache can never be mistaken for a container. */
export const SECCOMP_CACHE_DIR = '@seccomp-cache';

export function seccompCacheDir(stateRoot: string): string {
  return path.join(stateRoot, SECCOMP_CACHE_DIR);
}

export interface ListenerState {
  id: string;
  bundle: string;
  annotations?: Record<string, string>;
}

export function planSeccomp(plan: LaunchPlan, profile: LinuxSeccomp | undefined, cacheDir: string | undefined, listener: ListenerState): void {
  if (!profile) return; // unconfined
  let compiled;
  try {
    compiled = compileCached(profile, cacheDir);
  } catch (e) {
    if (e instanceof SeccompError) throw new RuntimeError(`config.json: ${e.message}`);
    throw e;
  }
  plan.process.push(['seccomp', compiled.program, compiled.flags]);
  if (compiled.listenerPath) {
    plan.header.push(['seccomplistener', compiled.listenerPath]);
    // runc's payload to the listener: what the agent needs to find the container.
    plan.process.push(['seccompstate', JSON.stringify({
      ociVersion: '1.2.0', fds: ['seccompFd'], metadata: compiled.listenerMetadata ?? '',
      state: { ociVersion: '1.2.0', id: listener.id, status: 'creating', bundle: listener.bundle, annotations: listener.annotations ?? {} },
    })]);
  }
}
