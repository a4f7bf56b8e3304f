// linux.resources.devices on cgroup v2: there are no devices.allow/deny files; the
// rules are compiled (devices-bpf.ts) into a BPF_PROG_TYPE_CGROUP_DEVICE program
// that is loaded and attached to the container's cgroup. Node cannot call bpf(2),
// so attaching is an injectable function; the default hands the program to the
// native stage's host mode ("op:bpf_devices", src/kernel/host-ops.ts), which does
//   BPF_PROG_LOAD   prog_type BPF_PROG_TYPE_CGROUP_DEVICE (15), the bytes as insns,
//                   insn_cnt = bytes / 8, license "Apache" (no GPL-only helpers used)
//   BPF_PROG_ATTACH target_fd = the cgroup dir, attach_type BPF_CGROUP_DEVICE (6),
//                   BPF_F_ALLOW_MULTI, then BPF_PROG_DETACH of the programs that were
//                   attached to that cgroup before (so `update` replaces the filter)
// Left out (`devices` absent) means no filter is attached, as for every other field.
// As runc does (and the v1 driver), runc's default allow list is appended after the
// spec's rules (RUNC_DEFAULT_DEVICE_RULES): the runtime mknods the default /dev nodes
// after joining the cgroup and images expect them, so a spec cannot take those away;
// any other device it denies stays denied.
import type { LinuxDeviceCgroup } from '../../spec/types';
import { attachDeviceFilter as nativeAttach } from '../../../kernel/host-ops';
import { deviceFilterProgram } from './devices-bpf';
import { DEFAULT_ALLOWED_DEVICE_RULES } from '../device-rules';

/** Loads `program` (struct bpf_insn[]) and attaches it to `cgroupDir`, replacing berth's previous filter. */
export type AttachDeviceFilter = (cgroupDir: string, program: Buffer) => Promise<void>;

let defaultAttach: AttachDeviceFilter = nativeAttach;

/** The loader managers use when none is given in V2ManagerOptions; returns the previous one. */
export function setDefaultDeviceFilterAttacher(fn: AttachDeviceFilter): AttachDeviceFilter {
  const prev = defaultAttach;
  defaultAttach = fn;
  return prev;
}

export function defaultDeviceFilterAttacher(): AttachDeviceFilter {
  return defaultAttach;
}

/** Compiles the rules plus runc's defaults (CgroupError for an invalid rule), or undefined when `devices` is absent. */
export function planDevices(rules: LinuxDeviceCgroup[] | undefined): Buffer | undefined {
  if (rules === undefined || rules === null) return undefined;
  if (!Array.isArray(rules)) return deviceFilterProgram(rules); // refused there, naming the field
  return deviceFilterProgram([...rules, ...RUNC_DEFAULT_DEVICE_RULES]);
}

/**
 * runc's default device rules (libcontainer/specconv AllowedDevices), which runc appends
 * to every container's list: mknod of any node, /dev/null, zero, full, random, urandom,
 * tty, ptmx, the pts and /dev/net/tun. The same list as v1's DEFAULT_ALLOWED_DEVICE_RULES.
 */
/** The shared default allow-list (../device-rules.ts), under the name the v2 code uses. */
export const RUNC_DEFAULT_DEVICE_RULES = DEFAULT_ALLOWED_DEVICE_RULES;
