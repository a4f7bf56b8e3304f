// Validation of config.json's `linux` object (config-linux.md).

import { DEVICE_TYPES, NAMESPACE_TYPES, PERSONALITY_DOMAINS, ROOTFS_PROPAGATIONS, TIME_OFFSET_CLOCKS } from './constants';
import type {
  Linux, LinuxDevice, LinuxIntelRdt, LinuxNamespace, LinuxPersonality, LinuxTimeOffset, RootfsPropagation,
} from './types';
import { validateResources } from './validate-resources';
import { validateSeccomp } from './validate-seccomp';
import {
  absPath, arr, at, bool, compact, enumStr, fail, idMappings, int, int64, isAbsent, key, obj, oneOf, opt,
  req, str, strArray, strMap,
} from './validate-util';

export function validateLinux(raw: unknown, path = 'linux'): Linux {
  const o = obj(raw, path);
  const l: Linux = compact({
    uidMappings: opt(o, 'uidMappings', path, idMappings),
    gidMappings: opt(o, 'gidMappings', path, idMappings),
    sysctl: opt(o, 'sysctl', path, strMap),
    resources: opt(o, 'resources', path, validateResources),
    cgroupsPath: opt(o, 'cgroupsPath', path, str),
    namespaces: opt(o, 'namespaces', path, namespaces),
    devices: opt(o, 'devices', path, devices),
    seccomp: opt(o, 'seccomp', path, validateSeccomp),
    // "" is Go's unset value for this omitempty string.
    rootfsPropagation: o.rootfsPropagation === '' ? undefined : opt(o, 'rootfsPropagation', path, (x, q) =>
      enumStr<RootfsPropagation>(x, q, ROOTFS_PROPAGATIONS, 'rootfs propagation')),
    maskedPaths: opt(o, 'maskedPaths', path, absPaths),
    readonlyPaths: opt(o, 'readonlyPaths', path, absPaths),
    mountLabel: opt(o, 'mountLabel', path, str),
    intelRdt: opt(o, 'intelRdt', path, intelRdt),
    personality: opt(o, 'personality', path, personality),
    timeOffsets: opt(o, 'timeOffsets', path, timeOffsets),
  });
  checkUserNamespace(l, path);
  checkTimeNamespace(l, path);
  return l;
}

/** Where linux.namespaces declares `type`, for cross-field messages. */
function findNamespace(l: Linux, type: string): { ns: LinuxNamespace; index: number } | undefined {
  const index = (l.namespaces ?? []).findIndex((n) => n.type === type);
  return index < 0 ? undefined : { ns: l.namespaces![index]!, index };
}

// Mappings only mean something inside a user namespace, and a new user
// namespace is useless (setuid/setgid fail) until both maps are written.
function checkUserNamespace(l: Linux, path: string): void {
  const user = findNamespace(l, 'user');
  const given = (['uidMappings', 'gidMappings'] as const).filter((f) => (l[f]?.length ?? 0) > 0);
  if (!user && given.length > 0) {
    fail(key(path, given[0]!), 'requires a user namespace (add {"type": "user"} to linux.namespaces)');
  }
  if (user && !user.ns.path) {
    for (const f of ['uidMappings', 'gidMappings'] as const) {
      if ((l[f]?.length ?? 0) === 0) {
        fail(key(path, f), `is required when ${at(key(path, 'namespaces'), user.index)} creates a new user namespace`);
      }
    }
  }
}

function checkTimeNamespace(l: Linux, path: string): void {
  if (!l.timeOffsets || Object.keys(l.timeOffsets).length === 0) return;
  const time = findNamespace(l, 'time');
  if (!time) fail(key(path, 'timeOffsets'), 'requires a time namespace (add {"type": "time"} to linux.namespaces)');
  if (time.ns.path) {
    // Offsets can only be written before the first process enters the namespace.
    fail(key(path, 'timeOffsets'), `cannot be set when joining an existing time namespace (${at(key(path, 'namespaces'), time.index)}.path)`);
  }
}

function namespaces(v: unknown, path: string): LinuxNamespace[] {
  const seen = new Map<string, number>();
  return arr(v, path, 'an array of {type, path} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const type = req(o, 'type', p, (x, q) => enumStr(x, q, NAMESPACE_TYPES, 'namespace type'));
    const first = seen.get(type);
    if (first !== undefined) fail(key(p, 'type'), `duplicate namespace type ${JSON.stringify(type)} (already at ${at(path, first)})`);
    seen.set(type, i);
    // An empty path means "create a new one", as with Go's omitempty.
    const nsPath = o.path === '' ? undefined : opt(o, 'path', p, absPath);
    return compact({ type, path: nsPath });
  });
}

function devices(v: unknown, path: string): LinuxDevice[] {
  return arr(v, path, 'an array of device objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const type = req(o, 'type', p, (x, q) => enumStr(x, q, DEVICE_TYPES, 'device type'));
    // FIFOs ("p") have no device number; the others cannot be made without one.
    const num = (name: 'major' | 'minor') => {
      if (type !== 'p' && isAbsent(o[name])) fail(key(p, name), `is required for device type "${type}"`);
      return opt(o, name, p, (x, q) => int(x, q, 'uint32'));
    };
    return compact({
      type,
      path: req(o, 'path', p, absPath),
      major: num('major'),
      minor: num('minor'),
      fileMode: opt(o, 'fileMode', p, (x, q) => int(x, q, 'uint32')),
      uid: opt(o, 'uid', p, (x, q) => int(x, q, 'uint32')),
      gid: opt(o, 'gid', p, (x, q) => int(x, q, 'uint32')),
    });
  });
}

function absPaths(v: unknown, path: string): string[] {
  return strArray(v, path).map((s, i) => absPath(s, at(path, i)));
}

function timeOffsets(v: unknown, path: string): Linux['timeOffsets'] {
  const o = obj(v, path);
  const out: NonNullable<Linux['timeOffsets']> = {};
  for (const [clock, val] of Object.entries(o)) {
    const p = key(path, clock);
    if (!(TIME_OFFSET_CLOCKS as readonly string[]).includes(clock)) {
      fail(p, `unknown clock ${JSON.stringify(clock)} (${oneOf(TIME_OFFSET_CLOCKS)})`);
    }
    if (isAbsent(val)) continue;
    const t = obj(val, p);
    out[clock as (typeof TIME_OFFSET_CLOCKS)[number]] = compact<LinuxTimeOffset>({
      secs: opt(t, 'secs', p, (x, q) => int64(x, q, 'int64')),
      // /proc/<pid>/timens_offsets rejects nanoseconds outside [0, 1e9).
      nanosecs: opt(t, 'nanosecs', p, (x, q) => int(x, q, [0, 999_999_999])),
    });
  }
  return out;
}

function intelRdt(v: unknown, path: string): LinuxIntelRdt {
  const o = obj(v, path);
  const r: LinuxIntelRdt = compact({
    closID: opt(o, 'closID', path, str),
    l3CacheSchema: opt(o, 'l3CacheSchema', path, str),
    memBwSchema: opt(o, 'memBwSchema', path, str),
    enableCMT: opt(o, 'enableCMT', path, bool),
    enableMBM: opt(o, 'enableMBM', path, bool),
  });
  // closID names a directory under /sys/fs/resctrl.
  if (r.closID !== undefined && (r.closID.includes('/') || r.closID === '.' || r.closID === '..')) {
    fail(key(path, 'closID'), `must be a plain directory name (got ${JSON.stringify(r.closID)})`);
  }
  if (r.memBwSchema !== undefined && (!r.memBwSchema.startsWith('MB:') || /[\r\n]/.test(r.memBwSchema))) {
    fail(key(path, 'memBwSchema'), 'must start with "MB:" and be a single line');
  }
  return r;
}

function personality(v: unknown, path: string): LinuxPersonality {
  const o = obj(v, path);
  return compact({
    domain: req(o, 'domain', path, (x, q) => enumStr(x, q, PERSONALITY_DOMAINS, 'personality domain')),
    flags: opt(o, 'flags', path, strArray),
  });
}
