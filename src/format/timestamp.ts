// Docker's time arguments (`since`, `until` of events, logs and prune filters), as moby's
// api/types/time.GetTimestamp reads them: a Go duration before now ("10m", "1h30m", "1.5h"),
// unix seconds with optional nanoseconds ("1700000000.000000001"), or RFC 3339 with optional
// fractional seconds. Nanoseconds since the epoch, as a bigint: a Number cannot hold them exactly.

const UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("300ms", "1h30m", "1.5h", "-2m") in nanoseconds; undefined if it is not one. */
export function parseGoDuration(s: string): number | undefined {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s);
  if (!m) return s === '0' ? 0 : undefined;
  let total = 0;
  for (const part of s.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNITS_NS[part[2]!]!;
  }
  return m[1] === '-' ? -total : total;
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Unix seconds[.nanoseconds] or RFC 3339 → nanoseconds; undefined if it is neither. */
export function parseInstantNs(s: string): bigint | undefined {
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(s);
  if (unix) return BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  const m = RFC3339.exec(s);
  if (m) {
    const ms = Date.parse(m[1]! + m[3]!);
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  }
  // Docker also takes shorter forms ("2006-01-02", "2006-01-02T15:04"), read as UTC.
  if (/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d)?)?$/.test(s)) {
    const ms = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : `${s}Z`);
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n;
  }
  return undefined;
}

/** GetTimestamp: a duration counts back from `nowMs`. Throws a message naming the value. */
export function parseTimestampNs(s: string, nowMs = Date.now()): bigint {
  const v = s.trim();
  const instant = parseInstantNs(v);
  if (instant !== undefined) return instant;
  const d = parseGoDuration(v);
  if (d !== undefined) return BigInt(nowMs) * 1_000_000n - BigInt(Math.round(d));
  throw new Error(`invalid time ${JSON.stringify(s)}: use unix seconds, RFC 3339 or a duration like 10m or 24h`);
}
