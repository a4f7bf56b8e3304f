// Devices: Docker's default device cgroup (oci/defaults.go), HostConfig.Devices
// (oci.DevicesFromPath), HostConfig.DeviceCgroupRules (AppendDevicePermissionsFromCgroupRules)
// and a privileged container's host devices (containerd's oci.HostDevices), as moby's
// WithDevices puts them together.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LinuxDevice, LinuxDeviceCgroup } from '../../runtime/spec/types';
import type { DeviceMapping } from './docker-types';
import { SpecInputError, q } from './errors';
import { statDevice } from './resources';

/** Deny everything; allow zero, null, urandom, random, tty (5:0), console (5:1); deny /dev/fuse (10:229). */
export function dockerDefaultDeviceRules(): LinuxDeviceCgroup[] {
  const allow = (major: number, minor: number): LinuxDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), allow(1, 3), allow(1, 9), allow(1, 8), allow(5, 0), allow(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
}

/** containerd's DeviceFromPath: lstat, char/block/fifo only; undefined if not a device. */
export function deviceFromPath(p: string): LinuxDevice | undefined {
  const st = fs.lstatSync(p);
  let type: LinuxDevice['type'];
  if (st.isBlockDevice()) type = 'b';
  else if (st.isCharacterDevice()) type = 'c';
  else if (st.isFIFO()) type = 'p';
  else return undefined;
  const d: LinuxDevice = { type, path: p };
  if (type !== 'p') Object.assign(d, statDevice(p));
  else Object.assign(d, { major: 0, minor: 0 });
  d.fileMode = st.mode & 0o7777;
  d.uid = st.uid;
  d.gid = st.gid;
  return d;
}

const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** HostDevices: every char and block device below `dir` (default /dev), as the host has them. */
export function hostDevices(dir = '/dev', inContainer = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const cp = path.posix.join(inContainer, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...hostDevices(p, cp));
      continue;
    }
    if (e.name === 'console') continue;
    let d: LinuxDevice | undefined;
    try {
      d = deviceFromPath(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (!d || d.type === 'p') continue;
    out.push({ ...d, path: cp });
  }
  return out;
}

function cgroupRule(d: LinuxDevice, access: string): LinuxDeviceCgroup {
  return { allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major!, minor: d.minor!, access };
}

const ACCESS_RE = /^[rwm]{1,3}$/;

/** `docker run --device`: one mapping -> devices + their cgroup rules (a directory gives all its devices). */
export function devicesFromPath(m: DeviceMapping, where: string): { devices: LinuxDevice[]; rules: LinuxDeviceCgroup[] } {
  const onHost = m.PathOnHost ?? '';
  const inCtr = m.PathInContainer || onHost;
  const access = m.CgroupPermissions || 'rwm';
  if (!onHost.startsWith('/')) throw new SpecInputError(`${where}.PathOnHost: must be an absolute host path (got ${q(onHost)})`);
  if (!inCtr.startsWith('/')) throw new SpecInputError(`${where}.PathInContainer: must be an absolute path (got ${q(inCtr)})`);
  if (!ACCESS_RE.test(access)) throw new SpecInputError(`${where}.CgroupPermissions: must be some of "r", "w", "m" (got ${q(access)})`);
  let resolved = onHost;
  try {
    if (fs.lstatSync(onHost).isSymbolicLink()) resolved = fs.realpathSync(onHost);
  } catch {
    // reported below
  }
  const fail = (why: string): never => {
    throw new SpecInputError(`error gathering device information while adding custom device ${q(onHost)}: ${why} (${where})`);
  };
  let d: LinuxDevice | undefined;
  try {
    d = deviceFromPath(resolved);
  } catch (e) {
    fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message);
  }
  if (d) {
    const dev = { ...d, path: inCtr };
    return { devices: [dev], rules: [cgroupRule(dev, access)] };
  }
  const devices: LinuxDevice[] = [];
  if (fs.statSync(resolved).isDirectory()) {
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          walk(p);
          continue;
        }
        const child = (() => {
          try {
            return deviceFromPath(p);
          } catch {
            return undefined;
          }
        })();
        if (child) devices.push({ ...child, path: inCtr + p.slice(resolved.length) });
      }
    };
    walk(resolved);
  }
  if (devices.length === 0) fail('not a device node');
  return { devices, rules: devices.map((x) => cgroupRule(x, access)) };
}

const RULE_RE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule 'c 1:3 rwm'` -> an allow rule; `*` is -1 (any), as Docker writes it. */
export function parseDeviceCgroupRule(rule: string, where: string): LinuxDeviceCgroup {
  const m = RULE_RE.exec(rule);
  if (!m) {
    throw new SpecInputError(`invalid device cgroup rule format: '${rule}' (${where}; expected "<a|b|c> <major|*>:<minor|*> <rwm>", e.g. "c 1:3 rwm")`);
  }
  const num = (s: string) => (s === '*' ? -1 : Number(s));
  return { allow: true, type: m[1] as 'a' | 'b' | 'c', major: num(m[2]!), minor: num(m[3]!), access: m[4]! };
}

export interface DeviceSetup {
  devices: LinuxDevice[];
  rules: LinuxDeviceCgroup[];
}

/** WithDevices. */
export function buildDevices(
  mappings: readonly DeviceMapping[],
  cgroupRules: readonly string[],
  privileged: boolean,
  warnings: string[],
  hostDevDir = '/dev',
): DeviceSetup {
  if (privileged) {
    const devices = hostDevices(hostDevDir);
    for (const [i, m] of mappings.entries()) {
      const where = `HostConfig.Devices[${i}]`;
      if ((m.CgroupPermissions || 'rwm') !== 'rwm') {
        warnings.push(`custom ${m.CgroupPermissions} permissions for device ${m.PathOnHost} are ignored in privileged mode`);
      }
      if (m.PathOnHost === (m.PathInContainer || m.PathOnHost)) {
        warnings.push(`path in container ${m.PathInContainer || m.PathOnHost} already exists in privileged mode`);
        continue;
      }
      devices.push(...devicesFromPath({ ...m, CgroupPermissions: 'rwm' }, where).devices);
    }
    return { devices, rules: [{ allow: true, access: 'rwm' }] };
  }
  const devices: LinuxDevice[] = [];
  const rules = dockerDefaultDeviceRules();
  for (const [i, m] of mappings.entries()) {
    const r = devicesFromPath(m ?? {}, `HostConfig.Devices[${i}]`);
    devices.push(...r.devices);
    rules.push(...r.rules);
  }
  for (const [i, rule] of cgroupRules.entries()) rules.push(parseDeviceCgroupRule(rule, `HostConfig.DeviceCgroupRules[${i}]`));
  return { devices, rules };
}
