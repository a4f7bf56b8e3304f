/**
 * What `docker create` stores as the container's Config: the request merged with the image's
 * config as moby's `merge(userConf, imageConf)` does (daemon/commit.go), so `docker inspect`
 * shows the command and environment the container really runs with.
 */
import type { ContainerConfig as ImageContainerConfig } from '../image/oci-types';
import type { ContainerConfig } from './spec/docker-types';

const envKey = (e: string): string => e.split('=', 1)[0]!;

export function mergeImageConfig(user: ContainerConfig, image: ImageContainerConfig | undefined): ContainerConfig {
  const out: ContainerConfig = { ...user };
  if (!image) return out;
  if (!out.User) out.User = image.User ?? '';
  if (image.ExposedPorts) out.ExposedPorts = { ...image.ExposedPorts, ...(out.ExposedPorts ?? {}) };
  if (!out.Env || out.Env.length === 0) {
    out.Env = [...(image.Env ?? [])];
  } else {
    const have = new Set(out.Env.map(envKey));
    out.Env = [...out.Env, ...(image.Env ?? []).filter((e) => !have.has(envKey(e)))];
  }
  if (image.Labels) out.Labels = { ...image.Labels, ...(out.Labels ?? {}) };
  if (!out.Entrypoint || out.Entrypoint.length === 0) {
    if (!out.Cmd || out.Cmd.length === 0) out.Cmd = image.Cmd ?? null;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = image.Entrypoint ?? null;
  }
  if (image.Healthcheck && !out.Healthcheck?.Test?.length) out.Healthcheck = { ...image.Healthcheck, ...(out.Healthcheck ?? {}) };
  else if (image.Healthcheck && out.Healthcheck) {
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
      if (!out.Healthcheck[k]) (out.Healthcheck as Record<string, unknown>)[k] = image.Healthcheck[k];
    }
  }
  if (!out.WorkingDir) out.WorkingDir = image.WorkingDir ?? '';
  if (image.Volumes) out.Volumes = { ...image.Volumes, ...(out.Volumes ?? {}) };
  if (!out.StopSignal && image.StopSignal) out.StopSignal = image.StopSignal;
  if (!out.Shell?.length && image.Shell) out.Shell = image.Shell;
  if (!out.OnBuild?.length && image.OnBuild) out.OnBuild = image.OnBuild;
  return out;
}

/** Path and Args of `docker inspect`: the entrypoint and command joined, split at the first. */
export function commandOf(c: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  return { path: argv[0] ?? '', args: argv.slice(1) };
}
