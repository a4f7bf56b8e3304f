// The process part of a plan: args, env, cwd, user, groups, umask, capabilities,
// rlimits, no_new_privs. Checks what the kernel would refuse, with the reason.
import { RLIMITS } from '../spec/constants';
import type { Process } from '../spec/types';
import { RuntimeError } from '../errors';
import { heldCapabilities, hardLimits, lastCap } from '../../kernel/proc';
import { capabilityMasks, hex } from './capabilities';
import { LaunchPlan } from './plan';

const CAP_SYS_RESOURCE = 1n << 24n;
const IOPRIO_CLASS = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
const SCHED_POLICY = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 } as const;
const SCHED_FLAG = {
  SCHED_FLAG_RESET_ON_FORK: 0x1, SCHED_FLAG_RECLAIM: 0x2, SCHED_FLAG_DL_OVERRUN: 0x4, SCHED_FLAG_KEEP_POLICY: 0x8,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
} as const;
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
  if (proc.ioPriority) {
    // ioprio_set(2) value: class in the top 3 of 16 bits.
    plan.process.push(['ioprio', (IOPRIO_CLASS[proc.ioPriority.class] << 13) | proc.ioPriority.priority]);
  }
  if (proc.scheduler) {
    const sc = proc.scheduler;
    const flags = (sc.flags ?? []).reduce((f, name) => f | SCHED_FLAG[name], 0);
    plan.process.push(['sched', SCHED_POLICY[sc.policy], flags, sc.nice ?? 0, sc.priority ?? 0, BigInt(sc.runtime ?? 0), BigInt(sc.deadline ?? 0), BigInt(sc.period ?? 0)]);
  }
  return { unavailableCaps: caps.unavailable };
}
