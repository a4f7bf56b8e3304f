// A Docker container create request -> the OCI runtime spec berth-runtime runs, the way
// dockerd's createSpec (daemon/oci_linux.go) builds it from oci.DefaultLinuxSpec and the
// container's Config/HostConfig. Each concern lives in its own file; this one puts them in
// moby's order and checks the result with the runtime's own validator.

import { posix } from 'node:path';
import type { ContainerConfig as ImageContainerConfig } from '../../image/oci-types';
import { DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from '../../runtime/spec/docker-defaults';
import { SPEC_VERSION } from '../../runtime/spec/default-spec';
import type { Mount, Process, Spec } from '../../runtime/spec/types';
import { SpecError, validateSpec } from '../../runtime/spec/validate';
import * as fs from 'node:fs';
import { currentCapabilities, tweakCapabilities } from './capabilities';
import { buildDevices } from './devices';
import type { ContainerConfig, HostConfig, Ulimit } from './docker-types';
import { SpecInputError, q } from './errors';
import { checkHostPropagation, type HostMountCheck } from './host-mounts';
import { hostInfo, type HostInfo } from './host-info';
import { buildNamespaces, chooseHostname, type ResolvedContainer } from './namespaces';
import { checkHostname, containerEnv, mergeConfig } from './process';
import { checkRequest, warnImageVolumes } from './request-checks';
import { buildResources, buildRlimits, type StatDevice } from './resources';
import { chooseSeccomp, parseSecurityOpt } from './security';
import { dockerDefaultMounts, withMounts } from './spec-mounts';
import { buildSysctls } from './sysctls';
import { collectUserMounts, type UserMount } from './user-mounts';
import { resolveUser } from './user';

/** Where Docker puts its init inside the container (dconfig.DefaultInitBinary). */
export const CONTAINER_INIT_PATH = '/sbin/docker-init';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const DEFAULT_CGROUP_PARENT = '/berth';

export interface ContainerSpecInput {
  /** 64 hex digits. */
  id: string;
  /** The image config's `config`. */
  image: ImageContainerConfig;
  /** The request's Config and HostConfig. */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Absolute path for root.path. */
  rootfs: string;
  /** Passed through (the engine adds the rootfs-overlay annotation); win over HostConfig.Annotations. */
  annotations?: Record<string, string>;
  /** A file of the image, e.g. "/etc/passwd", read inside the rootfs; undefined when absent. */
  readFile(pathInRootfs: string): string | undefined;
  /** container:X modes; undefined when there is no such container. */
  resolveContainer(nameOrId: string): ResolvedContainer | undefined;
  /** Host path of berth's static init for HostConfig.Init. */
  initPath?: string;
  /** Default "/berth"; cgroupsPath = `${parent}/${id}` (HostConfig.CgroupParent wins). */
  cgroupParent?: string;
  /** Default: Config.Hostname, else Docker's (the short id, or the host's with --network host). */
  hostname?: string;
  /** What berth itself holds (default: this process's effective set); Privileged gets exactly these. */
  capabilitiesHeld?: string[];
  /** daemon.json "init": run an init when HostConfig.Init is null. */
  defaultInit?: boolean;
  /** daemon.json "default-ulimits". */
  defaultUlimits?: Ulimit[];
  /** daemon.json "default-shm-size" in bytes. */
  defaultShmSize?: number;
  /** daemon.json "no-new-privileges". */
  defaultNoNewPrivileges?: boolean;
  /** daemon.json "default-cgroupns-mode". */
  defaultCgroupnsMode?: 'private' | 'host';
  /** IpcMode shareable: host path of the container's /dev/shm tmpfs (Docker's ShmPath), bound as /dev/shm. */
  shmPath?: string;
  /** Host files bind-mounted as the container's /etc/resolv.conf, /etc/hostname, /etc/hosts (engine-written). */
  networkFiles?: { resolvConf?: string; hostname?: string; hosts?: string };
  /** Overrides of the detected host facts (tests). */
  host?: Partial<HostInfo>;
  /** Test seams: device numbers of a host path, the host's /dev, the shared/slave check of bind sources. */
  statDevice?: StatDevice;
  hostDevDir?: string;
  checkHostPropagation?: HostMountCheck;
  hasSysctl?: (name: string) => boolean;
}

export interface ContainerSpecResult {
  spec: Spec;
  /** Things the caller should tell the user (Docker returns them in the create response's Warnings). */
  warnings: string[];
  /** Missing bind sources of HostConfig.Binds: dockerd creates them (0755) when the container starts. */
  hostDirs: string[];
}

/** Docker's masked paths, and thermal_throttle of each CPU where the host has it (GHSA-6fw5-f8r9-fgfm). */
export function defaultMaskedPaths(exists: (p: string) => boolean = fs.existsSync): string[] {
  const out: string[] = [...DOCKER_MASKED_PATHS];
  let cpus: string[] = [];
  try {
    cpus = fs.readdirSync('/sys/devices/system/cpu').filter((n) => /^cpu\d+$/.test(n));
  } catch {
    // no sysfs: nothing to add
  }
  for (const c of cpus.sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))) {
    const p = `/sys/devices/system/cpu/${c}/thermal_throttle`;
    if (exists(p)) out.push(p);
  }
  return out;
}

function pathList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw new SpecInputError(`HostConfig.${field}: must be a list of absolute paths (got ${q(v)})`);
  }
  return v as string[];
}

/** NetworkMounts: the engine's resolv.conf/hostname/hosts, unless the request mounts something there. */
function networkMounts(files: ContainerSpecInput['networkFiles'], taken: Set<string>, writable: boolean): UserMount[] {
  const out: UserMount[] = [];
  for (const [dest, source] of [['/etc/resolv.conf', files?.resolvConf], ['/etc/hostname', files?.hostname], ['/etc/hosts', files?.hosts]] as const) {
    if (source && !taken.has(dest)) out.push({ destination: dest, source, kind: 'bind', writable, propagation: 'rprivate', where: 'networkFiles' });
  }
  return out;
}

export function buildContainerSpec(input: ContainerSpecInput): ContainerSpecResult {
  const warnings: string[] = [];
  const { config, hostConfig: hc, image } = input;
  if (!/^[0-9a-f]{64}$/.test(input.id)) throw new Error(`buildContainerSpec: container id ${q(input.id)} is not 64 hex digits`);
  if (!posix.isAbsolute(input.rootfs)) throw new Error(`buildContainerSpec: rootfs ${q(input.rootfs)} is not absolute`);
  const host: HostInfo = { ...hostInfo(), ...input.host };
  const privileged = !!hc.Privileged;

  checkRequest(config, hc, warnings);
  warnImageVolumes(image.Volumes, warnings);
  const merged = mergeConfig(config, image);

  // namespaces, hostname
  const ns = buildNamespaces({
    config, hc, resolveContainer: (x) => input.resolveContainer(x), cgroupV2: host.cgroupV2, timeNamespace: host.timeNamespace,
    ...(input.defaultCgroupnsMode ? { defaultCgroupnsMode: input.defaultCgroupnsMode } : {}),
    ...(input.shmPath ? { shmPath: input.shmPath } : {}), warnings,
  });
  if (config.Hostname) checkHostname(config.Hostname, 'Config.Hostname');
  const hostname = chooseHostname(config, ns, input.id, input.hostname);
  const domainname = config.Domainname || ns.networkContainer?.domainname || '';

  // process
  let args = merged.args;
  const defaults: Mount[] = dockerDefaultMounts();
  const wantInit = hc.Init ?? input.defaultInit ?? false;
  if (wantInit && ns.pidPrivate) {
    if (!input.initPath) {
      throw new SpecInputError('HostConfig.Init: berth has no init binary configured (build native/build/berth-init), so --init cannot be honoured');
    }
    // A server-side problem (HTTP 500), not the request's.
    if (!fs.existsSync(input.initPath)) throw new Error(`berth's init binary ${input.initPath} (for HostConfig.Init) does not exist`);
    args = [CONTAINER_INIT_PATH, '--', ...args];
    defaults.push({ destination: CONTAINER_INIT_PATH, type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
  }
  const user = resolveUser(merged.user, hc.GroupAdd ?? [], input.readFile);
  const held = input.capabilitiesHeld ?? currentCapabilities();
  const caps = tweakCapabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], privileged, held);
  const sec = parseSecurityOpt(hc.SecurityOpt ?? [], warnings, input.defaultNoNewPrivileges);
  const seccomp = chooseSeccomp(sec.seccompProfile, privileged, caps, host.kernelRelease);

  const proc: Process = {
    terminal: !!config.Tty,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids! },
    args,
    env: containerEnv(merged.env, hostname, !!config.Tty),
    cwd: merged.workingDir,
    capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
    oomScoreAdj: hc.OomScoreAdj ?? 0,
  };
  const cs = hc.ConsoleSize;
  if (config.Tty && Array.isArray(cs) && ((cs[0] ?? 0) > 0 || (cs[1] ?? 0) > 0)) proc.consoleSize = { height: cs[0] ?? 0, width: cs[1] ?? 0 };
  const rlimits = buildRlimits(hc.Ulimits ?? [], input.defaultUlimits);
  if (rlimits) proc.rlimits = rlimits;
  if (sec.noNewPrivileges) proc.noNewPrivileges = true;

  // resources, devices
  const resources = buildResources(hc, host, warnings, input.statDevice);
  const dev = buildDevices(hc.Devices ?? [], hc.DeviceCgroupRules ?? [], privileged, warnings, input.hostDevDir);
  resources.devices = dev.rules;

  // mounts
  const { mounts: userMounts, hostDirs } = collectUserMounts(hc);
  const taken = new Set(userMounts.map((m) => m.destination));
  const extra = [
    ...ns.ipcMounts.filter((m) => !taken.has(m.destination)),
    ...networkMounts(input.networkFiles, taken, !hc.ReadonlyRootfs),
  ];
  const shmSize = hc.ShmSize || input.defaultShmSize || DEFAULT_SHM_SIZE;
  const wm = withMounts({
    defaults, user: [...extra, ...userMounts], shmSize, ipcNone: ns.ipcNone, readonlyRootfs: !!hc.ReadonlyRootfs, privileged,
    ...(sec.writableCgroups !== undefined ? { writableCgroups: sec.writableCgroups } : {}),
    checkHostPropagation: input.checkHostPropagation ?? checkHostPropagation,
  });

  const sysctl = buildSysctls({
    privateNetwork: ns.network === 'bridge' || ns.network === 'none',
    domainname,
    requested: hc.Sysctls,
    namespaces: ns.namespaces,
    ...(input.hasSysctl ? { hasSysctl: input.hasSysctl } : {}),
  });

  let maskedPaths = privileged ? [] : defaultMaskedPaths();
  let readonlyPaths: string[] = privileged ? [] : [...DOCKER_READONLY_PATHS];
  if (hc.MaskedPaths !== undefined && hc.MaskedPaths !== null) maskedPaths = pathList(hc.MaskedPaths, 'MaskedPaths');
  if (hc.ReadonlyPaths !== undefined && hc.ReadonlyPaths !== null) readonlyPaths = pathList(hc.ReadonlyPaths, 'ReadonlyPaths');

  const annotations = { ...(hc.Annotations ?? {}), ...(input.annotations ?? {}) };
  const parent = hc.CgroupParent || input.cgroupParent || DEFAULT_CGROUP_PARENT;
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: proc,
    root: hc.ReadonlyRootfs ? { path: input.rootfs, readonly: true } : { path: input.rootfs },
    ...(ns.utsHost ? {} : { hostname }),
    mounts: wm.mounts,
    ...(Object.keys(annotations).length ? { annotations } : {}),
    linux: {
      ...(sysctl ? { sysctl } : {}),
      resources,
      cgroupsPath: posix.join(parent, input.id),
      namespaces: ns.namespaces,
      ...(dev.devices.length ? { devices: dev.devices } : {}),
      ...(seccomp ? { seccomp } : {}),
      ...(wm.rootfsPropagation ? { rootfsPropagation: wm.rootfsPropagation } : {}),
      maskedPaths,
      readonlyPaths,
    },
  };
  return { spec: validate(spec, sec.seccompProfile), warnings, hostDirs };
}

/** The runtime's validator: what it refuses here it would refuse at `create`. */
function validate(spec: Spec, seccompProfile: string | undefined): Spec {
  try {
    return validateSpec(spec, 'config.json', { requireProcess: true });
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const custom = seccompProfile !== undefined && seccompProfile !== 'unconfined' && seccompProfile !== 'builtin';
    if (custom && e.field?.startsWith('linux.seccomp')) {
      throw new SpecInputError(`HostConfig.SecurityOpt seccomp profile: ${e.field.replace(/^linux\.seccomp\.?/, '') || 'profile'}: ${e.problem}`);
    }
    if (e.field?.startsWith('process.env')) throw new SpecInputError(`Config.Env: ${e.problem}`);
    throw new Error(`berth built a spec its runtime refuses (a bug in src/engine/spec): ${e.message}`);
  }
}

