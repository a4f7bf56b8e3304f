// Capability names → bit masks, limited to what berth-runtime itself holds.
import { CAPABILITIES } from '../spec/constants';
import type { LinuxCapabilities } from '../spec/types';
import { RuntimeError } from '../errors';

export interface CapMasks {
  bounding: bigint;
  effective: bigint;
  inheritable: bigint;
  permitted: bigint;
  ambient: bigint;
  /** Requested capabilities this process cannot grant (not in its own sets). */
  unavailable: string[];
}

function mask(names: readonly string[] | undefined, held: bigint, missing: Set<string>): bigint {
  let m = 0n;
  for (const n of names ?? []) {
    if (!(n in CAPABILITIES)) throw new RuntimeError(`unknown capability ${JSON.stringify(n)}`);
    const bit = 1n << BigInt(CAPABILITIES[n]);
    if (held & bit) m |= bit;
    else missing.add(n);
  }
  return m;
}

/** A "privileged" container gets the caps berth itself holds; the rest are reported, not fatal. */
export function capabilityMasks(caps: LinuxCapabilities | undefined, held: bigint): CapMasks {
  const missing = new Set<string>();
  const out = {
    bounding: mask(caps?.bounding, held, missing),
    effective: mask(caps?.effective, held, missing),
    inheritable: mask(caps?.inheritable, held, missing),
    permitted: mask(caps?.permitted, held, missing),
    ambient: mask(caps?.ambient, held, missing),
  };
  // The kernel requires ambient ⊆ permitted ∩ inheritable.
  out.ambient &= out.permitted & out.inheritable;
  return { ...out, unavailable: [...missing].sort() };
}

export const hex = (n: bigint): string => '0x' + n.toString(16);
