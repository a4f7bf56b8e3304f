/**
 * Command-line flags parsed the way Docker's CLI (spf13/pflag under cobra) parses them:
 *
 *   -it, -dit, -qa          combined boolean shorthands; the last one may take a value (-qf x)
 *   -e=VAL, -eVAL, -e VAL   shorthand values; --flag=value and --flag value for long flags
 *   --all=false             booleans take a value only after "="
 *   -e A -e B               repeatable flags collect arrays
 *   --                      ends the flags; with interspersed=false (run, exec, create, tag)
 *                           the first positional ends them too
 *
 * Errors are pflag's wording ("unknown flag: --x", "flag needs an argument: --filter",
 * "unknown shorthand flag: 'x' in -x"); the command layer turns them into Docker's
 * usage message and exit status 125.
 */
import { fromHumanSize, ramInBytes } from '../format/go-units';

export type FlagKind =
  | 'bool'
  | 'string'
  /** repeatable, every occurrence appended (pflag stringArray / docker ListOpts, FilterOpt) */
  | 'list'
  /** repeatable, each value split on commas (pflag stringSlice) */
  | 'slice'
  | 'int'
  /** a size: "512m", "1g" → bytes (docker's MemBytes) */
  | 'bytes';

export interface FlagDef {
  name: string;
  short?: string;
  kind: FlagKind;
  usage: string;
  /** Name of the value shown in help ("string", "list", "filter", ...); defaults from kind. */
  typeName?: string;
  default?: string | boolean | number;
  hidden?: boolean;
  /** Shown in help after the usage as pflag does for non-zero defaults (e.g. "true"). */
  showDefault?: string;
}

export type FlagValue = string | boolean | number | string[];

export interface ParsedFlags {
  values: Record<string, FlagValue>;
  /** Names of flags given on the command line (pflag's Changed). */
  changed: Set<string>;
  args: string[];
  /** Index in args where "--" was seen, -1 if not. */
  argsLenAtDash: number;
  help: boolean;
  /** Warnings pflag prints while parsing (the deprecated -h shorthand). */
  notices: string[];
}

export class FlagError extends Error {}

export interface ParseOptions {
  /** false: flags end at the first positional (docker run IMAGE CMD --flag...). Default true. */
  interspersed?: boolean;
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool. */
export function parseBool(s: string): boolean {
  if (BOOL_TRUE.has(s)) return true;
  if (BOOL_FALSE.has(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

function defaultValue(d: FlagDef): FlagValue {
  switch (d.kind) {
    case 'bool':
      return d.default === undefined ? false : Boolean(d.default);
    case 'list':
    case 'slice':
      return [];
    case 'int':
    case 'bytes':
      return typeof d.default === 'number' ? d.default : 0;
    default:
      return typeof d.default === 'string' ? d.default : '';
  }
}

function flagLabel(d: FlagDef): string {
  return d.short ? `-${d.short}, --${d.name}` : `--${d.name}`;
}

function setValue(parsed: ParsedFlags, d: FlagDef, raw: string): void {
  const bad = (why: string) => new FlagError(`invalid argument ${JSON.stringify(raw)} for "${flagLabel(d)}" flag: ${why}`);
  let v: FlagValue;
  switch (d.kind) {
    case 'bool':
      try {
        v = parseBool(raw);
      } catch (e) {
        throw bad((e as Error).message);
      }
      break;
    case 'list': {
      const prev = parsed.changed.has(d.name) ? (parsed.values[d.name] as string[]) : [];
      v = [...prev, raw];
      break;
    }
    case 'slice': {
      const prev = parsed.changed.has(d.name) ? (parsed.values[d.name] as string[]) : [];
      v = [...prev, ...(raw === '' ? [] : raw.split(','))];
      break;
    }
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw)) throw bad(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
      v = Number.parseInt(raw, 10);
      break;
    }
    case 'bytes':
      try {
        v = ramInBytes(raw);
      } catch (e) {
        throw bad((e as Error).message);
      }
      break;
    default:
      v = raw;
  }
  parsed.values[d.name] = v;
  parsed.changed.add(d.name);
}

/** Parse `argv` (without the command name) against `defs`. Throws FlagError. */
export function parseFlags(defs: readonly FlagDef[], argv: readonly string[], opts: ParseOptions = {}): ParsedFlags {
  const interspersed = opts.interspersed ?? true;
  const byName = new Map<string, FlagDef>();
  const byShort = new Map<string, FlagDef>();
  for (const d of defs) {
    byName.set(d.name, d);
    if (d.short) byShort.set(d.short, d);
  }
  const parsed: ParsedFlags = { values: {}, changed: new Set(), args: [], argsLenAtDash: -1, help: false, notices: [] };
  for (const d of defs) parsed.values[d.name] = defaultValue(d);

  const args = [...argv];
  while (args.length > 0) {
    const s = args.shift()!;
    if (s.length < 2 || s[0] !== '-') {
      parsed.args.push(s);
      if (!interspersed) {
        parsed.args.push(...args);
        break;
      }
      continue;
    }
    if (s[1] === '-') {
      if (s.length === 2) {
        parsed.argsLenAtDash = parsed.args.length;
        parsed.args.push(...args);
        break;
      }
      parseLong(s, args);
    } else {
      parseShorts(s, args);
    }
  }
  return parsed;

  function parseLong(s: string, rest: string[]): void {
    const body = s.slice(2);
    if (body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${s}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const d = byName.get(name);
    if (!d) {
      if (name === 'help') {
        parsed.help = eq < 0 || parseBoolOr(body.slice(eq + 1), true);
        return;
      }
      throw new FlagError(`unknown flag: --${name}`);
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (d.kind === 'bool') value = 'true';
    else if (rest.length > 0) value = rest.shift()!;
    else throw new FlagError(`flag needs an argument: ${s}`);
    setValue(parsed, d, value);
  }

  function parseShorts(s: string, rest: string[]): void {
    let shorts = s.slice(1);
    while (shorts.length > 0) {
      const c = shorts[0]!;
      const d = byShort.get(c);
      if (!d) {
        if (c === 'h') {
          parsed.notices.push('Flag shorthand -h has been deprecated, use --help');
          parsed.help = true;
          shorts = shorts.slice(1);
          continue;
        }
        throw new FlagError(`unknown shorthand flag: '${c}' in -${shorts}`);
      }
      let value: string;
      if (shorts.length > 2 && shorts[1] === '=') {
        value = shorts.slice(2);
        shorts = '';
      } else if (d.kind === 'bool') {
        value = 'true';
        shorts = shorts.slice(1);
      } else if (shorts.length > 1) {
        value = shorts.slice(1);
        shorts = '';
      } else if (rest.length > 0) {
        value = rest.shift()!;
        shorts = '';
      } else {
        throw new FlagError(`flag needs an argument: '${c}' in -${shorts}`);
      }
      setValue(parsed, d, value);
    }
  }
}

function parseBoolOr(s: string, dflt: boolean): boolean {
  try {
    return parseBool(s);
  } catch {
    return dflt;
  }
}

// ---- help ------------------------------------------------------------------

function typeNameOf(d: FlagDef): string {
  if (d.typeName !== undefined) return d.typeName;
  switch (d.kind) {
    case 'bool':
      return '';
    case 'list':
      return 'list';
    case 'slice':
      return 'strings';
    case 'int':
      return 'int';
    case 'bytes':
      return 'bytes';
    default:
      return 'string';
  }
}

/** pflag's wrapN: split `s` at whitespace before `i` chars (or `slop` more if that ends it). */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: text indented by `i` columns, wrapped at `w`. */
function wrap(i: number, w: number, s: string): string {
  if (w === 0) return s.split('\n').join('\n' + ' '.repeat(i));
  let width = w - i;
  let r = '';
  if (width < 24) {
    i = 16;
    width = w - i;
    r += '\n' + ' '.repeat(i);
  }
  if (width < 24) return s.split('\n').join(r);
  const slop = 5;
  width -= slop;
  const indent = '\n' + ' '.repeat(i);
  let [l, rest] = wrapN(width, slop, s);
  r += l.split('\n').join(indent);
  while (rest !== '') {
    let t: string;
    [t, rest] = wrapN(width, slop, rest);
    r += indent + t.split('\n').join(indent);
  }
  return r;
}

/** The "Options:" block as pflag's FlagUsagesWrapped(cols) prints it (flags sorted by name). */
export function flagUsages(defs: readonly FlagDef[], cols = 79): string {
  const lines: string[] = [];
  let maxlen = 0;
  const sorted = [...defs].filter((d) => !d.hidden).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of sorted) {
    let line = d.short ? `  -${d.short}, --${d.name}` : `      --${d.name}`;
    const t = typeNameOf(d);
    if (t) line += ' ' + t;
    line += '\0';
    maxlen = Math.max(maxlen, line.length);
    line += d.usage;
    if (d.showDefault !== undefined) line += ` (default ${d.showDefault})`;
    else if (d.kind === 'bool' && d.default === true) line += ' (default true)';
    else if (d.kind === 'string' && typeof d.default === 'string' && d.default !== '') line += ` (default ${JSON.stringify(d.default)})`;
    lines.push(line);
  }
  let out = '';
  for (const line of lines) {
    const sidx = line.indexOf('\0');
    const spacing = ' '.repeat(maxlen - sidx);
    out += `${line.slice(0, sidx)} ${spacing} ${wrap(maxlen + 2, cols, line.slice(sidx + 1))}\n`;
  }
  return out;
}

// Sizes (go-units RAMInBytes, FromHumanSize) live in src/format/go-units.ts, shared with berthd.
export { fromHumanSize, ramInBytes };
