// Entry points: parse and validate a bundle's config.json into a normalised
// Spec. Top-level fields, mounts and hooks live here; process, linux,
// resources and seccomp have their own files.

import { posix } from 'node:path';
import { HOOK_NAMES } from './constants';
import { JsonSyntaxError, parseJson, stringifyJson } from './json';
import type { Hook, Hooks, Mount, Process, Root, Spec, ValidateOptions } from './types';
import { validateLinux } from './validate-linux';
import { env, processAt } from './validate-process';
import {
  absPath, arr, at, bool, compact, fail, FieldError, got, idMappings, isAbsent, key, noNul, obj, opt,
  req, str, strArray, strMap,
} from './validate-util';

export { CAPABILITIES, RLIMITS } from './constants';

/** A config.json problem: `<file>: <field path>: <problem>`. */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    /** e.g. "linux.namespaces[2].type"; undefined for whole-file problems. */
    readonly field: string | undefined,
    readonly problem: string,
    /** 1-based position, for JSON syntax errors only. */
    readonly line?: number,
    readonly column?: number,
  ) {
    super(field === undefined ? `${file}: ${problem}` : `${file}: ${field}: ${problem}`);
    this.name = 'SpecError';
  }
}

/** Parse config.json text and validate it; see validateSpec. */
export function parseSpec(text: string, file = 'config.json', opts: ValidateOptions = {}): Spec {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new SpecError(file, undefined, err.message, err.line, err.column);
    throw err;
  }
  return validateSpec(raw, file, opts);
}

/**
 * Check a parsed config.json and return a normalised copy: unknown fields
 * dropped, JSON nulls treated as absent, relative mount destinations made
 * absolute, process.user defaulted to uid/gid 0. The input is not modified.
 * Throws SpecError naming the first offending field.
 */
export function validateSpec(raw: unknown, file = 'config.json', opts: ValidateOptions = {}): Spec {
  return withFile(file, () => spec(raw, opts));
}

/**
 * Validate a bare process object, as `exec --process process.json` gives
 * it; field paths are relative to it ("args", "user.uid"). Same rules and
 * normalisation as config.json's `process`.
 */
export function validateProcess(raw: unknown, file = 'process.json'): Process {
  return withFile(file, () => processAt(raw, ''));
}

function withFile<T>(file: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof FieldError) throw new SpecError(file, err.path || undefined, err.problem);
    throw err;
  }
}

/** Serialise a Spec the way runc writes config.json (tab-indented), keeping 64-bit integers exact. */
export function stringifySpec(spec: Spec, space: string | number = '\t'): string {
  return stringifyJson(spec, space);
}

function spec(raw: unknown, opts: ValidateOptions): Spec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail('', `must contain a JSON object (got ${got(raw)})`);
  }
  const o = raw as Record<string, unknown>;
  if (opts.requireProcess && isAbsent(o.process)) fail('process', 'is required');
  const s: Spec = compact({
    ociVersion: req(o, 'ociVersion', '', ociVersion),
    process: opt(o, 'process', '', processAt),
    // Optional only on Windows Hyper-V; Linux needs a root filesystem.
    root: req(o, 'root', '', root),
    hostname: opt(o, 'hostname', '', str),
    domainname: opt(o, 'domainname', '', str),
    mounts: opt(o, 'mounts', '', mounts),
    hooks: opt(o, 'hooks', '', hooks),
    annotations: opt(o, 'annotations', '', strMap),
    linux: opt(o, 'linux', '', (v, p) => validateLinux(v, p)),
  });
  // runc refuses these without a private UTS namespace: they would rename the host.
  for (const f of ['hostname', 'domainname'] as const) {
    if (s[f] && !s.linux?.namespaces?.some((n) => n.type === 'uts')) {
      fail(f, 'requires a UTS namespace (add {"type": "uts"} to linux.namespaces)');
    }
  }
  return s;
}

function ociVersion(v: unknown, path: string): string {
  const s = str(v, path);
  // Versions are compatible within a major version (config.md).
  if (!s.startsWith('1.')) fail(path, `unsupported version ${JSON.stringify(s)} (this runtime implements 1.x)`);
  return s;
}

function root(v: unknown, path: string): Root {
  const o = obj(v, path);
  const p = req(o, 'path', path, str);
  if (p === '') fail(key(path, 'path'), 'must not be empty');
  noNul(p, key(path, 'path'));
  return compact({ path: p, readonly: opt(o, 'readonly', path, bool) });
}

function mounts(v: unknown, path: string): Mount[] {
  return arr(v, path, 'an array of mount objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    let destination = req(o, 'destination', p, str);
    if (destination === '') fail(key(p, 'destination'), 'must not be empty');
    noNul(destination, key(p, 'destination'));
    // Deprecated relative destinations are relative to "/" (config.md).
    if (!destination.startsWith('/')) destination = posix.join('/', destination);
    const m: Mount = compact({
      destination,
      type: opt(o, 'type', p, str),
      source: opt(o, 'source', p, str),
      options: opt(o, 'options', p, strArray),
      uidMappings: opt(o, 'uidMappings', p, idMappings),
      gidMappings: opt(o, 'gidMappings', p, idMappings),
    });
    for (const [a, b] of [['uidMappings', 'gidMappings'], ['gidMappings', 'uidMappings']] as const) {
      if (m[a] && !m[b]) fail(key(p, a), `must be given together with ${b}`);
    }
    for (const f of ['type', 'source'] as const) if (m[f] !== undefined) noNul(m[f]!, key(p, f));
    return m;
  });
}

function hooks(v: unknown, path: string): Hooks {
  const o = obj(v, path);
  const out: Hooks = {};
  for (const name of HOOK_NAMES) {
    const list = opt(o, name, path, (x, q) => arr(x, q, 'an array of hook objects').map((h, i) => hook(h, at(q, i))));
    if (list) out[name] = list;
  }
  return out;
}

function hook(v: unknown, path: string): Hook {
  const o = obj(v, path);
  return compact({
    path: req(o, 'path', path, absPath),
    args: opt(o, 'args', path, strArray),
    env: opt(o, 'env', path, env),
    timeout: opt(o, 'timeout', path, (x, q) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > 2 ** 31 - 1) {
        fail(q, `must be a positive whole number of seconds (got ${got(x)})`);
      }
      return x;
    }),
  });
}
