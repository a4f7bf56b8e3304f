// Namespace modes -> linux.namespaces, as moby's WithNamespaces (daemon/oci_linux.go) with
// the create-time checks of runconfig (validateNetMode, validateNetContainerMode) and
// verifyPlatformContainerSettings. Docker's default set (oci/defaults.go) is new mount,
// network, time (when the kernel has it, Docker 29.5+), uts, pid and ipc namespaces, plus
// a cgroup namespace per CgroupnsMode.
//
// The bridge network is a later issue: bridge/default get a network namespace with only
// a loopback interface (what --network none gives), and say so in the warnings.

import * as os from 'node:os';
import type { LinuxNamespace, NamespaceType } from '../../runtime/spec/types';
import type { ContainerConfig, HostConfig } from './docker-types';
import { SpecInputError, q } from './errors';
import type { UserMount } from './user-mounts';

/** What the engine knows of a container another one refers to with `container:<name|id>`. */
export interface ResolvedContainer {
  id: string;
  /** The init's host pid; <= 0 when the container is not running. */
  pid: number;
  hostname?: string;
  domainname?: string;
  /** Its HostConfig.IpcMode, to refuse joining a non-shareable IPC namespace as Docker does. */
  ipcMode?: string;
  /**
   * Host path of its /dev/shm (Docker's ShmPath: the host tmpfs of a shareable container, or
   * /dev/shm for IpcMode host), bound as /dev/shm of containers that join its IPC namespace.
   * (A mount of another mount namespace, e.g. /proc/<pid>/root/dev/shm, cannot be bound.)
   */
  shmPath?: string;
}

export type NetworkKind = 'bridge' | 'none' | 'host' | 'container';

export interface NamespaceInput {
  config: ContainerConfig;
  hc: HostConfig;
  resolveContainer(nameOrId: string): ResolvedContainer | undefined;
  cgroupV2: boolean;
  timeNamespace: boolean;
  /** Host path of this container's own /dev/shm tmpfs when IpcMode is shareable (Docker's ShmPath). */
  shmPath?: string;
  /** daemon.json default-cgroupns-mode; default: private on cgroup v2, host on v1. */
  defaultCgroupnsMode?: 'private' | 'host';
  warnings: string[];
}

export interface NamespaceSetup {
  namespaces: LinuxNamespace[];
  network: NetworkKind;
  /** The container referred to by NetworkMode container:X. */
  networkContainer?: ResolvedContainer;
  /** A PID namespace of its own (HostConfig.Init needs one). */
  pidPrivate: boolean;
  ipcNone: boolean;
  /** /dev/shm of the IPC namespace joined (IpcMode host or container:X). */
  ipcMounts: UserMount[];
  utsHost: boolean;
}

const CONTAINER = 'container:';

/** `container:X` -> X ("" when malformed); undefined when not a container mode. */
function containerRef(mode: string): string | undefined {
  return mode.startsWith(CONTAINER) ? mode.slice(CONTAINER.length) : undefined;
}

function resolveRunning(input: NamespaceInput, ref: string, field: string): ResolvedContainer {
  const c = input.resolveContainer(ref);
  if (!c) throw new SpecInputError(`No such container: ${ref} (HostConfig.${field} "container:${ref}")`);
  if (!(c.pid > 0)) throw new SpecInputError(`Container ${c.id} is not running (HostConfig.${field} "container:${ref}" needs it running)`);
  return c;
}

function networkKind(mode: string): NetworkKind | undefined {
  if (mode === '' || mode === 'default' || mode === 'bridge') return 'bridge';
  if (mode === 'none' || mode === 'host') return mode;
  if (mode === 'container' || mode.startsWith(CONTAINER)) return 'container';
  return undefined;
}

/** validateNetMode / validateNetContainerMode: options that make no sense together. */
function checkNetworkConflicts(config: ContainerConfig, hc: HostConfig, kind: NetworkKind): void {
  const conflict = (what: string): never => {
    throw new SpecInputError(`conflicting options: ${what}`);
  };
  if (kind === 'container') {
    if (!containerRef(hc.NetworkMode ?? '')) conflict('invalid network mode: invalid container format container:<name|id>');
    if (config.Hostname) conflict('hostname and the network mode (Config.Hostname with HostConfig.NetworkMode container:...)');
    if (hc.Links?.length) conflict("container type network can't be used with links. This would result in undefined behavior");
    if (hc.Dns?.length) conflict('dns and the network mode');
    if (hc.ExtraHosts?.length) conflict('custom host-to-IP mapping and the network mode');
    if (Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts) conflict('port publishing and the container type network mode');
    if (Object.keys(config.ExposedPorts ?? {}).length) conflict('port exposing and the container type network mode');
  }
  if (hc.UTSMode === 'host' && config.Hostname) conflict('hostname and the UTS mode (Config.Hostname with HostConfig.UTSMode host)');
  if (kind === 'host' && hc.Links?.length) {
    conflict("host type networking can't be used with links. This would result in undefined behavior");
  }
}

export function buildNamespaces(input: NamespaceInput): NamespaceSetup {
  const { config, hc, warnings } = input;
  // Docker's default list, in its order; modes below replace or remove entries.
  const order: NamespaceType[] = ['mount', 'network', ...(input.timeNamespace ? ['time' as const] : []), 'uts', 'pid', 'ipc'];
  const ns = new Map<NamespaceType, LinuxNamespace>(order.map((t) => [t, { type: t }]));
  const join = (type: NamespaceType, pid: number, file: string) => ns.set(type, { type, path: `/proc/${pid}/ns/${file}` });

  // user: remapping is a daemon setting (userns-remap) berth does not have.
  const userns = hc.UsernsMode ?? '';
  if (userns !== '' && userns !== 'host') {
    throw new SpecInputError(
      `HostConfig.UsernsMode ${q(userns)}: not supported: a private user namespace needs the daemon's userns-remap, which berth does not implement yet (use "" or "host")`,
    );
  }

  // network
  const netMode = hc.NetworkMode ?? '';
  const network = networkKind(netMode);
  if (!network) {
    throw new SpecInputError(
      `HostConfig.NetworkMode ${q(netMode)}: network ${q(netMode)} not found (berth has no user-defined networks yet; use bridge, none, host or container:<name|id>)`,
    );
  }
  checkNetworkConflicts(config, hc, network);
  let networkContainer: ResolvedContainer | undefined;
  if (!config.NetworkDisabled) {
    if (network === 'container') {
      networkContainer = resolveRunning(input, containerRef(netMode)!, 'NetworkMode');
      join('network', networkContainer.pid, 'net');
    } else if (network === 'host') {
      ns.delete('network');
      if (Object.keys(hc.PortBindings ?? {}).length) warnings.push('Published ports are discarded when using host network mode');
    } else if (network === 'bridge') {
      warnings.push(
        `HostConfig.NetworkMode ${q(netMode || 'bridge')}: the bridge network is not implemented yet; the container gets a network namespace with only a loopback interface (as with --network none)`,
      );
    }
  }

  // ipc
  const ipcMode = hc.IpcMode ?? '';
  const ipcMounts: UserMount[] = [];
  const ipcRef = containerRef(ipcMode);
  if (ipcRef !== undefined) {
    if (!ipcRef) throw new SpecInputError(`invalid IPC mode: ${ipcMode} (HostConfig.IpcMode; expected container:<name|id>)`);
    const c = resolveRunning(input, ipcRef, 'IpcMode');
    if (c.ipcMode !== undefined && c.ipcMode !== 'shareable' && c.ipcMode !== 'host' && !c.ipcMode.startsWith(CONTAINER)) {
      throw new SpecInputError(`container ${ipcRef}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    join('ipc', c.pid, 'ipc');
    if (c.shmPath) {
      ipcMounts.push({ destination: '/dev/shm', source: c.shmPath, kind: 'bind', writable: true, propagation: 'rprivate', where: 'HostConfig.IpcMode' });
    } else {
      warnings.push(
        `HostConfig.IpcMode ${q(ipcMode)}: the container joins the IPC namespace of ${ipcRef} but gets a /dev/shm of its own (${ipcRef} has no shared /dev/shm on the host)`,
      );
    }
  } else if (ipcMode === 'shareable' && input.shmPath) {
    ipcMounts.push({ destination: '/dev/shm', source: input.shmPath, kind: 'bind', writable: true, propagation: 'rprivate', where: 'HostConfig.IpcMode' });
  } else if (ipcMode === 'host') {
    ns.delete('ipc');
    ipcMounts.push({ destination: '/dev/shm', source: '/dev/shm', kind: 'bind', writable: true, propagation: 'rprivate', where: 'HostConfig.IpcMode' });
  } else if (!['', 'private', 'shareable', 'none'].includes(ipcMode)) {
    throw new SpecInputError(`invalid IPC mode: ${ipcMode} (HostConfig.IpcMode: private, shareable, host, none or container:<name|id>)`);
  }

  // pid
  const pidMode = hc.PidMode ?? '';
  const pidRef = containerRef(pidMode);
  if (pidRef !== undefined) {
    if (!pidRef) throw new SpecInputError(`invalid PID mode: ${pidMode} (HostConfig.PidMode; expected container:<name|id>)`);
    join('pid', resolveRunning(input, pidRef, 'PidMode').pid, 'pid');
  } else if (pidMode === 'host') {
    ns.delete('pid');
  } else if (pidMode !== '') {
    throw new SpecInputError(`invalid PID mode: ${pidMode} (HostConfig.PidMode: "", host or container:<name|id>)`);
  }

  // uts
  const utsMode = hc.UTSMode ?? '';
  if (utsMode !== '' && utsMode !== 'host') throw new SpecInputError(`invalid UTS mode: ${utsMode} (HostConfig.UTSMode: "" or host)`);
  if (utsMode === 'host') ns.delete('uts');

  // cgroup: private by default on cgroup v2 (even privileged), host on v1.
  let cgroupns = hc.CgroupnsMode ?? '';
  if (cgroupns !== '' && cgroupns !== 'private' && cgroupns !== 'host') {
    throw new SpecInputError(`invalid cgroup namespace mode: ${cgroupns} (HostConfig.CgroupnsMode: private or host)`);
  }
  if (cgroupns === '') {
    cgroupns = hc.Privileged && !input.cgroupV2 ? 'host' : input.defaultCgroupnsMode ?? (input.cgroupV2 ? 'private' : 'host');
  }
  const namespaces = [...ns.values()];
  if (cgroupns === 'private') namespaces.push({ type: 'cgroup' });

  return {
    namespaces,
    network: config.NetworkDisabled ? 'none' : network,
    ...(networkContainer ? { networkContainer } : {}),
    pidPrivate: pidMode === '',
    ipcNone: ipcMode === 'none',
    ipcMounts,
    utsHost: utsMode === 'host',
  };
}

/** Config.Hostname, or Docker's default: the host's with --network host, the joined container's, the short id. */
export function chooseHostname(config: ContainerConfig, setup: NamespaceSetup, id: string, fallback?: string): string {
  if (config.Hostname) return config.Hostname;
  if (setup.network === 'host') return os.hostname();
  if (setup.networkContainer?.hostname) return setup.networkContainer.hostname;
  return fallback ?? id.slice(0, 12);
}
