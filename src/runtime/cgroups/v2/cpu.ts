// linux.resources.cpu on cgroup v2 (runc fs2/cpu.go semantics).
//   shares          → cpu.weight, runc's linear map of [2, 262144] onto [1, 10000]:
//                     1 + ((shares - 2) * 9999) / 262142 (integer division). 0 = left alone;
//                     values outside [2, 262144] are clamped first, as the v1 kernel does.
//   quota / period  → cpu.max "<quota> <period>" ("max" for quota -1). A field left out keeps
//                     the value in force (at create: the kernel's "max 100000"), so
//                     `update --cpu-period` alone does not drop the quota.
//   burst           → cpu.max.burst (kernel ≥ 5.14); written before cpu.max and retried after
//                     it if the kernel refuses it against the old quota.
//   idle            → cpu.idle (0 or 1, kernel ≥ 5.15).
//   realtimeRuntime / realtimePeriod: cgroup v2 has no real-time bandwidth control → CgroupError.
// cpus / mems are the cpuset controller's: cpuset.ts.
import type { LinuxCPU } from '../../spec/types';
import { CgroupError } from '../manager';
import { PlanContext, Write, big, has, readOpt, setOrUndefined } from './util';

const MIN_SHARES = 2n;
const MAX_SHARES = 262144n;

/** cgroup v1 cpu.shares → cgroup v2 cpu.weight (runc's ConvertCPUSharesToCgroupV2Value, after the v1 kernel's clamp). */
export function sharesToWeight(shares: bigint): bigint {
  const s = shares < MIN_SHARES ? MIN_SHARES : shares > MAX_SHARES ? MAX_SHARES : shares;
  return 1n + ((s - 2n) * 9999n) / 262142n;
}

/** Kernel bounds of cpu.max (kernel/sched/core.c: 1 ms ≤ period ≤ 1 s, quota ≥ 1 ms). */
const MIN_PERIOD = 1000n;
const MAX_PERIOD = 1000000n;
const MIN_QUOTA = 1000n;

function parseCpuMax(text: string | undefined): { quota: string; period: bigint } {
  const m = /^(max|\d+)\s+(\d+)/.exec(text ?? '');
  return m ? { quota: m[1], period: BigInt(m[2]) } : { quota: 'max', period: 100000n };
}

export function planCpu(r: LinuxCPU | undefined, c: PlanContext): Write[] {
  if (!r) return [];
  for (const k of ['realtimeRuntime', 'realtimePeriod'] as const) {
    const v = r[k];
    if (v !== undefined && v !== null && big(v, `cpu.${k}`) !== 0n) {
      throw new CgroupError(`cpu.${k}`, 'real-time CPU bandwidth (cpu.rt_runtime_us / cpu.rt_period_us) does not exist on cgroup v2; remove it (or run on a cgroup v1 host)');
    }
  }
  const out: Write[] = [];
  const shares = setOrUndefined(r.shares, 'cpu.shares');
  const quota = setOrUndefined(r.quota, 'cpu.quota');
  const period = setOrUndefined(r.period, 'cpu.period');
  const idle = r.idle === undefined || r.idle === null ? undefined : big(r.idle, 'cpu.idle');
  const burst = r.burst === undefined || r.burst === null ? undefined : big(r.burst, 'cpu.burst');
  if (shares === undefined && quota === undefined && period === undefined && idle === undefined && burst === undefined) return [];
  c.need('cpu', shares !== undefined ? 'cpu.shares' : quota !== undefined ? 'cpu.quota' : period !== undefined ? 'cpu.period' : idle !== undefined ? 'cpu.idle' : 'cpu.burst');

  if (idle !== undefined) {
    if (idle !== 0n && idle !== 1n) throw new CgroupError('cpu.idle', `${idle} is not valid: expected 0 or 1`);
    if (!has(c, 'cpu.idle')) throw new CgroupError('cpu.idle', 'this kernel has no cpu.idle (needs Linux 5.15 or later)');
    out.push({ file: 'cpu.idle', value: idle.toString(), field: 'cpu.idle' });
  }
  if (shares !== undefined) {
    if (shares < 0n) throw new CgroupError('cpu.shares', `${shares} is not valid: expected a positive relative weight`);
    out.push({ file: 'cpu.weight', value: sharesToWeight(shares).toString(), field: 'cpu.shares' });
  }
  const writesMax = quota !== undefined || period !== undefined;
  if (burst !== undefined) {
    if (burst < 0n) throw new CgroupError('cpu.burst', `${burst} is not valid: expected microseconds ≥ 0`);
    if (!has(c, 'cpu.max.burst')) throw new CgroupError('cpu.burst', 'this kernel has no cpu.max.burst (needs Linux 5.14 or later)');
    out.push({ file: 'cpu.max.burst', value: burst.toString(), field: 'cpu.burst', retryOnEinval: writesMax });
  }
  if (writesMax) {
    const cur = parseCpuMax(readOpt(c, 'cpu.max'));
    const p = period ?? cur.period;
    if (period !== undefined && (p < MIN_PERIOD || p > MAX_PERIOD)) {
      throw new CgroupError('cpu.period', `${p} is not valid: the kernel accepts periods from ${MIN_PERIOD} to ${MAX_PERIOD} µs`);
    }
    let q = cur.quota;
    if (quota !== undefined) {
      if (quota < 0n) q = 'max';
      else if (quota < MIN_QUOTA) throw new CgroupError('cpu.quota', `${quota} is not valid: the kernel needs a quota of at least ${MIN_QUOTA} µs (or -1 for no limit)`);
      else q = quota.toString();
    }
    out.push({ file: 'cpu.max', value: `${q} ${p}`, field: quota !== undefined ? 'cpu.quota' : 'cpu.period' });
  }
  return out;
}
