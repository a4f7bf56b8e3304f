// Value conversions shared by the cgroup drivers and checkResources: OCI Int64
// (number | bigint) to cgroupfs text, cgroupfs text to stats numbers, CPU/node
// lists, huge page size names, USER_HZ ticks.
import type { Int64 } from '../spec/types';

/** USER_HZ: the unit of cpuacct.stat (sysconf(_SC_CLK_TCK); 100 on every Linux ABI). */
export const USER_HZ = 100;

/** What stats report for "no limit": 2^63-1 as a double (prints as 9223372036854776000). */
export const UNLIMITED = Number(2n ** 63n - 1n);

/**
 * v1 memory/hugetlb files show "no limit" as PAGE_COUNTER_MAX pages in bytes:
 * 2^63 minus one page (9223372036854771712 with 4 KiB pages). Anything at or
 * above 2^63 - 64 KiB (largest page size in use) is that.
 */
const V1_UNLIMITED_FLOOR = 2n ** 63n - 2n ** 16n;

export function toBig(v: Int64): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isInteger(v)) throw new RangeError(`${v} is not an integer`);
  return BigInt(v);
}

/** Decimal text of an Int64, never in exponent form (String(1e21) would be "1e+21"). */
export function fmtInt(v: Int64): string {
  return toBig(v).toString();
}

/** A cgroupfs number as a JS number ("max" and v1's page-counter maximum → UNLIMITED). */
export function parseCounter(text: string): number {
  const t = text.trim();
  if (t === 'max') return UNLIMITED;
  if (!/^-?\d+$/.test(t)) throw new Error(`not a number: ${JSON.stringify(t)}`);
  const b = BigInt(t);
  if (b >= V1_UNLIMITED_FLOOR) return UNLIMITED;
  return Number(b);
}

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.oom_control, pids.events). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 2 || !/^-?\d+$/.test(f[1])) continue;
    out[f[0]] = parseCounter(f[1]);
  }
  return out;
}

/** Space-separated numbers (cpuacct.usage_percpu and friends). */
export function parseNumberList(text: string): number[] {
  return text.trim().split(/\s+/).filter((s) => s !== '').map(parseCounter);
}

/**
 * "0-3,7" → [0,1,2,3,7] (sorted, unique). Empty or blank → []. Throws an Error
 * saying what is wrong for anything else ("0-", "a", "3-1", "1,,2").
 */
export function parseCpuList(list: string): number[] {
  const s = list.trim();
  if (s === '') return [];
  const out = new Set<number>();
  for (const raw of s.split(',')) {
    const part = raw.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`${JSON.stringify(part)} is not a number or a range like "0-3"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`range "${part}" is backwards (write "${hi}-${lo}")`);
    if (hi - lo > 65536) throw new Error(`range "${part}" is implausibly large`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** [0,1,2,3,7] → "0-3,7". */
export function formatCpuList(nums: number[]): string {
  const sorted = [...new Set(nums)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const PREFIX = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

/** "2MB" → 2097152, "1GB" → 1073741824, "64KB" → 65536; undefined if malformed. */
export function pageSizeBytes(name: string): number | undefined {
  const m = /^([1-9]\d*)([KMGTPE]?)B$/.exec(name);
  if (!m) return undefined;
  return Number(m[1]) * 1024 ** PREFIX.indexOf(m[2]);
}

/** 2097152 → "2MB": the kernel's hugetlb file-name form (largest exact unit). */
export function pageSizeName(bytes: number): string {
  let n = bytes;
  let i = 0;
  while (n >= 1024 && n % 1024 === 0 && i < PREFIX.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n}${PREFIX[i]}B`;
}

/** /sys/kernel/mm/hugepages entry "hugepages-2048kB" → "2MB"; undefined if not such a name. */
export function hugepageDirToName(dir: string): string | undefined {
  const m = /^hugepages-(\d+)kB$/.exec(dir);
  return m ? pageSizeName(Number(m[1]) * 1024) : undefined;
}

/** cpuacct.stat ticks (USER_HZ) → nanoseconds. */
export function ticksToNs(ticks: number): number {
  return ticks * (1e9 / USER_HZ); // 1e7 per tick: exact for any realistic count
}

/** True when the Int64 is exactly n (works across number and bigint). */
export function isInt(v: Int64 | undefined, n: number): boolean {
  return v !== undefined && toBig(v) === BigInt(n);
}
