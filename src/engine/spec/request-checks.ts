// Create-time checks of the request that do not otherwise shape the spec (moby's
// validateContainerConfig, validateHostConfig, verifyPlatformContainerSettings), and the
// fields berth cannot honour yet: refused when ignoring them would surprise, warned about
// when the container works without them.

import { posix } from 'node:path';
import type { ContainerConfig, HostConfig } from './docker-types';
import { SpecInputError, q } from './errors';
import { parseSignal } from './signal';

/** 1 ms in nanoseconds: the shortest healthcheck period Docker accepts. */
const MIN_DURATION = 1_000_000;

const RESTART_POLICIES = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

/** Annotations the engine itself sets: never from a request. */
export const RESERVED_ANNOTATION_PREFIX = 'org.berth.';

const RUNTIMES = new Set(['', 'runc', 'io.containerd.runc.v2', 'berth-runtime']);

function checkHealthcheck(config: ContainerConfig): void {
  const h = config.Healthcheck;
  if (!h) return;
  for (const f of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[f] ?? 0;
    if (v !== 0 && v < MIN_DURATION) throw new SpecInputError(`${f} in Healthcheck cannot be less than 1ms (Config.Healthcheck.${f} ${v} ns)`);
  }
  if ((h.Retries ?? 0) < 0) throw new SpecInputError(`Retries in Healthcheck cannot be negative (Config.Healthcheck.Retries ${h.Retries})`);
}

function checkRestartPolicy(hc: HostConfig): void {
  const p = hc.RestartPolicy ?? {};
  const name = p.Name ?? '';
  const retries = p.MaximumRetryCount ?? 0;
  if (!RESTART_POLICIES.has(name)) {
    throw new SpecInputError(`invalid restart policy: unknown policy ${q(name)}; use one of 'no', 'always', 'on-failure' or 'unless-stopped' (HostConfig.RestartPolicy.Name)`);
  }
  if (retries < 0) throw new SpecInputError('invalid restart policy: maximum retry count cannot be negative (HostConfig.RestartPolicy.MaximumRetryCount)');
  if (retries !== 0 && name !== 'on-failure') {
    throw new SpecInputError(`invalid restart policy: maximum retry count can only be used with 'on-failure' (HostConfig.RestartPolicy ${q(name)})`);
  }
  if (hc.AutoRemove && name !== '' && name !== 'no') {
    throw new SpecInputError(`can't create 'AutoRemove' container with restart policy (HostConfig.RestartPolicy ${q(name)})`);
  }
}

/** The cgroup parent, refused unless it ends up inside a "berth*" directory the runtime manages. */
export function checkCgroupParent(parent: string): void {
  if (parent.includes('\0') || parent.split('/').includes('..')) {
    throw new SpecInputError(`HostConfig.CgroupParent ${q(parent)}: must not contain ".." or NUL`);
  }
  if (parent.endsWith('.slice')) {
    throw new SpecInputError(`HostConfig.CgroupParent ${q(parent)}: systemd slices need the systemd cgroup driver, which berth does not support yet`);
  }
  if (parent.startsWith('/')) {
    const first = parent.split('/').filter(Boolean)[0] ?? '';
    if (!first.startsWith('berth')) {
      throw new SpecInputError(
        `HostConfig.CgroupParent ${q(parent)}: berth only manages cgroups below a "berth*" directory; use e.g. "/berth/${posix.basename(parent) || 'group'}" or a relative parent (placed below /berth)`,
      );
    }
  }
}

export function checkRequest(config: ContainerConfig, hc: HostConfig, warnings: string[]): void {
  if (config.StopSignal) parseSignal(config.StopSignal);
  if (config.StopTimeout !== undefined && config.StopTimeout !== null && !Number.isInteger(config.StopTimeout)) {
    throw new SpecInputError(`Config.StopTimeout: must be a whole number of seconds (got ${q(config.StopTimeout)})`);
  }
  checkHealthcheck(config);
  checkRestartPolicy(hc);

  const isolation = hc.Isolation ?? '';
  if (isolation !== '' && isolation !== 'default') {
    throw new SpecInputError(`invalid isolation (${isolation}): linux only supports 'default' (HostConfig.Isolation)`);
  }
  const runtime = hc.Runtime ?? '';
  if (!RUNTIMES.has(runtime)) {
    throw new SpecInputError(`unknown or invalid runtime name: ${runtime} (HostConfig.Runtime; berth runs every container with berth-runtime: use "" or "runc")`);
  }
  const oom = hc.OomScoreAdj ?? 0;
  if (!Number.isInteger(oom) || oom < -1000 || oom > 1000) {
    throw new SpecInputError(`Invalid value ${oom}, range for oom score adj is [-1000, 1000] (HostConfig.OomScoreAdj)`);
  }
  if ((hc.ShmSize ?? 0) < 0) throw new SpecInputError(`SHM size can not be less than 0 (HostConfig.ShmSize ${hc.ShmSize})`);
  for (const k of Object.keys(hc.Annotations ?? {})) {
    if (k === '') throw new SpecInputError('invalid Annotations: the empty string is not permitted as an annotation key (HostConfig.Annotations)');
    if (k.startsWith(RESERVED_ANNOTATION_PREFIX)) {
      throw new SpecInputError(`HostConfig.Annotations ${q(k)}: annotations starting with ${q(RESERVED_ANNOTATION_PREFIX)} are reserved for berth`);
    }
  }
  if (hc.CgroupParent) checkCgroupParent(hc.CgroupParent);

  if (hc.DeviceRequests?.length) {
    const d = hc.DeviceRequests[0]!;
    throw new SpecInputError(
      `could not select device driver ${q(d.Driver ?? '')} with capabilities: ${JSON.stringify(d.Capabilities ?? [])} (HostConfig.DeviceRequests: berth has no device drivers such as nvidia; pass devices with HostConfig.Devices)`,
    );
  }
  if (hc.VolumesFrom?.length) {
    throw new SpecInputError(`HostConfig.VolumesFrom ${q(hc.VolumesFrom)}: not supported yet (volumes are a later issue)`);
  }
  if (hc.VolumeDriver) {
    throw new SpecInputError(`HostConfig.VolumeDriver ${q(hc.VolumeDriver)}: volume drivers are not supported (volumes are a later issue)`);
  }
  for (const dest of Object.keys(config.Volumes ?? {})) {
    warnings.push(`Config.Volumes ${q(dest)}: anonymous volumes are not supported yet; the path stays part of the container's own filesystem`);
  }
  if (hc.Links?.length) warnings.push('HostConfig.Links: legacy links are ignored (no bridge network yet)');
  if (hc.StorageOpt && Object.keys(hc.StorageOpt).length) {
    throw new SpecInputError(`HostConfig.StorageOpt: not supported by berth's storage (got ${q(hc.StorageOpt)})`);
  }
}

/** Volumes the image declares: warned about like the request's (no anonymous volumes yet). */
export function warnImageVolumes(volumes: Record<string, unknown> | undefined, warnings: string[]): void {
  for (const dest of Object.keys(volumes ?? {})) {
    warnings.push(`the image's volume ${q(dest)} is not a volume yet (anonymous volumes are a later issue); it stays part of the container's own filesystem`);
  }
}
