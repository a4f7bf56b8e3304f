// CapAdd / CapDrop / Privileged -> the capability sets, as moby's oci/caps
// (NormalizeLegacyCapabilities, TweakCapabilities): names are case-insensitive, with or
// without "CAP_", "ALL" is a magic value; "all capabilities" means those the daemon itself
// holds (containerd's cap.Current()), and a capability the kernel knows but the daemon does
// not hold is refused by name.

import * as fs from 'node:fs';
import { CAPABILITIES } from '../../runtime/spec/constants';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../runtime/spec/docker-defaults';
import { SpecInputError, q } from './errors';

/** Every capability name the kernel headers define, in bit order. */
export const KNOWN_CAPABILITIES: readonly string[] = Object.freeze(
  Object.entries(CAPABILITIES).sort((a, b) => a[1] - b[1]).map(([name]) => name),
);

/** The effective capabilities of this process (/proc/self/status CapEff), in bit order. */
export function currentCapabilities(status?: string): string[] {
  const text = status ?? fs.readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  if (!m) throw new Error('cannot read CapEff from /proc/self/status');
  const mask = BigInt('0x' + m[1]);
  return KNOWN_CAPABILITIES.filter((c) => (mask >> BigInt(CAPABILITIES[c]!)) & 1n);
}

/** Upper-case, add "CAP_", check it is known and held; "ALL" passes through. */
export function normalizeCapabilities(caps: readonly string[], held: readonly string[], field: string): string[] {
  const out: string[] = [];
  for (const raw of caps) {
    if (typeof raw !== 'string') throw new SpecInputError(`${field}: capability names must be strings (got ${q(raw)})`);
    let c = raw.toUpperCase();
    if (c === 'ALL') {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = 'CAP_' + c;
    if (!(c in CAPABILITIES)) {
      throw new SpecInputError(`invalid ${field}: unknown capability: ${q(c)} (names are those of capabilities(7), with or without CAP_, or ALL)`);
    }
    if (!held.includes(c)) {
      throw new SpecInputError(
        `invalid ${field}: capability not supported by your kernel or not available in the current environment: ${q(c)} (berth itself does not hold it)`,
      );
    }
    out.push(c);
  }
  return out;
}

/**
 * TweakCapabilities: privileged gets every held capability; otherwise the defaults minus
 * CapDrop plus CapAdd, where CapAdd ALL is everything held minus CapDrop and CapDrop ALL
 * leaves only CapAdd.
 */
export function tweakCapabilities(
  adds: readonly string[],
  drops: readonly string[],
  privileged: boolean,
  held: readonly string[],
  basics: readonly string[] = DOCKER_DEFAULT_CAPABILITIES,
): string[] {
  // Validated even when privileged ignores them, as dockerd's validateCapabilities does at create.
  const capDrop = normalizeCapabilities(drops, held, 'CapDrop');
  const capAdd = normalizeCapabilities(adds, held, 'CapAdd');
  const all = KNOWN_CAPABILITIES.filter((c) => held.includes(c));
  if (privileged) return all;
  if (adds.length === 0 && drops.length === 0) return [...basics];
  let caps: string[];
  if (capAdd.includes('ALL')) caps = all.filter((c) => !capDrop.includes(c));
  else if (capDrop.includes('ALL')) caps = capAdd.filter((c) => c !== 'ALL');
  else caps = [...basics.filter((c) => !capDrop.includes(c)), ...capAdd];
  // moby keeps duplicates (e.g. CapAdd of a default); the runtime's sets are sets.
  return [...new Set(caps)];
}
