/**
 * How template values print and compare, following Go's fmt and encoding/json:
 * arrays print as "[a b]", objects as "map[k:v]" (sorted keys), null as "<nil>",
 * a missing map key as "<no value>"; json() is encoding/json without HTML escaping.
 */

/** Objects carrying this symbol behave like a Go struct (unknown fields are errors). */
export const GO_TYPE = Symbol('goType');
/** Optional method returning the value json() should encode (Go's MarshalJSON). */
export const GO_JSON = Symbol('goJson');

export interface GoStruct {
  [GO_TYPE]: string;
  [GO_JSON]?: () => string;
}

export function isStruct(v: unknown): v is GoStruct & Record<string, unknown> {
  return typeof v === 'object' && v !== null && GO_TYPE in v;
}

/** Go's `%g`/`%v` of a float64, or an integer as an integer. */
export function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) {
    const [m, e] = n.toExponential().split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[-+]/, '').padStart(2, '0');
    return `${m}e${sign}${digits}`;
  }
  return String(n);
}

/** fmt.Sprint of one value. */
export function goString(v: unknown, top = true): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => goString(x, false)).join(' ')}]`;
  if (typeof v === 'object') {
    if (isStruct(v)) {
      const keys = Object.keys(v);
      return `{${keys.map((k) => goString((v as Record<string, unknown>)[k], false)).join(' ')}}`;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    return `map[${keys.map((k) => `${k}:${goString(o[k], false)}`).join(' ')}]`;
  }
  void top;
  return String(v);
}

/** Go's template truth: zero values and empty collections are false; structs are true. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (isStruct(v)) return true;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

const HTML_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026' };

function jsonString(s: string, escapeHTML: boolean): string {
  let out = JSON.stringify(s).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
  if (escapeHTML) out = out.replace(/[<>&]/g, (c) => HTML_ESCAPES[c]!);
  return out;
}

/** encoding/json Marshal: compact; keys in object order (struct order as the daemon sent it). */
export function goJSON(v: unknown, escapeHTML = false, sortKeys = false): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return jsonString(v, escapeHTML);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => goJSON(x, escapeHTML, sortKeys)).join(',')}]`;
  if (typeof v === 'object') {
    const custom = (v as GoStruct)[GO_JSON];
    if (typeof custom === 'function') return custom.call(v);
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined);
    if (sortKeys) keys.sort();
    return `{${keys.map((k) => `${jsonString(k, escapeHTML)}:${goJSON(o[k], escapeHTML, sortKeys)}`).join(',')}}`;
  }
  return 'null';
}

/** Sorted-key JSON of a struct's fields as docker's formatter.MarshalJSON does (HTML-escaped). */
export function marshalFields(o: Record<string, unknown>, keys: readonly string[]): string {
  const sorted = [...keys].sort();
  return `{${sorted.map((k) => `${jsonString(k, true)}:${goJSON(o[k], true)}`).join(',')}}`;
}

/** Go's fmt.Sprintf for the verbs templates use: %s %v %d %q %t %x %X %f %e %g %c %%, widths, '-', '0', '+'. */
export function goSprintf(format: string, args: unknown[]): string {
  let out = '';
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const m = /^([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/.exec(format.slice(i + 1));
    if (!m) {
      out += '%!(NOVERB)';
      continue;
    }
    i += m[0].length;
    const [, flags, widthS, precS, verb] = m as unknown as [string, string, string | undefined, string | undefined, string];
    if (verb === '%') {
      out += '%';
      continue;
    }
    const width = widthS === '*' ? Number(args[ai++]) : widthS ? Number(widthS) : undefined;
    const prec = precS === '*' ? Number(args[ai++]) : precS !== undefined ? Number(precS) : undefined;
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeName(a)}=${goString(a)})`;
        if (flags.includes('+') && typeof a === 'number' && a >= 0) s = '+' + s;
        break;
      case 's':
      case 'v':
        s = goString(a);
        if (prec !== undefined && verb === 's') s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        s = typeof a === 'number' ? `'${String.fromCodePoint(a)}'` : JSON.stringify(goString(a));
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${goString(a)})`;
        break;
      case 'x':
      case 'X': {
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(goString(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 'f':
      case 'F':
        s = typeof a === 'number' ? a.toFixed(prec ?? 6) : `%!f(${typeName(a)}=${goString(a)})`;
        break;
      case 'e':
        s = typeof a === 'number' ? a.toExponential(prec ?? 6).replace(/e([-+])(\d)$/, 'e$10$2') : `%!e(${typeName(a)}=${goString(a)})`;
        break;
      case 'g':
        s = typeof a === 'number' ? goNumber(prec !== undefined ? Number(a.toPrecision(prec)) : a) : `%!g(${typeName(a)}=${goString(a)})`;
        break;
      case 'c':
        s = typeof a === 'number' ? String.fromCodePoint(a) : `%!c(${typeName(a)}=${goString(a)})`;
        break;
      default:
        s = `%!${verb}(${typeName(a)}=${goString(a)})`;
    }
    if (width !== undefined && [...s].length < width) {
      const pad = width - [...s].length;
      if (flags.includes('-')) s += ' '.repeat(pad);
      else if (flags.includes('0') && typeof a === 'number') s = s.startsWith('-') ? '-' + '0'.repeat(pad) + s.slice(1) : '0'.repeat(pad) + s;
      else s = ' '.repeat(pad) + s;
    }
    out += s;
  }
  if (ai < args.length) out += `%!(EXTRA ${args.slice(ai).map((a) => `${typeName(a)}=${goString(a)}`).join(', ')})`;
  return out;
}

export function typeName(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (isStruct(v)) return v[GO_TYPE];
  return 'map[string]interface {}';
}
