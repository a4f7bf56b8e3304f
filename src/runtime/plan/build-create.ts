// Spec → the launch plan of a new container (`create`, `run`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MS } from '../../kernel/constants';
import type { Hook, Spec } from '../spec/types';
import { RuntimeError } from '../errors';
import { planDevices, planDevSymlinks } from './devices';
import { IdMaps, IdmapProbe, MountClones, rootfsIdmapRequest } from './idmap';
import { CgroupMountContext, planMounts } from './mounts';
import { JOIN_ORDER, NS_INFO } from './namespaces';
import { overlayMountData, overlayRootfsRequest, ROOTFS_OVERLAY_ANNOTATION } from './overlay-rootfs';
import { LaunchPlan } from './plan';
import { planProcess } from './process';
import { planSeccomp } from './seccomp';
import { ownOomScoreAdj, heldCapabilities } from '../../kernel/proc';

export interface CreatePlanInput {
  spec: Spec;
  bundle: string;
  rootfs: string;
  /** The exec fifo `start` writes to; absent for a plan that starts at once. */
  fifo?: string;
  /** Where the init reports a failure between `start` and exec (startContainer hooks, exec). */
  statusFile?: string;
  cgroupProcs: string[];
  cgroup: CgroupMountContext;
  consoleSocket?: string;
  /** Compiled seccomp programs are cached here (content-addressed). */
  seccompCacheDir?: string;
  /** For the seccomp NOTIFY listener's payload. */
  id?: string;
  /** Keep the stage parent as subreaper and report the exit status (`run` without -d). */
  foreground: boolean;
  noPivot: boolean;
  /** The container's state directory (default: the fifo's): where a chowned rootfs copy may go. */
  stateDir?: string;
  /** Warnings (an idmapped mount the kernel refuses); default: stderr, as the CLI words them. */
  warn?: (msg: string) => void;
  /** How to ask the kernel about idmapped mounts (default: the stage); tests pass a fake. */
  idmapProbe?: IdmapProbe;
}

export interface CreatePlan {
  plan: LaunchPlan;
  unavailableCaps: string[];
}

const CLOCK_IDS = { monotonic: 1, boottime: 7 } as const;
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export function hookRecord(phase: string, h: Hook): (string | number)[] {
  const args = h.args && h.args.length ? h.args : [h.path];
  return [phase, h.timeout ?? 0, h.path, args.length, ...args, ...(h.env ?? [])];
}

const CAP_SYS_RESOURCE = 1n << 24n;

export function checkOomScoreAdj(value: number | undefined, where: string): void {
  if (value === undefined || heldCapabilities() & CAP_SYS_RESOURCE) return;
  const own = ownOomScoreAdj();
  if (value < own) {
    throw new RuntimeError(
      `${where}: oomScoreAdj ${value} is below berth-runtime's own (${own}); lowering it needs CAP_SYS_RESOURCE, which this host does not grant`,
    );
  }
}

function planNamespaces(plan: LaunchPlan, spec: Spec): { newFlags: number; userns: boolean; types: Set<string> } {
  const nss = spec.linux?.namespaces ?? [];
  const types = new Set<string>(nss.map((n) => n.type));
  let newFlags = 0;
  for (const type of JOIN_ORDER) {
    const ns = nss.find((n) => n.type === type);
    if (!ns) continue;
    if (ns.path) plan.header.push(['join', type, ns.path]);
    else newFlags |= NS_INFO[type].flag;
  }
  const userns = !!nss.find((n) => n.type === 'user' && !n.path);
  if (userns) {
    plan.header.push(['userns']);
    const map = (m: { containerID: number; hostID: number; size: number }[] = []) => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join('');
    plan.header.push(['uidmap', map(spec.linux?.uidMappings)]);
    plan.header.push(['gidmap', map(spec.linux?.gidMappings)]);
  }
  plan.header.push(['unshare', newFlags & ~NS_INFO.user.flag]);
  return { newFlags, userns, types };
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** Only sysctls of a namespace the container has of its own: anything else would change the host. */
export function checkSysctlNamespaced(key: string, newFlags: number, types: Set<string>): void {
  const k = key.replace(/\//g, '.');
  const own = (t: 'ipc' | 'network' | 'uts') => !!(newFlags & NS_INFO[t].flag) || types.has(t);
  let ns: 'ipc' | 'network' | 'uts' | undefined;
  if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) ns = 'ipc';
  else if (k.startsWith('net.')) ns = 'network';
  else if (k === 'kernel.hostname' || k === 'kernel.domainname') ns = 'uts';
  if (!ns) throw new RuntimeError(`config.json: linux.sysctl: sysctl ${JSON.stringify(key)} is not in a separate kernel namespace; setting it would change the host`);
  if (!own(ns)) throw new RuntimeError(`config.json: linux.sysctl: sysctl ${JSON.stringify(key)} needs a ${ns} namespace of the container's own (add {"type": "${ns}"} to linux.namespaces)`);
}

/** A field we cannot honour is an error, never silently ignored (least of all a security one). */
function refuseUnsupported(spec: Spec): void {
  const linux = spec.linux ?? {};
  const no = (field: string, why: string) => {
    throw new RuntimeError(`config.json: ${field}: ${why}`);
  };
  if (spec.process?.apparmorProfile) no('process.apparmorProfile', 'this host has no AppArmor (and berth-runtime does not apply AppArmor profiles yet)');
  if (spec.process?.selinuxLabel) no('process.selinuxLabel', 'this host has no SELinux (and berth-runtime does not apply SELinux labels yet)');
  if (linux.mountLabel) no('linux.mountLabel', 'this host has no SELinux (and berth-runtime does not apply SELinux labels yet)');
  if (linux.intelRdt) no('linux.intelRdt', 'Intel RDT is not supported by berth-runtime');
}

export function buildCreatePlan(input: CreatePlanInput): CreatePlan {
  const { spec, bundle, rootfs } = input;
  const proc = spec.process;
  if (!proc) throw new RuntimeError('config.json: process: a container needs a process to run');
  const linux = spec.linux ?? {};
  const plan = new LaunchPlan();
  plan.header.push(['mode', 'create']);
  if (input.fifo) plan.header.push(['fifo', input.fifo]);
  if (input.statusFile) plan.header.push(['statusfile', input.statusFile]);
  if (input.consoleSocket) plan.header.push(['consolesock', input.consoleSocket]);
  for (const f of input.cgroupProcs) plan.header.push(['cgroup', f]);
  checkOomScoreAdj(proc.oomScoreAdj, 'config.json: process');
  if (proc.oomScoreAdj !== undefined) plan.header.push(['oom', proc.oomScoreAdj]);
  if (input.foreground) plan.header.push(['foreground']);
  if (proc.terminal && !input.consoleSocket) plan.header.push(['ptyproxy']);
  plan.header.push(['setsid']);

  refuseUnsupported(spec);
  const ns = planNamespaces(plan, spec);
  const mountNs = (linux.namespaces ?? []).find((n) => n.type === 'mount');
  if (!mountNs) {
    throw new RuntimeError('config.json: linux.namespaces: berth-runtime needs a mount namespace (add {"type": "mount"}); it never mounts in the host\'s');
  }
  const newMountNs = !mountNs.path;
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field] && !ns.types.has('uts')) {
      throw new RuntimeError(`config.json: ${field}: setting a ${field} needs a UTS namespace (add {"type": "uts"} to linux.namespaces)`);
    }
  }
  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length) {
    if (!(ns.newFlags & NS_INFO.time.flag)) {
      throw new RuntimeError('config.json: linux.timeOffsets: time offsets need a new time namespace (add {"type": "time"} to linux.namespaces)');
    }
    const lines = Object.entries(linux.timeOffsets).map(([clock, o]) => `${CLOCK_IDS[clock as keyof typeof CLOCK_IDS]} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}\n`);
    plan.header.push(['timens', lines.join('')]);
  }

  const mounts = spec.mounts ?? [];
  const clones = new MountClones();
  const containerMaps: IdMaps | undefined = ns.userns ? { uid: linux.uidMappings ?? [], gid: linux.gidMappings ?? [] } : undefined;
  const rootfsIdmap = rootfsIdmapRequest(spec, rootfs, containerMaps, newMountNs);
  const overlay = overlayRootfsRequest(spec.annotations);
  if (overlay) {
    const where = `config.json: annotations["${ROOTFS_OVERLAY_ANNOTATION}"]`;
    if (!newMountNs) throw new RuntimeError(`${where}: an overlay rootfs needs a new mount namespace; a joined one already has its root`);
    if (ns.userns) throw new RuntimeError(`${where}: an overlay rootfs is mounted as host root before the user namespace exists; berth-runtime does not support it with a new user namespace yet (use the vfs driver)`);
    if (rootfsIdmap) throw new RuntimeError(`${where}: an overlay rootfs cannot also be idmapped`);
  }
  if (newMountNs) {
    // Nothing we mount may propagate to the host: private (or slave) before anything else.
    const first = linux.rootfsPropagation === 'slave' || linux.rootfsPropagation === 'rslave' ? MS.SLAVE | MS.REC : MS.PRIVATE | MS.REC;
    plan.op('making the mount namespace private', 'mount_abs', '', '/', '', first, '');
    // In the container's own mount namespace only: nothing to unmount on the host, ever.
    if (overlay) plan.op(`mounting the overlay rootfs on ${rootfs} (${overlay.lower.length} lower layers, from ${overlay.base})`, 'overlay_rootfs', overlay.base, rootfs, overlayMountData(overlay));
    if (rootfsIdmap) plan.op(`mounting the rootfs ${rootfs} idmapped to the container's IDs`, 'attach_clone', clones.add(rootfsIdmap), rootfs, 'abs');
    else plan.op(`bind-mounting the rootfs ${rootfs} onto itself`, 'mount_abs', rootfs, rootfs, '', MS.BIND | MS.REC, '');
  }
  // Opened after the self-bind, so the fd is on the new mount and not the directory under it.
  plan.op(`opening the rootfs ${rootfs}`, 'rootfs', rootfs);
  if (newMountNs) {
    const sysfsAsBind = ns.userns && !(ns.newFlags & NS_INFO.network.flag);
    planMounts(plan, mounts, bundle, { cgroup: input.cgroup, sysfsAsBind, idmap: { clones, containerMaps } });
    // runc creates a missing cwd (also under a read-only root: this runs before the remount).
    plan.op(`creating the process cwd ${proc.cwd}`, 'mkdir', proc.cwd, 0o755);
    const devMount = mounts.find((m) => m.destination.replace(/\/+$/, '') === '/dev');
    const devIsBind = !!devMount && (devMount.type === 'bind' || (devMount.options ?? []).some((o) => o === 'bind' || o === 'rbind'));
    if (!devIsBind) {
      planDevices(plan, linux.devices ?? [], ns.userns);
      planDevSymlinks(plan, mounts.some((m) => m.destination.replace(/\/+$/, '') === '/dev/pts'), fs.existsSync('/proc/kcore'));
    }
  }
  if (proc.terminal) {
    const size = proc.consoleSize;
    plan.op('allocating the container terminal', 'console', '', size?.height ?? 0, size?.width ?? 0, newMountNs ? 'dev/console' : '');
  }
  const hooks = spec.hooks ?? {};
  const anyHooks = Object.values(hooks).some((h) => h && h.length);
  if (anyHooks) plan.op('running prestart and createRuntime hooks', 'hooks_sync');
  (hooks.createContainer ?? []).forEach((h, i) => plan.op(`running createContainer hook ${i} (${h.path})`, 'hook', ...hookRecord('createContainer', h)));

  if (newMountNs) {
    if (input.noPivot) plan.op(`moving the rootfs to / (--no-pivot)`, 'chroot');
    else plan.op(`pivot_root into ${rootfs}`, 'pivot_root');
    const prop = linux.rootfsPropagation;
    if (prop && prop !== 'rprivate') plan.op(`setting rootfs propagation to ${prop}`, 'mount_abs', '', '/', '', PROPAGATION[prop], '');
  }
  if (ns.newFlags & NS_INFO.network.flag) plan.op('bringing up the loopback interface', 'loopback');
  for (const key of Object.keys(linux.sysctl ?? {})) checkSysctlNamespaced(key, ns.newFlags, ns.types);
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    // "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.100/forwarding": dots only mean slashes without slashes.
    const rel = key.includes('/') ? key.replace(/^\/+/, '') : key.replace(/\./g, '/');
    plan.op(`setting sysctl ${key}=${value}`, 'write', `/proc/sys/${rel}`, value);
  }
  if (newMountNs) {
    for (const p of linux.readonlyPaths ?? []) plan.op(`making ${p} read-only`, 'readonly', p);
    for (const p of linux.maskedPaths ?? []) plan.op(`masking ${p}`, 'mask', p);
    if (spec.root?.readonly) plan.op('remounting the root filesystem read-only', 'remount_root_ro');
  }
  if (spec.hostname) plan.op(`setting hostname ${spec.hostname}`, 'hostname', spec.hostname);
  if (spec.domainname) plan.op(`setting domainname ${spec.domainname}`, 'domainname', spec.domainname);
  (hooks.startContainer ?? []).forEach((h, i) => plan.op(`running startContainer hook ${i} (${h.path})`, 'hook', ...hookRecord('startContainer', h)));
  const { unavailableCaps } = planProcess(plan, proc);
  planSeccomp(plan, linux.seccomp, input.seccompCacheDir, { id: input.id ?? '', bundle, annotations: spec.annotations });
  if (linux.personality) plan.process.push(['personality', linux.personality.domain === 'LINUX32' ? 0x0008 : 0]);
  // Last, once nothing else can refuse the spec: this asks the kernel and may copy the rootfs.
  const inStateDir = input.fifo ?? input.statusFile;
  const copyDir = input.stateDir ?? (inStateDir ? path.dirname(inStateDir) : undefined);
  clones.finish(plan, { probe: input.idmapProbe, copyDir, warn: input.warn ?? ((m) => process.stderr.write(`berth-runtime: warning: ${m}\n`)) });
  return { plan, unavailableCaps };
}
