// v1 devices controller: the OCI allow/deny list, applied in order.
//
// Like runc, the cgroup is first put in a default mode: unless the list starts
// with an allow-all rule, "a" goes to devices.deny (deny everything, clearing
// any exceptions), then each rule "type major:minor access" goes to
// devices.allow or devices.deny. An all-devices rule ("a *:* rwm") switches the
// default mode again. A type "a" rule that is not all-devices-all-access is the
// same rule for "c" and for "b" (the kernel would treat any "a" as all-devices).
//
// As runc does (specconv AllowedDevices), runc's default allow list is appended
// after the spec's rules: mknod of any node ("c *:* m", "b *:* m"), /dev/null,
// zero, full, random, urandom, tty, ptmx, /dev/pts/*, /dev/net/tun. The runtime
// creates the default nodes after joining the cgroup, and images expect them;
// so a spec cannot take these away (runc behaves the same), while any other
// device it denies stays denied. Allow rules for the spec's linux.devices are
// the runtime's to add (runc adds them too): this driver only sees resources.
//
// On update of an allow-list cgroup to another allow-list, only the difference
// is written (allows first, then denies), as runc does, so running processes
// never see a transient deny-all; an unchanged list writes nothing.
import { joinPath } from '../fs';
import type { LinuxDeviceCgroup } from '../../spec/types';
import { V1Context, readOptional, requireDir, writeField } from './util';

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  major: string; // number or "*"
  minor: string;
  access: string; // normalised: a subset of "rwm" in that order
}

/** runc's AllowedDevices rules, appended to every device list. */
import { DEFAULT_ALLOWED_DEVICE_RULES } from '../device-rules';
export { DEFAULT_ALLOWED_DEVICE_RULES };

const num = (v: number | undefined): string => (v === undefined || v === -1 ? '*' : String(v));

function normAccess(a: string | undefined): string {
  const s = a ?? 'rwm';
  return ['r', 'w', 'm'].filter((c) => s.includes(c)).join('');
}

export function isAllDevices(r: DeviceRule): boolean {
  return r.type === 'a' && r.major === '*' && r.minor === '*' && r.access === 'rwm';
}

/** OCI rules → kernel rules (absent type = "a", absent/-1 number = "*", absent access = "rwm"). */
export function normalizeDeviceRules(rules: LinuxDeviceCgroup[]): DeviceRule[] {
  const out: DeviceRule[] = [];
  for (const d of rules) {
    const r: DeviceRule = { allow: d.allow, type: d.type ?? 'a', major: num(d.major), minor: num(d.minor), access: normAccess(d.access) };
    if (r.type === 'a' && !isAllDevices(r)) {
      out.push({ ...r, type: 'c' }, { ...r, type: 'b' });
    } else {
      out.push(r);
    }
  }
  return out;
}

export function ruleText(r: DeviceRule): string {
  return isAllDevices(r) ? 'a' : `${r.type} ${r.major}:${r.minor} ${r.access}`;
}

/** The writes that produce `rules` from any starting state: [file name, value][]. */
export function deviceWrites(rules: DeviceRule[]): [string, string][] {
  const writes: [string, string][] = [];
  const file = (allow: boolean): string => (allow ? 'devices.allow' : 'devices.deny');
  let rest = rules;
  if (rules.length > 0 && isAllDevices(rules[0])) {
    writes.push([file(rules[0].allow), 'a']);
    rest = rules.slice(1);
  } else {
    writes.push(['devices.deny', 'a']);
  }
  for (const r of rest) writes.push([file(r.allow), ruleText(r)]);
  return writes;
}

/** What the kernel ends up with after `rules` (from a default-deny start): mode and exception list. */
export function emulateDevices(rules: DeviceRule[]): { defaultAllow: boolean; exceptions: Map<string, string> } {
  let defaultAllow = false;
  const ex = new Map<string, string>();
  for (const r of rules) {
    if (isAllDevices(r)) {
      defaultAllow = r.allow;
      ex.clear();
      continue;
    }
    const key = `${r.type} ${r.major}:${r.minor}`;
    if (r.allow !== defaultAllow) {
      ex.set(key, normAccess((ex.get(key) ?? '') + r.access)); // the kernel ORs into an identical entry
    } else if (ex.has(key)) {
      const left = normAccess(ex.get(key)!.replace(new RegExp(`[${r.access}]`, 'g'), ''));
      if (left === '') ex.delete(key);
      else ex.set(key, left);
    }
  }
  return { defaultAllow, exceptions: ex };
}

/** devices.list of an allow-list cgroup as "type maj:min" → access (undefined in allow-all mode). */
export function parseDevicesList(text: string): Map<string, string> | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.includes('a *:* rwm')) return undefined;
  const out = new Map<string, string>();
  for (const l of lines) {
    const [t, dev, acc] = l.split(/\s+/);
    out.set(`${t} ${dev}`, normAccess((out.get(`${t} ${dev}`) ?? '') + (acc ?? '')));
  }
  return out;
}

/** Writes that turn allow-list `have` into allow-list `want` without passing through deny-all. */
export function allowListTransition(have: Map<string, string>, want: Map<string, string>): [string, string][] {
  const minus = (a: string, b: string): string => normAccess([...a].filter((c) => !b.includes(c)).join(''));
  const writes: [string, string][] = [];
  for (const [key, acc] of want) {
    const add = minus(acc, have.get(key) ?? '');
    if (add) writes.push(['devices.allow', `${key} ${add}`]);
  }
  for (const [key, acc] of have) {
    const drop = minus(acc, want.get(key) ?? '');
    if (drop) writes.push(['devices.deny', `${key} ${drop}`]);
  }
  return writes;
}

export function applyDevices(ctx: V1Context, rules: LinuxDeviceCgroup[] | undefined): void {
  if (rules === undefined) return;
  const dir = requireDir(ctx, 'devices', 'devices');
  const all = [...rules, ...DEFAULT_ALLOWED_DEVICE_RULES];
  const norm = normalizeDeviceRules(all);
  const explain = (code: string | undefined): string | undefined =>
    code === 'EPERM' ? `the parent cgroup ${joinPath(dir, '..')} does not allow this device access, and a cgroup cannot allow more than its parent (EPERM)` : undefined;
  if (ctx.update) {
    const want = emulateDevices(norm);
    const cur = readOptional(ctx.o, joinPath(dir, 'devices.list'));
    const have = cur === undefined ? undefined : parseDevicesList(cur);
    if (!want.defaultAllow && have !== undefined) {
      for (const [name, value] of allowListTransition(have, want.exceptions)) writeField(ctx.o, 'devices', joinPath(dir, name), value, explain);
      return;
    }
  }
  // Which OCI rule each kernel rule came from, for the error's field name.
  const origin: string[] = [];
  all.forEach((d, i) => {
    const field = i < rules.length ? `devices[${i}]` : 'devices (runc default allow list)';
    for (let k = normalizeDeviceRules([d]).length; k > 0; k--) origin.push(field);
  });
  const writes = deviceWrites(norm);
  const offset = norm.length > 0 && isAllDevices(norm[0]) ? 0 : -1; // -1: writes[0] is the added default deny
  writes.forEach(([name, value], w) => {
    const field = w + offset < 0 ? 'devices' : origin[w + offset];
    writeField(ctx.o, field, joinPath(dir, name), value, explain);
  });
}
