/**
 * Executing a parsed template against JS values with Go text/template semantics,
 * plus the functions docker adds (json, join, split, lower, upper, title, pad, truncate)
 * and Go's builtins (and, or, not, len, index, slice, eq..ge, print, printf, println).
 */
import { TemplateError, type Arg, type Node, type Pipe } from './parse';
import { goJSON, goSprintf, goString, isStruct, isTrue, typeName, GO_TYPE } from './value';

export type TemplateFunc = (...args: unknown[]) => unknown;

class Break {}
class Continue {}

function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = !/[\p{L}\p{N}_]/u.test(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function needString(_fn: string, v: unknown, _pos: number): string {
  if (typeof v !== 'string') throw new Error(`wrong type for value; expected string; got ${typeName(v)}`);
  return v;
}

function compare(fn: string, a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`error calling ${fn}: incompatible types for comparison`);
}

function eqOne(a: unknown, b: unknown): boolean {
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === 'object' || typeof b === 'object') {
    if (a === null || b === null) return false;
    throw new Error('error calling eq: incomparable types');
  }
  if (typeof a !== typeof b) throw new Error('error calling eq: incompatible types for comparison');
  return a === b;
}

export const BASIC_FUNCS: Record<string, TemplateFunc> = {
  json: (v) => goJSON(v),
  split: (s, sep) => needString('split', s, 0).split(needString('split', sep, 1)),
  join: (a, sep) => {
    if (!Array.isArray(a)) throw new Error(`wrong type for value; expected []string; got ${typeName(a)}`);
    return a.map((x) => goString(x)).join(needString('join', sep, 1));
  },
  title: (s) => title(needString('title', s, 0)),
  lower: (s) => needString('lower', s, 0).toLowerCase(),
  upper: (s) => needString('upper', s, 0).toUpperCase(),
  pad: (s, pre, post) => {
    const str = needString('pad', s, 0);
    return str === '' ? str : ' '.repeat(Number(pre)) + str + ' '.repeat(Number(post));
  },
  truncate: (s, n) => {
    const str = needString('truncate', s, 0);
    return str.length < Number(n) ? str : str.slice(0, Number(n));
  },
  // Go builtins (and/or short-circuit inside the executor)
  and: () => undefined,
  or: () => undefined,
  not: (v) => !isTrue(v),
  len: (v) => {
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new Error(`error calling len: len of type ${typeName(v)}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur) || typeof cur === 'string') {
        if (typeof k !== 'number') throw new Error(`error calling index: cannot index slice/array with type ${typeName(k)}`);
        if (k < 0 || k >= cur.length) throw new Error(`error calling index: index out of range: ${k}`);
        cur = Array.isArray(cur) ? cur[k] : Buffer.from(cur)[k];
      } else if (cur && typeof cur === 'object') {
        const o = cur as Record<string, unknown>;
        const key = goString(k);
        cur = Object.prototype.hasOwnProperty.call(o, key) ? o[key] : '';
      } else if (cur === null || cur === undefined) {
        throw new Error('error calling index: index of untyped nil');
      } else {
        throw new Error(`error calling index: can't index item of type ${typeName(cur)}`);
      }
    }
    return cur;
  },
  slice: (v, ...idx) => {
    const n = idx.map(Number);
    if (typeof v === 'string') return v.slice(n[0] ?? 0, n[1] ?? v.length);
    if (Array.isArray(v)) return v.slice(n[0] ?? 0, n[1] ?? v.length);
    throw new Error(`error calling slice: can't slice item of type ${typeName(v)}`);
  },
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new Error('error calling eq: missing argument for comparison');
    return bs.some((b) => eqOne(a, b));
  },
  ne: (a, b) => !eqOne(a, b),
  lt: (a, b) => compare('lt', a, b) < 0,
  le: (a, b) => compare('le', a, b) <= 0,
  gt: (a, b) => compare('gt', a, b) > 0,
  ge: (a, b) => compare('ge', a, b) >= 0,
  print: (...args) => {
    let out = '';
    args.forEach((a, i) => {
      if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
      out += goString(a);
    });
    return out;
  },
  println: (...args) => args.map((a) => goString(a)).join(' ') + '\n',
  printf: (f, ...args) => goSprintf(needString('printf', f, 0), args),
  html: (...args) =>
    args
      .map((a) => goString(a))
      .join('')
      .replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;' })[c]!),
  urlquery: (...args) => encodeURIComponent(args.map((a) => goString(a)).join('')),
};

/** The header variant docker uses for table headings: text functions pass their input through. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  ...BASIC_FUNCS,
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  truncate: (v) => v,
};

interface Scope {
  vars: Array<{ name: string; value: unknown }>;
}

export class Executor {
  private out = '';

  /**
   * `raw`: the data is decoded JSON as docker's inspect fallback sees it (map[string]any):
   * a null value prints "<no value>" and json() sorts object keys as Go does for maps.
   */
  constructor(
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly raw = false,
  ) {
    if (raw) this.funcs = { ...funcs, json: (v) => goJSON(v, false, true) };
  }

  run(nodes: Node[], data: unknown): string {
    this.out = '';
    const scope: Scope = { vars: [{ name: '$', value: data }] };
    try {
      this.list(nodes, data, scope);
    } catch (e) {
      if (e instanceof Break || e instanceof Continue) return this.out;
      (e as { partial?: string }).partial = this.out;
      throw e;
    }
    return this.out;
  }

  private list(nodes: Node[], dot: unknown, scope: Scope): void {
    for (const n of nodes) {
      switch (n.t) {
        case 'text':
          this.out += n.s;
          break;
        case 'action': {
          const v = this.pipe(n.pipe, dot, scope);
          if (n.pipe.decl.length === 0) this.out += v === null && this.raw ? '<no value>' : goString(v);
          break;
        }
        case 'break':
          throw new Break();
        case 'continue':
          throw new Continue();
        default:
          this.control(n, dot, scope);
      }
    }
  }

  private control(n: Extract<Node, { t: 'if' | 'with' | 'range' }>, dot: unknown, scope: Scope): void {
    const mark = scope.vars.length;
    const restore = () => scope.vars.splice(mark);
    try {
      if (n.t === 'range') {
        const v = this.pipe(n.pipe, dot, scope, true);
        const items: Array<[unknown, unknown]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object' && !isStruct(v)
            ? Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number'
              ? Array.from({ length: v }, (_, i) => [i, i])
              : v === null || v === undefined
                ? []
                : this.fail(n.pipe, `range can't iterate over ${goString(v)}`);
        if (items.length === 0) {
          if (n.elseList) this.list(n.elseList, dot, scope);
          return;
        }
        for (const [k, x] of items) {
          const inner = scope.vars.length;
          if (n.pipe.decl.length === 1) scope.vars.push({ name: n.pipe.decl[0]!, value: x });
          if (n.pipe.decl.length === 2) scope.vars.push({ name: n.pipe.decl[0]!, value: k }, { name: n.pipe.decl[1]!, value: x });
          try {
            this.list(n.list, x, scope);
          } catch (e) {
            if (e instanceof Break) break;
            if (!(e instanceof Continue)) throw e;
          } finally {
            scope.vars.splice(inner);
          }
        }
        return;
      }
      const v = this.pipe(n.pipe, dot, scope);
      if (isTrue(v)) this.list(n.list, n.t === 'with' ? v : dot, scope);
      else if (n.elseList) this.list(n.elseList, dot, scope);
    } finally {
      restore();
    }
  }

  private fail(p: Pipe, msg: string): never {
    throw new TemplateError(`template: :${p.line}:${p.col}: executing "" at <${p.src}>: ${msg}`);
  }

  private pipe(p: Pipe, dot: unknown, scope: Scope, isRange = false): unknown {
    let v: unknown = undefined;
    let first = true;
    for (const c of p.cmds) {
      v = this.cmd(p, c.args, dot, scope, first ? undefined : { v });
      first = false;
    }
    if (p.decl.length > 0 && !isRange) {
      const name = p.decl[0]!;
      if (p.assign) {
        const slot = [...scope.vars].reverse().find((x) => x.name === name);
        if (!slot) this.fail(p, `undefined variable: ${name}`);
        slot.value = v;
      } else {
        scope.vars.push({ name, value: v });
      }
    }
    return v;
  }

  private cmd(p: Pipe, args: Arg[], dot: unknown, scope: Scope, piped: { v: unknown } | undefined): unknown {
    const head = args[0]!;
    if (head.t === 'ident') {
      const fn = this.funcs[head.name];
      if (!fn) this.fail(p, `function "${head.name}" not defined`);
      const vals = args.slice(1).map((a) => this.arg(p, a, dot, scope));
      if (piped) vals.push(piped.v);
      if (head.name === 'and' || head.name === 'or') {
        for (const x of vals) if (head.name === 'and' ? !isTrue(x) : isTrue(x)) return x;
        return vals[vals.length - 1];
      }
      try {
        return fn(...vals);
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        const msg = (e as Error).message;
        this.fail(p, msg.startsWith('error calling') ? msg : `error calling ${head.name}: ${msg}`);
      }
    }
    const v = this.arg(p, head, dot, scope);
    // A method of a formatter context ({{.Label "com.example"}}): a JS function value.
    if (typeof v === 'function') {
      const vals = args.slice(1).map((a) => this.arg(p, a, dot, scope));
      if (piped) vals.push(piped.v);
      return (v as TemplateFunc)(...vals);
    }
    if (args.length > 1 || piped) this.fail(p, `can't give argument to non-function ${goString(v)}`);
    return v;
  }

  private arg(p: Pipe, a: Arg, dot: unknown, scope: Scope): unknown {
    switch (a.t) {
      case 'str':
      case 'num':
      case 'bool':
        return a.v;
      case 'nil':
        return null;
      case 'ident':
        return this.cmd(p, [a], dot, scope, undefined);
      case 'dot':
        return this.fields(p, dot, a.fields);
      case 'var': {
        const slot = [...scope.vars].reverse().find((x) => x.name === a.name);
        if (!slot) throw new TemplateError(`template: :${p.line}: undefined variable "${a.name}"`);
        return this.fields(p, slot.value, a.fields);
      }
      case 'pipe':
        return this.fields(p, this.pipe(a.pipe, dot, scope), a.fields);
    }
  }

  private fields(p: Pipe, v: unknown, names: string[]): unknown {
    let cur = v;
    for (const name of names) {
      if (cur === null || cur === undefined) this.fail(p, `nil pointer evaluating interface {}.${name}`);
      if (isStruct(cur)) {
        if (!(name in cur)) this.fail(p, `can't evaluate field ${name} in type ${cur[GO_TYPE]}`);
        cur = cur[name];
      } else if (typeof cur === 'object' && !Array.isArray(cur)) {
        const o = cur as Record<string, unknown>;
        cur = Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
      } else {
        this.fail(p, `can't evaluate field ${name} in type ${typeName(cur)}`);
      }
    }
    return cur;
  }
}
