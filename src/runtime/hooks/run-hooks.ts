// OCI hooks that run in the runtime's namespaces (prestart, createRuntime,
// poststart, poststop): the state JSON on stdin, an optional timeout.
import { spawn } from 'node:child_process';
import type { Hook } from '../spec/types';
import { RuntimeError } from '../errors';

export function runHook(phase: string, hook: Hook, state: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = hook.args && hook.args.length ? hook.args : [hook.path];
    const env: Record<string, string> = {};
    for (const e of hook.env ?? []) {
      const i = e.indexOf('=');
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    }
    const child = spawn(hook.path, args.slice(1), { argv0: args[0], env, stdio: ['pipe', 'inherit', 'inherit'] });
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (hook.timeout) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, hook.timeout * 1000);
    }
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new RuntimeError(`${phase} hook ${hook.path} could not be run: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new RuntimeError(`${phase} hook ${hook.path} timed out after ${hook.timeout} s`));
      else if (code === 0) resolve();
      else reject(new RuntimeError(`${phase} hook ${hook.path} failed (${signal ? `signal ${signal}` : `exit status ${code}`})`));
    });
    child.stdin.on('error', () => undefined); // a hook may exit without reading its stdin
    child.stdin.end(JSON.stringify(state));
  });
}

export async function runHooks(phase: string, hooks: Hook[] | undefined, state: object): Promise<void> {
  for (const h of hooks ?? []) await runHook(phase, h, state);
}

/** poststart/poststop: failures are warnings, the lifecycle goes on (OCI runtime spec). */
export async function runHooksWarn(phase: string, hooks: Hook[] | undefined, state: object, warn: (msg: string) => void): Promise<void> {
  for (const h of hooks ?? []) {
    try {
      await runHook(phase, h, state);
    } catch (e) {
      warn((e as Error).message);
    }
  }
}
