/**
 * Human-readable values exactly as docker prints them (go-units, stringid, Go's time layouts):
 *
 *   humanSizeWithPrecision(4261550, 3) → "4.26MB"    humanSize(1024) → "1.024kB"
 *   humanDuration(5 * 60e3) → "5 minutes"            humanDuration(70 * 60e3) → "About an hour"
 *   truncateID("sha256:0123…") → "0123456789ab"
 */

export { bytesSize, formatG, humanDuration, humanSize, humanSizeWithPrecision } from '../../format/go-units';
import { humanDuration } from '../../format/go-units';

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
