// The request's Config merged with the image's, as dockerd does at create time
// (daemon/commit.go merge, daemon/create.go mergeAndVerifyConfig, daemon/container.go
// getEntrypointAndArgs) and at start (container.CreateDaemonEnvironment).

import { posix } from 'node:path';
import type { ContainerConfig as ImageContainerConfig } from '../../image/oci-types';
import type { ContainerConfig } from './docker-types';
import { SpecInputError, q } from './errors';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The part of Config the spec depends on, after the image's defaults are applied. */
export interface MergedConfig {
  user: string;
  /** Request env first, then image variables the request does not name (moby's merge). */
  env: string[];
  /** The process argv: entrypoint + cmd. */
  args: string[];
  workingDir: string;
}

const nonEmpty = (a: readonly string[] | null | undefined): a is string[] => !!a && a.length > 0;

/** Entrypoint/Cmd: moby's merge + the `[""]` reset + getEntrypointAndArgs. */
export function mergeArgs(config: ContainerConfig, image: ImageContainerConfig): string[] {
  let entrypoint = config.Entrypoint ?? null;
  let cmd = config.Cmd ?? null;
  if (!nonEmpty(entrypoint)) {
    // No entrypoint of the request's own: the image's cmd unless the request has one, and the
    // image's entrypoint unless the request sent an explicit (empty) one.
    if (!nonEmpty(cmd)) cmd = image.Cmd ?? null;
    if (config.Entrypoint === undefined || config.Entrypoint === null) entrypoint = image.Entrypoint ?? null;
  }
  // `docker run --entrypoint ""` sends [""]: no entrypoint at all.
  if (entrypoint && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = null;
  const args = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (args.length === 0) {
    throw new SpecInputError(
      'no command specified: neither the request (Config.Entrypoint, Config.Cmd) nor the image has a command to run',
    );
  }
  return args;
}

/** moby's merge of Env: the request's list, then the image's variables it does not set. */
export function mergeEnv(requestEnv: readonly string[] | null | undefined, imageEnv: readonly string[] | undefined): string[] {
  for (const [i, e] of (requestEnv ?? []).entries()) {
    if (typeof e !== 'string') throw new SpecInputError(`Config.Env[${i}]: must be a string (got ${q(e)})`);
    if (e.split('=', 1)[0] === '') throw new SpecInputError(`invalid environment variable: ${e} (Config.Env[${i}] needs a name before "=")`);
  }
  if (!requestEnv || requestEnv.length === 0) return [...(imageEnv ?? [])];
  const keys = new Set(requestEnv.map((e) => e.split('=', 1)[0]));
  return [...requestEnv, ...(imageEnv ?? []).filter((e) => !keys.has(e.split('=', 1)[0]))];
}

/**
 * ReplaceOrAppendEnvValues: `overrides` replace `defaults` by name or are appended; an
 * override without "=" removes the variable.
 */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: (string | undefined)[] = [...defaults];
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set(e!.split('=', 1)[0]!, i));
  for (const v of overrides) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      const i = index.get(v);
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    const i = index.get(v.slice(0, eq));
    if (i !== undefined) out[i] = v;
    else {
      index.set(v.slice(0, eq), out.length);
      out.push(v);
    }
  }
  return out.filter((e): e is string => e !== undefined && e !== '');
}

/** CreateDaemonEnvironment: PATH, HOSTNAME, TERM (with a tty), then the merged Config.Env over them. */
export function containerEnv(mergedEnv: readonly string[], hostname: string, tty: boolean): string[] {
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (tty) defaults.push('TERM=xterm');
  return replaceOrAppendEnv(defaults, mergedEnv);
}

/** translateWorkingDir: absolute, cleaned; "" = the image's, then "/". */
export function mergeWorkingDir(config: ContainerConfig, image: ImageContainerConfig): string {
  const check = (wd: string, field: string): string => {
    if (!wd.startsWith('/')) {
      throw new SpecInputError(`the working directory '${wd}' is invalid, it needs to be an absolute path (${field})`);
    }
    return posix.normalize(wd).replace(/(.)\/+$/, '$1');
  };
  if (config.WorkingDir) return check(config.WorkingDir, 'Config.WorkingDir');
  if (image.WorkingDir) return check(image.WorkingDir, "the image's WorkingDir");
  return '/';
}

export function mergeConfig(config: ContainerConfig, image: ImageContainerConfig): MergedConfig {
  return {
    user: config.User || image.User || '',
    env: mergeEnv(config.Env, image.Env),
    args: mergeArgs(config, image),
    workingDir: mergeWorkingDir(config, image),
  };
}

/** At most HOST_NAME_MAX bytes, and nothing the kernel or /etc/hosts would choke on. */
export function checkHostname(name: string, field: string): void {
  if (Buffer.byteLength(name) > 64) throw new SpecInputError(`hostname ${q(name)} is too long (maximum 64 bytes) (${field})`);
  if (/[\0\n\s/]/.test(name)) throw new SpecInputError(`${field} ${q(name)}: a hostname cannot contain whitespace, "/" or NUL`);
}
