// v1 cpu controller: shares, CFS bandwidth (period/quota/burst), real-time
// bandwidth, SCHED_IDLE; and cpu.stat throttling for the stats.
//
// The kernel validates each write against the values already there: quota/period
// against the parent's ratio, burst ≤ quota. So the order of the writes is chosen
// so every intermediate state is no looser than the old or the new one, and an
// EINVAL on an early write is retried after the others (as runc does).
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import type { LinuxCPU } from '../../spec/types';
import type { Throttling } from '../stats';
import { parseKeyValues } from '../units';
import { CPU_SHARES_MAX, CPU_SHARES_MIN } from '../check';
import { V1Context, WriteStep, nz, parentDir, readBig, readOptional, requireDir, writeField, writeSequence } from './util';

export const CPU_FILES = {
  shares: 'cpu.shares',
  period: 'cpu.cfs_period_us',
  quota: 'cpu.cfs_quota_us',
  burst: 'cpu.cfs_burst_us',
  rtPeriod: 'cpu.rt_period_us',
  rtRuntime: 'cpu.rt_runtime_us',
  idle: 'cpu.idle',
  stat: 'cpu.stat',
} as const;

export function cpuWanted(c: LinuxCPU | undefined): boolean {
  if (!c) return false;
  return [c.shares, c.quota, c.period, c.realtimeRuntime, c.realtimePeriod].some((v) => nz(v) !== undefined) || c.burst !== undefined || c.idle !== undefined;
}

function firstField(c: LinuxCPU): string {
  for (const k of ['shares', 'quota', 'period', 'burst', 'realtimeRuntime', 'realtimePeriod', 'idle'] as const) if (c[k] !== undefined) return `cpu.${k}`;
  return 'cpu';
}

/**
 * Order of the CFS writes. Writing period first passes through (oldQuota, newPeriod),
 * quota first through (newQuota, oldPeriod); pick the one with the smaller CPU
 * ratio (an unlimited quota is always acceptable). Burst goes before the quota
 * when it fits under the old quota, else after the new one.
 */
export function cfsOrder(cur: { quota: bigint; period: bigint; burst: bigint }, want: { quota?: bigint; period?: bigint; burst?: bigint }): ('period' | 'quota' | 'burst')[] {
  const order: ('period' | 'quota' | 'burst')[] = [];
  if (want.period !== undefined && want.quota !== undefined) {
    const q1 = cur.quota;
    const periodFirst = q1 < 0n ? true : want.quota < 0n ? false : q1 * cur.period <= want.quota * want.period;
    order.push(...(periodFirst ? (['period', 'quota'] as const) : (['quota', 'period'] as const)));
  } else {
    if (want.period !== undefined) order.push('period');
    if (want.quota !== undefined) order.push('quota');
  }
  if (want.burst !== undefined) {
    const qi = order.indexOf('quota');
    if (qi < 0) order.push('burst');
    else if (cur.quota < 0n || want.burst <= cur.quota) order.splice(qi, 0, 'burst');
    else order.splice(qi + 1, 0, 'burst');
  }
  return order;
}

export function applyCpu(ctx: V1Context, c: LinuxCPU | undefined): void {
  if (!c || !cpuWanted(c)) return;
  const { o } = ctx;
  const dir = requireDir(ctx, 'cpu', firstField(c));
  const f = (name: string): string => joinPath(dir, name);

  const shares = nz(c.shares);
  if (shares !== undefined) {
    writeField(o, 'cpu.shares', f(CPU_FILES.shares), shares.toString());
    // The kernel clamps silently; say so instead of running with another value (runc does too).
    const got = readBig(o, f(CPU_FILES.shares));
    if (got !== undefined && got !== shares) {
      throw new CgroupError('cpu.shares', `the kernel changed ${shares} to ${got}: allowed are ${CPU_SHARES_MIN}..${CPU_SHARES_MAX}`);
    }
  }

  const want = { period: nz(c.period), quota: nz(c.quota), burst: c.burst === undefined ? undefined : BigInt(c.burst) };
  if (want.burst !== undefined && !o.fs.exists(f(CPU_FILES.burst))) {
    if (want.burst !== 0n) {
      throw new CgroupError('cpu.burst', `${f(CPU_FILES.burst)} does not exist: this kernel has no CFS burst (needs Linux 5.14 or later); remove cpu.burst`);
    }
    want.burst = undefined; // 0 = no burst, which is all an old kernel does anyway
  }
  const cur = {
    quota: readBig(o, f(CPU_FILES.quota)) ?? -1n,
    period: readBig(o, f(CPU_FILES.period)) ?? 100000n,
    burst: readBig(o, f(CPU_FILES.burst)) ?? 0n,
  };
  const parentRatio = (): string => {
    const p = parentDir(dir);
    const q = readBig(o, joinPath(p, CPU_FILES.quota));
    const per = readBig(o, joinPath(p, CPU_FILES.period));
    return q === undefined || q < 0n ? '' : `; the parent ${p} allows ${q} µs per ${per} µs and a child may not get more CPU than its parent`;
  };
  const steps: WriteStep[] = cfsOrder(cur, want).map((k) => {
    const v = want[k]!;
    const step: WriteStep = { field: `cpu.${k}`, file: f(CPU_FILES[k]), value: v.toString() };
    if (k === 'burst') step.explain = (code) => (code === 'EINVAL' ? `the kernel refused it (EINVAL): burst may not exceed the quota (currently ${readBig(o, f(CPU_FILES.quota))})` : undefined);
    else step.explain = (code) => (code === 'EINVAL' ? `the kernel refused it (EINVAL)${parentRatio()}` : undefined);
    return step;
  });
  writeSequence(o, steps);

  // Real-time bandwidth: period first, runtime second unless the period must wait for the runtime.
  const rtPeriod = nz(c.realtimePeriod);
  const rtRuntime = nz(c.realtimeRuntime);
  if (rtPeriod !== undefined || rtRuntime !== undefined) {
    if (!o.fs.exists(f(CPU_FILES.rtRuntime))) {
      throw new CgroupError(rtRuntime !== undefined ? 'cpu.realtimeRuntime' : 'cpu.realtimePeriod', `${f(CPU_FILES.rtRuntime)} does not exist: this kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED); remove the realtime fields`);
    }
    const explain = (code: string | undefined): string | undefined => {
      if (code !== 'EINVAL' && code !== 'EBUSY') return undefined;
      const p = parentDir(dir);
      const pr = readBig(o, joinPath(p, CPU_FILES.rtRuntime));
      const pp = readBig(o, joinPath(p, CPU_FILES.rtPeriod));
      return `the kernel refused it (${code}): a cgroup's real-time runtime must fit in its parent's, and ${p} has ${pr} µs per ${pp} µs (cpu.rt_runtime_us/cpu.rt_period_us); give the parent a real-time budget first, or drop the realtime fields`;
    };
    const steps: WriteStep[] = [];
    if (rtPeriod !== undefined) steps.push({ field: 'cpu.realtimePeriod', file: f(CPU_FILES.rtPeriod), value: rtPeriod.toString(), explain });
    if (rtRuntime !== undefined) steps.push({ field: 'cpu.realtimeRuntime', file: f(CPU_FILES.rtRuntime), value: rtRuntime.toString(), explain });
    writeSequence(o, steps);
  }

  if (c.idle !== undefined) {
    const idle = BigInt(c.idle);
    if (o.fs.exists(f(CPU_FILES.idle))) writeField(o, 'cpu.idle', f(CPU_FILES.idle), idle.toString());
    else if (idle !== 0n) throw new CgroupError('cpu.idle', `${f(CPU_FILES.idle)} does not exist: this kernel cannot run a cgroup as SCHED_IDLE (needs Linux 5.15 or later); remove cpu.idle`);
  }
}

export function cpuThrottling(ctx: V1Context): Throttling {
  const dir = ctx.dirOf('cpu');
  if (dir === undefined) return {};
  const text = readOptional(ctx.o, joinPath(dir, CPU_FILES.stat));
  if (text === undefined) return {};
  const kv = parseKeyValues(text);
  const t: Throttling = {};
  if (kv.nr_periods !== undefined) t.periods = kv.nr_periods;
  if (kv.nr_throttled !== undefined) t.throttledPeriods = kv.nr_throttled;
  if (kv.throttled_time !== undefined) t.throttledTime = kv.throttled_time;
  return t;
}
