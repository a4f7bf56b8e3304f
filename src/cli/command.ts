/**
 * What a berth command is and how it runs, mirroring docker's cobra setup: a usage line,
 * a short description, aliases, flags (pflag rules, see flags.ts), an argument-count rule,
 * and docker's messages and exit statuses:
 *
 *   flag error      → "<err>\n\nUsage:  berth images [OPTIONS] ...\n\nRun 'berth images --help' for more information", 125
 *   argument count  → "berth: 'berth tag' requires 2 arguments\n\nUsage: ...", 1
 *   daemon error    → "Error response from daemon: <message>", 1
 */
import type { Writable } from 'node:stream';
import { FlagError, flagUsages, parseFlags, type FlagDef, type ParsedFlags } from './flags';
import type { Client } from './client';

export const BIN = 'berth';

export type ArgRule = { exact: number } | { min: number } | { max: number } | { none: true } | { range: [number, number] };

export interface Streams {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface Ctx extends Streams {
  client(): Client;
  /** Directory of config.json (credentials). */
  configDir: string;
  out(s: string): void;
  err(s: string): void;
}

export interface CommandSpec {
  /** Full path without the binary name: "image ls", "images". */
  path: string;
  /** Usage after the name: "[OPTIONS] [REPOSITORY[:TAG]]". */
  usage: string;
  short: string;
  long?: string;
  /** The "Aliases:" line, e.g. "berth image ls, berth image list, berth images". */
  aliases?: string;
  flags: FlagDef[];
  args: ArgRule;
  /** false: flags stop at the first positional (run, exec, create, tag). */
  interspersed?: boolean;
  run(ctx: Ctx, f: ParsedFlags): Promise<number | void>;
}

/** An error with its own exit status and message (cli.StatusError). */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function useLine(spec: CommandSpec): string {
  return `${BIN} ${spec.path}${spec.usage ? ' ' + spec.usage : ''}`;
}

/** cobra's help for a leaf command, in docker's template. */
export function helpText(spec: CommandSpec, cols = 79): string {
  let s = `Usage:  ${useLine(spec)}\n\n${(spec.long ?? spec.short).trim()}\n`;
  if (spec.aliases) s += `\nAliases:\n  ${spec.aliases}\n`;
  const visible = spec.flags.filter((f) => !f.hidden);
  if (visible.length > 0) s += `\nOptions:\n${flagUsages(visible, cols).replace(/\s+$/, '')}\n`;
  return s;
}

function argError(spec: CommandSpec, args: string[]): string | undefined {
  const r = spec.args;
  const path = `${BIN} ${spec.path}`;
  const tail = (see: 'Run' | 'See') => `\n\nUsage:  ${useLine(spec)}\n\n${see} '${path} --help' for more information`;
  const plural = (n: number) => (n === 1 ? 'argument' : 'arguments');
  if ('exact' in r && args.length !== r.exact) return `${BIN}: '${path}' requires ${r.exact} ${plural(r.exact)}${tail('Run')}`;
  if ('min' in r && args.length < r.min) return `${BIN}: '${path}' requires at least ${r.min} ${plural(r.min)}${tail('See')}`;
  if ('max' in r && args.length > r.max) return `${BIN}: '${path}' requires at most ${r.max} ${plural(r.max)}${tail('Run')}`;
  if ('none' in r && args.length > 0) return `${BIN}: '${path}' accepts no arguments${tail('Run')}`;
  if ('range' in r && (args.length < r.range[0] || args.length > r.range[1])) {
    return `${BIN}: '${path}' requires at least ${r.range[0]} and at most ${r.range[1]} ${plural(r.range[1])}${tail('Run')}`;
  }
  return undefined;
}

/** The flag-error message docker prints (exit 125). */
export function flagErrorText(spec: CommandSpec, message: string): string {
  return `${message}\n\nUsage:  ${useLine(spec)}\n\nRun '${BIN} ${spec.path} --help' for more information`;
}

function terminalCols(ctx: Ctx): number {
  const stdin = ctx.stdin as { isTTY?: boolean; columns?: number };
  const cols = stdin.isTTY ? (ctx.stdout.columns ?? 80) : 80;
  return cols - 1;
}

/** Parse argv for `spec`, print help or errors, run it; the exit status. */
export async function runCommand(spec: CommandSpec, ctx: Ctx, argv: string[]): Promise<number> {
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(spec.flags, argv, { interspersed: spec.interspersed ?? true });
  } catch (e) {
    if (e instanceof FlagError) {
      ctx.err(flagErrorText(spec, e.message) + '\n');
      return 125;
    }
    throw e;
  }
  for (const n of parsed.notices) ctx.out(n + '\n');
  if (parsed.help) {
    ctx.out(helpText(spec, terminalCols(ctx)));
    return 0;
  }
  const bad = argError(spec, parsed.args);
  if (bad) {
    ctx.err(bad + '\n');
    return 1;
  }
  try {
    return (await spec.run(ctx, parsed)) ?? 0;
  } catch (e) {
    if (e instanceof StatusError) {
      if (e.message) ctx.err(e.message + '\n');
      return e.status;
    }
    if (e instanceof FlagError) {
      ctx.err(flagErrorText(spec, e.message) + '\n');
      return 125;
    }
    ctx.err(((e as Error).message ?? String(e)) + '\n');
    return 1;
  }
}

/** A flag value error raised after parsing (docker validates some values in Set()). */
export function invalidFlag(spec: { name: string; short?: string }, value: string, why: string): FlagError {
  const label = spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
  return new FlagError(`invalid argument ${JSON.stringify(value)} for "${label}" flag: ${why}`);
}
