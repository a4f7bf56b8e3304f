// v1 cpuacct controller: statistics only (nothing to apply).
//   cpuacct.usage                    total ns
//   cpuacct.usage_percpu             ns per CPU
//   cpuacct.usage_all                "cpu user system" table, ns (preferred for the per-CPU split)
//   cpuacct.usage_percpu_sys/_user   the same split on kernels without usage_all
//   cpuacct.stat                     "user N" / "system N" in USER_HZ ticks → ns
import { joinPath } from '../fs';
import type { CpuUsage } from '../stats';
import { parseCounter, parseKeyValues, parseNumberList, ticksToNs } from '../units';
import { V1Context, readOptional } from './util';

/** cpuacct.usage_all → per-CPU user and system ns, indexed by CPU number. */
export function parseUsageAll(text: string): { user: number[]; kernel: number[] } | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0 || !/^cpu\s+user\s+system$/.test(lines[0])) return undefined;
  const user: number[] = [];
  const kernel: number[] = [];
  for (const l of lines.slice(1)) {
    const [cpu, u, s] = l.split(/\s+/);
    const i = Number(cpu);
    if (!Number.isInteger(i) || u === undefined || s === undefined) return undefined;
    user[i] = parseCounter(u);
    kernel[i] = parseCounter(s);
  }
  // CPUs missing from the table (offline) read as 0, like cpuacct.usage_percpu shows them.
  for (let i = 0; i < user.length; i++) {
    user[i] ??= 0;
    kernel[i] ??= 0;
  }
  return { user, kernel };
}

export function cpuacctUsage(ctx: V1Context): CpuUsage {
  const usage: CpuUsage = { kernel: 0, user: 0 };
  const dir = ctx.dirOf('cpuacct');
  if (dir === undefined) return usage;
  const read = (name: string): string | undefined => readOptional(ctx.o, joinPath(dir, name));
  const total = read('cpuacct.usage');
  if (total !== undefined) usage.total = parseCounter(total);
  const percpu = read('cpuacct.usage_percpu');
  if (percpu !== undefined) usage.percpu = parseNumberList(percpu);
  const all = read('cpuacct.usage_all');
  const split = all === undefined ? undefined : parseUsageAll(all);
  if (split) {
    usage.percpu_kernel = split.kernel;
    usage.percpu_user = split.user;
  } else {
    const sys = read('cpuacct.usage_percpu_sys');
    const user = read('cpuacct.usage_percpu_user');
    if (sys !== undefined) usage.percpu_kernel = parseNumberList(sys);
    if (user !== undefined) usage.percpu_user = parseNumberList(user);
  }
  const stat = read('cpuacct.stat');
  if (stat !== undefined) {
    const kv = parseKeyValues(stat);
    usage.user = ticksToNs(kv.user ?? 0);
    usage.kernel = ticksToNs(kv.system ?? 0);
  }
  return usage;
}
