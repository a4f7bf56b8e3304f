// HostConfig.SecurityOpt (moby daemon_unix.go parseSecurityOpt) and the seccomp profile
// choice (daemon/seccomp_linux.go WithSeccomp, moby/profiles seccomp.LoadProfile).
//
// This host has no LSM: AppArmor profiles and SELinux labels are refused, except the
// values that mean "none" (apparmor=unconfined, label=disable / label:disable / disable).

import type { LinuxSeccomp, SeccompAction, SeccompArch } from '../../runtime/spec/types';
import { dockerDefaultProfile, expandDockerProfile } from '../../runtime/seccomp/default-profile';
import type { DockerSeccompProfile, DockerSeccompSyscall } from '../../runtime/seccomp/default-profile';
import { SpecInputError, q } from './errors';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** undefined: the daemon's default ("builtin"); "unconfined"; "builtin"; or a profile's JSON text. */
  seccompProfile?: string;
  /** `writable-cgroups[=bool]`; undefined = follow Privileged. */
  writableCgroups?: boolean;
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

export function parseSecurityOpt(opts: readonly string[], warnings: string[], defaultNoNewPrivileges = false): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: defaultNoNewPrivileges };
  for (const opt of opts) {
    if (typeof opt !== 'string') throw new SpecInputError(`HostConfig.SecurityOpt: entries must be strings (got ${q(opt)})`);
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'writable-cgroups') {
      out.writableCgroups = true;
      continue;
    }
    if (opt === 'disable') continue; // label=disable in its shortest form: SELinux off, which it is
    let k: string;
    let v: string;
    const eq = opt.indexOf('=');
    const colon = opt.indexOf(':');
    if (eq >= 0) {
      k = opt.slice(0, eq);
      v = opt.slice(eq + 1);
    } else if (colon >= 0) {
      k = opt.slice(0, colon);
      v = opt.slice(colon + 1);
      warnings.push(`Security options with ":" as a separator are deprecated, use "=" instead (HostConfig.SecurityOpt ${q(opt)})`);
    } else {
      throw new SpecInputError(
        `invalid --security-opt 1: ${q(opt)} (expected no-new-privileges[=bool], seccomp=<profile|unconfined>, apparmor=unconfined or label=disable)`,
      );
    }
    switch (k) {
      case 'label':
        if (v !== 'disable') {
          throw new SpecInputError(
            `HostConfig.SecurityOpt ${q(opt)}: SELinux labels are not supported: this host has no SELinux (only label=disable is accepted)`,
          );
        }
        break;
      case 'apparmor':
        if (v !== 'unconfined') {
          throw new SpecInputError(
            `HostConfig.SecurityOpt ${q(opt)}: AppArmor profiles are not supported: this host has no AppArmor (only apparmor=unconfined is accepted)`,
          );
        }
        break;
      case 'seccomp':
        if (v === '') throw new SpecInputError(`HostConfig.SecurityOpt ${q(opt)}: seccomp= needs "unconfined", "builtin" or a profile's JSON`);
        out.seccompProfile = v;
        break;
      case 'no-new-privileges':
      case 'writable-cgroups': {
        const b = parseBool(v);
        if (b === undefined) throw new SpecInputError(`invalid --security-opt 2: ${q(opt)} (${k} takes true or false)`);
        if (k === 'no-new-privileges') out.noNewPrivileges = b;
        else out.writableCgroups = b;
        break;
      }
      default:
        throw new SpecInputError(
          `invalid --security-opt 2: ${q(opt)} (unknown option ${q(k)}; known: no-new-privileges, seccomp, apparmor, label, writable-cgroups)`,
        );
    }
  }
  return out;
}

// ---- seccomp ------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(problem: string): never {
  throw new SpecInputError(`HostConfig.SecurityOpt seccomp profile: ${problem}`);
}

function strList(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${where} must be an array of strings`);
  return v as string[];
}

/** moby/profiles' Filter (includes / excludes). */
function filter(v: unknown, where: string): DockerSeccompSyscall['includes'] {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) bad(`${where} must be an object`);
  const f: NonNullable<DockerSeccompSyscall['includes']> = {};
  const caps = strList(v.caps, `${where}.caps`);
  const arches = strList(v.arches, `${where}.arches`);
  if (caps.length) (f as { caps?: string[] }).caps = caps;
  if (arches.length) (f as { arches?: string[] }).arches = arches;
  if (v.minKernel !== undefined && v.minKernel !== null && v.minKernel !== '') {
    if (typeof v.minKernel !== 'string' || !/^\d+\.\d+$/.test(v.minKernel)) {
      bad(`${where}.minKernel must look like "<kernel>.<major>" (got ${q(v.minKernel)})`);
    }
    (f as { minKernel?: string }).minKernel = v.minKernel;
  }
  return f;
}

/**
 * seccomp.LoadProfile: a Docker-format profile (the file `--security-opt seccomp=<file>`
 * names; the CLI sends its content) expanded for this container as setupSeccomp does.
 * Action names, syscall names and argument operators are checked by the runtime's validator.
 */
export function loadSeccompProfile(body: string, capabilities: readonly string[], kernelRelease?: string): LinuxSeccomp | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message}); seccomp= takes "unconfined", "builtin" or the profile's JSON content`);
  }
  if (!isObj(raw)) bad('must be a JSON object');
  const defaultAction = raw.defaultAction ?? '';
  if (typeof defaultAction !== 'string') bad('defaultAction must be a string');
  const syscallsRaw = raw.syscalls ?? [];
  if (!Array.isArray(syscallsRaw)) bad('syscalls must be an array');
  // No default action and no rules: seccomp disabled (moby).
  if (defaultAction === '' && syscallsRaw.length === 0) return undefined;
  if (defaultAction === '') bad('defaultAction is required');
  const architectures = strList(raw.architectures, 'architectures');
  const archMapRaw = raw.archMap ?? [];
  if (!Array.isArray(archMapRaw)) bad('archMap must be an array');
  if (architectures.length > 0 && archMapRaw.length > 0) {
    bad("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const archMap = archMapRaw.map((a, i) => {
    if (!isObj(a) || typeof a.architecture !== 'string') bad(`archMap[${i}] needs an "architecture" string`);
    return { architecture: a.architecture as SeccompArch, subArchitectures: strList(a.subArchitectures, `archMap[${i}].subArchitectures`) as SeccompArch[] };
  });
  const syscalls: DockerSeccompSyscall[] = syscallsRaw.map((s, i) => {
    const where = `syscalls[${i}]`;
    if (!isObj(s)) bad(`${where} must be an object`);
    let names = strList(s.names, `${where}.names`);
    if (typeof s.name === 'string' && s.name !== '') {
      if (names.length) bad(`${where}: use either 'name' or 'names'`);
      names = [s.name];
    }
    if (typeof s.action !== 'string') bad(`${where}.action must be a string`);
    const call: DockerSeccompSyscall = {
      names,
      action: s.action as SeccompAction,
      ...(typeof s.errnoRet === 'number' ? { errnoRet: s.errnoRet } : {}),
      ...(Array.isArray(s.args) ? { args: s.args as DockerSeccompSyscall['args'] } : {}),
    };
    const includes = filter(s.includes, `${where}.includes`);
    const excludes = filter(s.excludes, `${where}.excludes`);
    if (includes) (call as { includes?: unknown }).includes = includes;
    if (excludes) (call as { excludes?: unknown }).excludes = excludes;
    return call;
  });
  const profile: DockerSeccompProfile = {
    defaultAction: defaultAction as SeccompAction,
    ...(typeof raw.defaultErrnoRet === 'number' ? { defaultErrnoRet: raw.defaultErrnoRet } : {}),
    archMap,
    syscalls,
  };
  const out = expandDockerProfile(profile, { capabilities, ...(kernelRelease ? { kernelRelease } : {}) });
  if (architectures.length) out.architectures = architectures as SeccompArch[];
  const flags = strList(raw.flags, 'flags');
  if (flags.length) out.flags = flags as LinuxSeccomp['flags'];
  if (typeof raw.listenerPath === 'string' && raw.listenerPath !== '') out.listenerPath = raw.listenerPath;
  if (typeof raw.listenerMetadata === 'string' && raw.listenerMetadata !== '') out.listenerMetadata = raw.listenerMetadata;
  return out;
}

/**
 * WithSeccomp: unconfined -> none; privileged -> none unless a profile was named; otherwise
 * Docker's default profile for these capabilities, or the given one.
 */
export function chooseSeccomp(
  profile: string | undefined,
  privileged: boolean,
  capabilities: readonly string[],
  kernelRelease?: string,
): LinuxSeccomp | undefined {
  if (profile === 'unconfined') return undefined;
  const opts = { capabilities, ...(kernelRelease ? { kernelRelease } : {}) };
  if (profile === undefined || profile === 'builtin') return privileged && profile === undefined ? undefined : dockerDefaultProfile(opts);
  return loadSeccompProfile(profile, capabilities, kernelRelease);
}
