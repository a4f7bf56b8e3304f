import { RuntimeError } from '../errors';
// Flag parsing as runc's CLI (urfave/cli) accepts it: "-flag", "--flag", "--flag=value",
// "--flag value", booleans with optional "=true|false", repeatable flags.

export type FlagKind = 'bool' | 'string' | 'multi';
export interface FlagSpec {
  kind: FlagKind;
  alias?: readonly string[];
}
export type FlagTable = Readonly<Record<string, FlagSpec>>;

export interface Parsed {
  flags: Record<string, string | boolean | string[]>;
  positional: string[];
}

export class UsageError extends Error {}

/** The single container id a command takes (a RuntimeError, exit 1, as runc's). */
export function oneId(p: Parsed, cmd: string): string {
  if (p.positional.length !== 1) throw new RuntimeError(`${cmd}: expected exactly one container id, got ${p.positional.length}`);
  return p.positional[0];
}

export function parseArgs(argv: string[], table: FlagTable, opts: { stopAfterPositionals?: number } = {}): Parsed {
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, spec] of Object.entries(table)) {
    byName.set(name, [name, spec]);
    for (const a of spec.alias ?? []) byName.set(a, [name, spec]);
  }
  const out: Parsed = { flags: {}, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (opts.stopAfterPositionals !== undefined && out.positional.length >= opts.stopAfterPositionals) {
      out.positional.push(...argv.slice(i));
      break;
    }
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.positional.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    const entry = byName.get(key);
    if (!entry) throw new UsageError(`flag provided but not defined: -${key}`);
    const [name, spec] = entry;
    if (spec.kind === 'bool') {
      const v = eq < 0 ? 'true' : body.slice(eq + 1);
      if (v !== 'true' && v !== 'false') throw new UsageError(`invalid boolean value ${JSON.stringify(v)} for -${key}`);
      out.flags[name] = v === 'true';
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new UsageError(`flag needs an argument: -${key}`);
    if (spec.kind === 'multi') out.flags[name] = [...((out.flags[name] as string[] | undefined) ?? []), value];
    else out.flags[name] = value;
  }
  return out;
}

export const str = (p: Parsed, name: string): string | undefined => p.flags[name] as string | undefined;
export const bool = (p: Parsed, name: string): boolean => p.flags[name] === true;
export const multi = (p: Parsed, name: string): string[] => (p.flags[name] as string[] | undefined) ?? [];
