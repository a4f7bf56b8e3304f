// The OCI runtime-spec v1.2 config.json model (POSIX + Linux parts).
// Field names and optionality follow specs-go/config.go; comments carry only
// what the field name does not say. Windows, Solaris, VM and z/OS sections
// are not modelled: a Linux runtime ignores them.

import type {
  CGROUP_DEVICE_TYPES, DEVICE_TYPES, HOOK_NAMES, IOPRIO_CLASSES, NAMESPACE_TYPES, PERSONALITY_DOMAINS,
  ROOTFS_PROPAGATIONS, SCHED_FLAGS, SCHED_POLICIES, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS,
  SECCOMP_OPERATORS, TIME_OFFSET_CLOCKS,
} from './constants';

/**
 * A 64-bit JSON integer (uint64 / int64 in the spec). It is a number when the
 * value is a safe integer and a bigint only beyond ±2^53-1 (e.g. the rlimit
 * RLIM_INFINITY 18446744073709551615), so nothing is silently rounded.
 * `<`, `>` and `==` work across number and bigint; `===` does not.
 */
export type Int64 = number | bigint;

export type NamespaceType = (typeof NAMESPACE_TYPES)[number];
export type TimeOffsetClock = (typeof TIME_OFFSET_CLOCKS)[number];
export type RootfsPropagation = (typeof ROOTFS_PROPAGATIONS)[number];
export type DeviceType = (typeof DEVICE_TYPES)[number];
export type CgroupDeviceType = (typeof CGROUP_DEVICE_TYPES)[number];
export type IOPriorityClass = (typeof IOPRIO_CLASSES)[number];
export type SchedulerPolicy = (typeof SCHED_POLICIES)[number];
export type SchedulerFlag = (typeof SCHED_FLAGS)[number];
export type PersonalityDomain = (typeof PERSONALITY_DOMAINS)[number];
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];
export type HookName = (typeof HOOK_NAMES)[number];

export interface Spec {
  /** SemVer of the spec the bundle complies with; must be 1.x. */
  ociVersion: string;
  /** Optional in the spec; required by `start`/`run` (validateSpec's requireProcess). */
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  /** Mounted in order, on top of root. */
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Process {
  terminal?: boolean;
  /** Ignored unless terminal is true. */
  consoleSize?: Box;
  /** Absent in JSON means uid 0 / gid 0 (Go zero value); validateSpec fills it in. */
  user: User;
  /** argv; args[0] is resolved like execvp's file. At least one entry. */
  args: string[];
  /** Windows only; kept so a config round-trips. */
  commandLine?: string;
  /** "NAME=value" entries. */
  env?: string[];
  /** Absolute path inside the container. */
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  /** Written to /proc/<pid>/oom_score_adj; absent means leave unchanged. */
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  /** Only for `exec`; not applied to the container's init process. */
  execCPUAffinity?: CPUAffinity;
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  /** Absent means keep the runtime's umask. */
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface POSIXRlimit {
  /** e.g. "RLIMIT_NOFILE"; see RLIMITS in constants.ts. */
  type: string;
  hard: Int64;
  soft: Int64;
}

/** sched_setattr(2) parameters. */
export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  /** Nanoseconds; SCHED_DEADLINE only. */
  runtime?: Int64;
  deadline?: Int64;
  period?: Int64;
}

export interface LinuxIOPriority {
  class: IOPriorityClass;
  /** 0 (highest) .. 7 (lowest). */
  priority: number;
}

/** CPU lists in the "0-3,7" format. */
export interface CPUAffinity {
  initial?: string;
  final?: string;
}

export interface Root {
  /** Absolute, or relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  /** Absolute path in the container (relative ones are normalised to absolute). */
  destination: string;
  /** Filesystem type; for bind mounts a dummy such as "none". */
  type?: string;
  /** Device, path (absolute or bundle-relative for binds) or dummy. */
  source?: string;
  /** fstab-style options, e.g. "rbind", "ro", "mode=755". */
  options?: string[];
  /** ID-mapped mount (mount_setattr MOUNT_ATTR_IDMAP); both or neither. */
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

export interface Hook {
  /** Absolute path, resolved in the runtime namespace (startContainer: container namespace). */
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; > 0. */
  timeout?: number;
}

export type Hooks = { [K in HookName]?: Hook[] };

export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  /** sysctl name (dots or slashes) -> value. */
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  /** Absolute (relative to the cgroup mount), relative, or systemd "slice:prefix:name". */
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  personality?: LinuxPersonality;
  timeOffsets?: { [K in TimeOffsetClock]?: LinuxTimeOffset };
}

export interface LinuxNamespace {
  type: NamespaceType;
  /** Join this existing namespace (absolute path) instead of creating one. */
  path?: string;
}

export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface LinuxTimeOffset {
  secs?: Int64;
  nanosecs?: number;
}

export interface LinuxDevice {
  type: DeviceType;
  /** Absolute path inside the container. */
  path: string;
  /** Required unless type is "p". int64 in the spec; real device numbers fit 32 bits. */
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxResources {
  /** Device cgroup allow/deny list, applied in order. */
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  /** RDMA device name -> limits. */
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name -> content, written as is. */
  unified?: Record<string, string>;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** Absent means all ("a"). */
  type?: CgroupDeviceType;
  /** Absent (or -1, as Docker writes) means all ("*"). */
  major?: number;
  minor?: number;
  /** Some of "r", "w", "m". */
  access?: string;
}

/** Byte values; -1 means unlimited. */
export interface LinuxMemory {
  limit?: Int64;
  reservation?: Int64;
  /** Memory + swap. */
  swap?: Int64;
  kernel?: Int64;
  kernelTCP?: Int64;
  /** 0..100 (uint64 in the spec). */
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

/** Times in microseconds. */
export interface LinuxCPU {
  shares?: Int64;
  quota?: Int64;
  burst?: Int64;
  period?: Int64;
  realtimeRuntime?: Int64;
  realtimePeriod?: Int64;
  /** CPU list, e.g. "0-3,7". */
  cpus?: string;
  /** Memory node list, same format. */
  mems?: string;
  /** 1 makes the cgroup SCHED_IDLE. */
  idle?: Int64;
}

export interface LinuxPids {
  limit: Int64;
}

export interface LinuxBlockIODevice {
  major: number;
  minor: number;
}

export interface LinuxWeightDevice extends LinuxBlockIODevice {
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice extends LinuxBlockIODevice {
  /** Bytes or IO operations per second. */
  rate: Int64;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** "<size><unit-prefix>B", e.g. "2MB", "1GB". */
  pageSize: string;
  limit: Int64;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  /** Only with SCMP_ACT_ERRNO / SCMP_ACT_TRACE; default EPERM. */
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: SeccompFlag[];
  /** Unix socket that receives the seccomp fd for SCMP_ACT_NOTIFY. */
  listenerPath?: string;
  /** Opaque data for the seccomp agent; needs listenerPath. */
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccompArg {
  /** Syscall argument number, 0..5. */
  index: number;
  value: Int64;
  valueTwo?: Int64;
  op: SeccompOperator;
}

export interface LinuxIntelRdt {
  /** resctrl group name; defaults to the container ID. */
  closID?: string;
  /** "L3:<id>=<cbm>;..." */
  l3CacheSchema?: string;
  /** "MB:<id>=<bw>;..." */
  memBwSchema?: string;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface LinuxPersonality {
  domain: PersonalityDomain;
  /** No flags are defined by the spec yet. */
  flags?: string[];
}

export interface ValidateOptions {
  /** Fail when `process` is absent (needed for create/run, not for e.g. delete). */
  requireProcess?: boolean;
}
