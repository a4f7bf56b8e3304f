// The process part of a plan: args, env, cwd, user, groups, umask, capabilities,
// rlimits, no_new_privs. Checks what the kernel would refuse, with the reason.
import { RLIMITS } from '../spec/constants';
import type { Process } from '../spec/types';
import { RuntimeError } from '../errors';
import { heldCapabilities, hardLimits, lastCap } from '../../kernel/proc';
import { capabilityMasks, hex } from './capabilities';
import { LaunchPlan } from './plan';

const CAP_SYS_RESOURCE = 1n << 24n;
const RLIM_INFINITY = 0xffffffffffffffffn;

export interface ProcessPlanResult {
  /** Capabilities asked for that berth-runtime does not hold (and so cannot grant). */
  unavailableCaps: string[];
}

function checkRlimit(type: string, hard: bigint, held: bigint, limits: Map<string, bigint | 'unlimited'>): void {
  if (held & CAP_SYS_RESOURCE) return;
  const ours = limits.get(type);
  if (ours === undefined || ours === 'unlimited') return;
  if (hard > ours) {
    throw new RuntimeError(
      `config.json: process.rlimits ${type}: hard limit ${hard === RLIM_INFINITY ? 'unlimited' : hard} exceeds berth-runtime's own hard limit ${ours}, ` +
        `and raising it needs CAP_SYS_RESOURCE, which this host does not grant; lower the limit to at most ${ours}`,
    );
  }
}

export function planProcess(plan: LaunchPlan, proc: Process): ProcessPlanResult {
  const held = heldCapabilities();
  const limits = hardLimits();
  for (const r of proc.rlimits ?? []) {
    if (!(r.type in RLIMITS)) throw new RuntimeError(`config.json: process.rlimits: unknown type ${JSON.stringify(r.type)}`);
    const soft = BigInt(r.soft);
    const hard = BigInt(r.hard);
    checkRlimit(r.type, hard, held, limits);
    plan.op(`setting ${r.type} to ${soft}/${hard}`, 'rlimit', RLIMITS[r.type], soft, hard);
  }
  plan.process.push(['args', ...proc.args]);
  plan.process.push(['env', ...(proc.env ?? [])]);
  plan.process.push(['cwd', proc.cwd]);
  plan.process.push(['user', proc.user.uid, proc.user.gid]);
  plan.process.push(['groups', ...(proc.user.additionalGids ?? [])]);
  plan.process.push(['umask', proc.user.umask ?? 0o022]);
  const caps = capabilityMasks(proc.capabilities, held);
  plan.process.push(['caps', hex(caps.bounding), hex(caps.effective), hex(caps.inheritable), hex(caps.permitted), hex(caps.ambient), lastCap()]);
  if (proc.noNewPrivileges) plan.process.push(['nnp']);
  return { unavailableCaps: caps.unavailable };
}
