/**
 * Human-readable values exactly as docker prints them (go-units, stringid, Go's time layouts):
 *
 *   humanSizeWithPrecision(4261550, 3) → "4.26MB"    humanSize(1024) → "1.024kB"
 *   humanDuration(5 * 60e3) → "5 minutes"            humanDuration(70 * 60e3) → "About an hour"
 *   truncateID("sha256:0123…") → "0123456789ab"
 */

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's fmt "%.{p}g": p significant digits, trailing zeros dropped, exponent form past p digits. */
export function formatG(v: number, p: number): string {
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  let s = v.toPrecision(p);
  // toPrecision may round up into the next decade (999.9 → "1.00e+3"); decide on the result.
  const m = /e([-+]\d+)$/.exec(s);
  const e = m ? Number(m[1]) : exp;
  if (e < -4 || e >= p) {
    let [mant, ex] = v.toExponential(p - 1).split('e') as [string, string];
    if (mant.includes('.')) mant = mant.replace(/\.?0+$/, '');
    const sign = ex.startsWith('-') ? '-' : '+';
    return `${mant}e${sign}${ex.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  if (m) s = Number(s).toString();
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
}

function sizeAndUnit(size: number, base: number, abbrs: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return [size, abbrs[i]!];
}

/** go-units HumanSizeWithPrecision: decimal units ("4.26MB" with precision 3). */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [v, unit] = sizeAndUnit(size, 1000, DECIMAL_ABBRS);
  return formatG(v, precision) + unit;
}

/** go-units HumanSize (precision 4): "1.024kB", "0B". */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize: binary units ("1.5GiB"). */
export function bytesSize(size: number): string {
  const [v, unit] = sizeAndUnit(size, 1024, BINARY_ABBRS);
  return formatG(v, 4) + unit;
}

/** go-units HumanDuration of a duration in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Go's d.Round(time.Hour): half away from zero.
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3600000 / 24 / 365)} years`;
}

/** "<duration> ago" from a unix time in seconds. */
export function timeAgo(unixSeconds: number, nowMs = Date.now()): string {
  return humanDuration(nowMs - unixSeconds * 1000) + ' ago';
}

/** stringid.TruncateID: drop the "algo:" prefix, keep 12 characters. */
export function truncateID(id: string): string {
  const i = id.indexOf(':');
  const s = i >= 0 ? id.slice(i + 1) : id;
  return s.length > 12 ? s.slice(0, 12) : s;
}

/** docker formatter.Ellipsis: at most `max` display characters, "…" as the last one if cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = [...s];
  if (rs.length <= max) return s;
  if (max === 1) return rs[0]!;
  return rs.slice(0, max - 1).join('') + '…';
}

// ---- Go time layouts (local time zone) --------------------------------------

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function zoneOffset(d: Date): { minutes: number; abbr: string } {
  const minutes = -d.getTimezoneOffset();
  const tz = process.env.TZ;
  if (minutes === 0 && (!tz || /^:?(UTC|Etc\/UTC|UTC0|GMT|Etc\/GMT)$/.test(tz))) return { minutes, abbr: 'UTC' };
  let abbr = '';
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
    abbr = part?.value ?? '';
  } catch {
    /* fall back to the numeric form */
  }
  // Zones without a letter abbreviation print as Go does: "+01", "+0530".
  if (abbr === '' || /^(GMT|UTC)[-+]/.test(abbr)) abbr = fmtOffset(minutes, false).slice(0, minutes % 60 ? 5 : 3);
  return { minutes, abbr };
}

function fmtOffset(minutes: number, colon: boolean): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.trunc(m / 60))}${colon ? ':' : ''}${pad(m % 60)}`;
}

function dateTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function clock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Go's time.Time.String() for time.Unix(sec, 0): "2024-01-02 15:04:05 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const z = zoneOffset(d);
  return `${dateTime(d)} ${clock(d)} ${fmtOffset(z.minutes, false)} ${z.abbr}`;
}

/** time.RFC3339: "2024-01-02T15:04:05Z" or "...+01:00". */
export function goRFC3339(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const z = zoneOffset(d);
  return `${dateTime(d)}T${clock(d)}${z.minutes === 0 ? 'Z' : fmtOffset(z.minutes, true)}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** time.ANSIC: "Mon Jan  2 15:04:05 2006". */
export function goANSIC(d: Date): string {
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${clock(d)} ${d.getFullYear()}`;
}
