// The Docker Engine API's container create body: `ContainerConfig` (the body itself) and
// `HostConfig` (its HostConfig member), with the field names and JSON types of moby's
// api/swagger.yaml (definitions ContainerConfig, HostConfig, Resources, Mount, ...).
// Everything is optional and may be null on the wire: Go clients send zero values, older
// ones omit fields. int64 fields are JSON numbers (values beyond 2^53 lose precision in
// JSON.parse; no Docker client sends such values except -1 style sentinels).

import type { HealthConfig } from '../../image/oci-types';

export type { HealthConfig };

/** `ContainerConfig`: configuration for a container that is portable between hosts. */
export interface ContainerConfig {
  /** Must be a valid RFC 1123 hostname; at most 64 bytes. */
  Hostname?: string;
  Domainname?: string;
  /** `user`, `user:group`, `uid`, `uid:gid` (and mixes). */
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  /** `"<port>/<tcp|udp|sctp>": {}` */
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  /** `VAR=value`; `VAR` alone unsets an image variable. */
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean | null;
  Image?: string;
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  /** `[""]` (what `docker run --entrypoint ""` sends) clears the image's entrypoint. */
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean | null;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string | null;
  /** Seconds. */
  StopTimeout?: number | null;
  Shell?: string[] | null;
  /** Deprecated since API 1.44; ignored. */
  MacAddress?: string;
}

export interface DeviceMapping {
  PathOnHost?: string;
  PathInContainer?: string;
  /** Some of "r", "w", "m". */
  CgroupPermissions?: string;
}

export interface DeviceRequest {
  Driver?: string;
  Count?: number;
  DeviceIDs?: string[] | null;
  Capabilities?: string[][] | null;
  Options?: Record<string, string> | null;
}

export interface ThrottleDevice {
  /** Device path on the host. */
  Path?: string;
  Rate?: number;
}

export interface WeightDevice {
  Path?: string;
  Weight?: number;
}

export interface Ulimit {
  /** e.g. "nofile", "nproc" (the RLIMIT_ name without the prefix, lower case). */
  Name?: string;
  /** -1 means unlimited. */
  Soft?: number;
  Hard?: number;
}

/** `Resources` (embedded in HostConfig). */
export interface Resources {
  /** Relative weight (cgroup v1 cpu.shares). */
  CpuShares?: number;
  /** Bytes. */
  Memory?: number;
  CgroupParent?: string;
  /** 10..1000, 0 = unset. */
  BlkioWeight?: number;
  BlkioWeightDevice?: WeightDevice[] | null;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  /** Microseconds. */
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  /** `c 1:3 rwm`, `a *:* m`, ... */
  DeviceCgroupRules?: string[] | null;
  DeviceRequests?: DeviceRequest[] | null;
  /** Removed from the API in 1.42; accepted and ignored with a warning. */
  KernelMemory?: number;
  KernelMemoryTCP?: number;
  MemoryReservation?: number;
  /** Memory + swap; -1 = unlimited swap; 0 = twice Memory. */
  MemorySwap?: number;
  /** 0..100; -1 (or null) = the host's default. */
  MemorySwappiness?: number | null;
  /** CPU quota in units of 1e-9 CPUs. */
  NanoCpus?: number;
  OomKillDisable?: boolean | null;
  /** Run an init inside the container (HostConfig level in practice). */
  Init?: boolean | null;
  /** <= 0 = unlimited. */
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  /** Windows only. */
  CpuCount?: number;
  CpuPercent?: number;
  IOMaximumIOps?: number;
  IOMaximumBandwidth?: number;
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure' | string;
  MaximumRetryCount?: number;
}

export interface LogConfig {
  Type?: string;
  Config?: Record<string, string> | null;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export type MountType = 'bind' | 'volume' | 'tmpfs' | 'image' | 'npipe' | 'cluster';
export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

export interface BindOptions {
  Propagation?: Propagation | string;
  /** Bind without MS_REC (submounts of the source are not carried over). */
  NonRecursive?: boolean;
  /** Create the source on the host when it is missing. */
  CreateMountpoint?: boolean;
  ReadOnlyNonRecursive?: boolean;
  ReadOnlyForceRecursive?: boolean;
}

export interface VolumeOptions {
  NoCopy?: boolean;
  Labels?: Record<string, string> | null;
  DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
  Subpath?: string;
}

export interface TmpfsOptions {
  /** Bytes; 0 = the kernel's default (half the RAM). */
  SizeBytes?: number;
  /** Permission bits of the tmpfs root, e.g. 0o1777 (a plain JSON number). */
  Mode?: number;
  /** Extra options, each `[name]` or `[name, value]`; only exec/noexec are accepted. */
  Options?: string[][] | null;
}

/** `Mount` of HostConfig.Mounts (`docker run --mount`). */
export interface Mount {
  Target?: string;
  Source?: string;
  Type?: MountType | string;
  ReadOnly?: boolean;
  /** "default" | "consistent" | "cached" | "delegated"; no effect on Linux. */
  Consistency?: string;
  BindOptions?: BindOptions | null;
  VolumeOptions?: VolumeOptions | null;
  ImageOptions?: { Subpath?: string } | null;
  TmpfsOptions?: TmpfsOptions | null;
}

/** `HostConfig`: the non-portable configuration of a container. */
export interface HostConfig extends Resources {
  /** `/host:/ctr[:opts]`, `volume:/ctr[:opts]`. */
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: LogConfig | null;
  /** bridge | host | none | container:<name|id> | <network name>; "" / "default" = bridge. */
  NetworkMode?: string;
  PortBindings?: Record<string, PortBinding[] | null> | null;
  RestartPolicy?: RestartPolicy | null;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: Mount[] | null;
  /** [height, width] of the TTY. */
  ConsoleSize?: [number, number] | number[] | null;
  Annotations?: Record<string, string> | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: '' | 'private' | 'host' | string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  /** Group names or numbers. */
  GroupAdd?: string[] | null;
  /** private | shareable | host | none | container:<name|id>; "" = the daemon default (private). */
  IpcMode?: string;
  /** Cgroup to use for the container (unused by dockerd on Linux). */
  Cgroup?: string;
  Links?: string[] | null;
  /** -1000..1000. */
  OomScoreAdj?: number;
  /** "" | host | container:<name|id>. */
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  /** `seccomp=unconfined|<profile JSON>`, `no-new-privileges[=bool]`, `apparmor=..`, `label=..`. */
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string> | null;
  /** destination -> options, e.g. `{"/run": "rw,size=64m,noexec"}`. */
  Tmpfs?: Record<string, string> | null;
  /** "" | host. */
  UTSMode?: string;
  /** "" | host (userns-remap is a daemon setting). */
  UsernsMode?: string;
  /** Bytes of /dev/shm; 0 = 64 MiB. */
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string | null;
  /** "" | default on Linux. */
  Isolation?: '' | 'default' | 'process' | 'hyperv' | string;
  /** null = Docker's defaults; [] = none. */
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
}
