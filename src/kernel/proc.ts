// What /proc tells about processes and about berth-runtime itself.
import * as fs from 'node:fs';

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Process state letter (R, S, Z, ...), or undefined if the pid does not exist. */
export function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Alive and the same process (start time matches), zombies counted as dead. */
export function isSameProcessAlive(pid: number, startTime?: string): boolean {
  if (!pid) return false;
  const st = processState(pid);
  if (st === undefined || st === 'Z' || st === 'X') return false;
  return startTime === undefined || processStartTime(pid) === startTime;
}

function statusField(name: string): string | undefined {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${name}:\\s*(\\S+)`, 'm'));
  return m?.[1];
}

/** Capabilities berth-runtime holds (its bounding set ∩ effective), as a bit mask. */
export function heldCapabilities(): bigint {
  const bnd = BigInt('0x' + (statusField('CapBnd') ?? '0'));
  const eff = BigInt('0x' + (statusField('CapEff') ?? '0'));
  return bnd & eff;
}

export function lastCap(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return 40;
  }
}

/** Hard limits of berth-runtime, by "RLIMIT_*" name; 'unlimited' for RLIM_INFINITY. */
export function hardLimits(): Map<string, bigint | 'unlimited'> {
  const names: Record<string, string> = {
    'Max cpu time': 'RLIMIT_CPU', 'Max file size': 'RLIMIT_FSIZE', 'Max data size': 'RLIMIT_DATA',
    'Max stack size': 'RLIMIT_STACK', 'Max core file size': 'RLIMIT_CORE', 'Max resident set': 'RLIMIT_RSS',
    'Max processes': 'RLIMIT_NPROC', 'Max open files': 'RLIMIT_NOFILE', 'Max locked memory': 'RLIMIT_MEMLOCK',
    'Max address space': 'RLIMIT_AS', 'Max file locks': 'RLIMIT_LOCKS', 'Max pending signals': 'RLIMIT_SIGPENDING',
    'Max msgqueue size': 'RLIMIT_MSGQUEUE', 'Max nice priority': 'RLIMIT_NICE', 'Max realtime priority': 'RLIMIT_RTPRIO',
    'Max realtime timeout': 'RLIMIT_RTTIME',
  };
  const out = new Map<string, bigint | 'unlimited'>();
  for (const line of fs.readFileSync('/proc/self/limits', 'utf8').split('\n').slice(1)) {
    const name = line.slice(0, 26).trim();
    const hard = line.slice(47, 68).trim();
    if (names[name]) out.set(names[name], hard === 'unlimited' ? 'unlimited' : BigInt(hard));
  }
  return out;
}

export function ownOomScoreAdj(): number {
  return Number(fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
}

/** Inode identity of a namespace file, e.g. "net:[4026531840]". */
export function namespaceId(pid: number | 'self', nsFile: string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${nsFile}`);
  } catch {
    return undefined;
  }
}
