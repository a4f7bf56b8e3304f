/**
 * The parser of the Go text/template subset docker users type with --format:
 * text, {{pipeline}}, {{if}}/{{else if}}/{{else}}/{{end}}, {{range}}, {{with}},
 * variables ($x := ..., $i, $e := range), "|" pipelines, parenthesised pipelines,
 * string/raw-string/number/bool/nil literals, comments, and the {{- / -}} trim markers.
 */

export type Arg =
  | { t: 'dot'; fields: string[] }
  | { t: 'var'; name: string; fields: string[] }
  | { t: 'ident'; name: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'pipe'; pipe: Pipe; fields: string[] };

export interface Cmd {
  args: Arg[];
}

export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
  /** Source text of the action, for error messages ("at <.Foo>"). */
  src: string;
  line: number;
  col: number;
}

export type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined }
  | { t: 'break' | 'continue' };

export class TemplateError extends Error {}

interface RawAction {
  body: string;
  line: number;
  col: number;
}
type Piece = { text: string } | { action: RawAction };

const SPACE = /[ \t\r\n]/;

/** Split the source into text and action bodies, applying trim markers. */
function split(src: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  const lineAt = (pos: number) => src.slice(0, pos).split('\n').length;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) pieces.push({ text });
      break;
    }
    let start = open + 2;
    if (src[start] === '-' && SPACE.test(src[start + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 2;
    }
    if (text) pieces.push({ text });
    // Find the closing braces outside string literals.
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j]!;
      if (c === '"' || c === '`' || c === "'") {
        const q = c;
        j++;
        while (j < src.length && src[j] !== q) {
          if (src[j] === '\\' && q !== '`') j++;
          if (src[j] === '\n' && q !== '`') throw new TemplateError(`template: :${lineAt(j)}: unterminated quoted string`);
          j++;
        }
        j++;
        continue;
      }
      if (src.startsWith('}}', j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw new TemplateError(`template: :${lineAt(open)}: unclosed action`);
    let end = close;
    if (src[close - 1] === '-' && SPACE.test(src[close - 2] ?? '') && close - 2 >= start) {
      end = close - 2;
      trimNext = true;
    }
    const line = lineAt(open);
    const col = open - (src.lastIndexOf('\n', open - 1) + 1);
    pieces.push({ action: { body: src.slice(start, end), line, col: col + 2 } });
    i = close + 2;
  }
  return pieces;
}

type Tok =
  | { k: 'field'; v: string[] }
  | { k: 'var'; v: string; fields: string[] }
  | { k: 'ident'; v: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: '(' | ')' | '|' | ':=' | '=' | ',' };

function unquote(s: string, at: RawAction): string {
  let out = '';
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i]!;
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (n in simple) out += simple[n];
    else if (n === 'x') {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (n === 'u' || n === 'U') {
      const len = n === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 1 + len), 16));
      i += len;
    } else throw new TemplateError(`template: :${at.line}: invalid syntax`);
  }
  return out;
}

function lex(a: RawAction): Tok[] {
  const s = a.body;
  const toks: Tok[] = [];
  let i = 0;
  const err = (m: string) => new TemplateError(`template: :${a.line}: ${m}`);
  const fieldChain = (): string[] => {
    const fields: string[] = [];
    while (s[i] === '.' && /[A-Za-z_]/.test(s[i + 1] ?? '')) {
      const m = /^[A-Za-z_0-9]+/.exec(s.slice(i + 1))!;
      fields.push(m[0]);
      i += 1 + m[0].length;
    }
    return fields;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (SPACE.test(c)) {
      i++;
    } else if (c === '.') {
      if (/[0-9]/.test(s[i + 1] ?? '')) {
        const m = /^\.[0-9]+/.exec(s.slice(i))!;
        toks.push({ k: 'num', v: Number(m[0]) });
        i += m[0].length;
      } else if (/[A-Za-z_]/.test(s[i + 1] ?? '')) {
        toks.push({ k: 'field', v: fieldChain() });
      } else {
        toks.push({ k: 'field', v: [] });
        i++;
      }
    } else if (c === '$') {
      const m = /^\$[A-Za-z_0-9]*/.exec(s.slice(i))!;
      i += m[0].length;
      toks.push({ k: 'var', v: m[0], fields: fieldChain() });
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < s.length && s[j] !== c) j += s[j] === '\\' ? 2 : 1;
      if (j >= s.length) throw err('unterminated quoted string');
      const v = unquote(s.slice(i, j + 1), a);
      toks.push(c === "'" ? { k: 'num', v: v.codePointAt(0) ?? 0 } : { k: 'str', v });
      i = j + 1;
    } else if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j < 0) throw err('unterminated raw quoted string');
      toks.push({ k: 'str', v: s.slice(i + 1, j) });
      i = j + 1;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0[xX][0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+([eE][-+]?[0-9]+)?)/.exec(s.slice(i));
      if (!m || m[0] === '-' || m[0] === '+') throw err(`unexpected "${c}" in command`);
      toks.push({ k: 'num', v: Number(m[0].replace(/_/g, '')) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_0-9]+/.exec(s.slice(i))!;
      toks.push({ k: 'ident', v: m[0] });
      i += m[0].length;
    } else if (s.startsWith(':=', i)) {
      toks.push({ k: ':=' });
      i += 2;
    } else if ('()|=,'.includes(c)) {
      toks.push({ k: c as '(' | ')' | '|' | '=' | ',' });
      i++;
    } else {
      throw err(`unexpected ${JSON.stringify(c)} in command`);
    }
  }
  return toks;
}

function parsePipe(toks: Tok[], pos: { i: number }, a: RawAction, inParen: boolean): Pipe {
  const err = (m: string) => new TemplateError(`template: :${a.line}: ${m}`);
  const pipe: Pipe = { decl: [], assign: false, cmds: [], src: a.body.trim(), line: a.line, col: a.col };
  // Declarations: $x := / $x = / $i, $e :=
  const save = pos.i;
  const names: string[] = [];
  while (toks[pos.i]?.k === 'var' && (toks[pos.i] as { fields: string[] }).fields.length === 0) {
    names.push((toks[pos.i] as { v: string }).v);
    pos.i++;
    const t = toks[pos.i]?.k;
    if (t === ',' && names.length < 2) {
      pos.i++;
      continue;
    }
    if (t === ':=' || t === '=') {
      pipe.decl = names;
      pipe.assign = t === '=';
      pos.i++;
    }
    break;
  }
  if (pipe.decl.length === 0) pos.i = save;
  let cmd: Cmd = { args: [] };
  while (pos.i < toks.length) {
    const t = toks[pos.i]!;
    if (t.k === ')') {
      if (!inParen) throw err('unexpected right paren');
      break;
    }
    pos.i++;
    switch (t.k) {
      case '|':
        if (cmd.args.length === 0) throw err('missing command');
        pipe.cmds.push(cmd);
        cmd = { args: [] };
        break;
      case 'field':
        cmd.args.push({ t: 'dot', fields: t.v });
        break;
      case 'var':
        cmd.args.push({ t: 'var', name: t.v, fields: t.fields });
        break;
      case 'str':
        cmd.args.push({ t: 'str', v: t.v });
        break;
      case 'num':
        cmd.args.push({ t: 'num', v: t.v });
        break;
      case 'ident':
        if (t.v === 'true' || t.v === 'false') cmd.args.push({ t: 'bool', v: t.v === 'true' });
        else if (t.v === 'nil') cmd.args.push({ t: 'nil' });
        else cmd.args.push({ t: 'ident', name: t.v });
        break;
      case '(': {
        const inner = parsePipe(toks, pos, a, true);
        if (toks[pos.i]?.k !== ')') throw err('unclosed left paren');
        pos.i++;
        let fields: string[] = [];
        const next = toks[pos.i];
        if (next?.k === 'field' && next.v.length > 0) {
          fields = next.v;
          pos.i++;
        }
        cmd.args.push({ t: 'pipe', pipe: inner, fields });
        break;
      }
      default:
        throw err(`unexpected ${JSON.stringify(t.k)} in command`);
    }
  }
  if (cmd.args.length > 0) pipe.cmds.push(cmd);
  else if (pipe.cmds.length > 0) throw err('missing command');
  if (pipe.cmds.length === 0) throw err(`missing value for command`);
  return pipe;
}

function pipeOf(a: RawAction, body: string): Pipe {
  const sub: RawAction = { ...a, body };
  const toks = lex(sub);
  const pos = { i: 0 };
  const p = parsePipe(toks, pos, sub, false);
  if (pos.i < toks.length) throw new TemplateError(`template: :${a.line}: unexpected ")" in operand`);
  return p;
}

/** Parse a template into its node tree. `funcs` is the set of known function names. */
export function parseTemplate(src: string, funcs: ReadonlySet<string>): Node[] {
  const pieces = split(src);
  let idx = 0;
  const checkFuncs = (p: Pipe, a: RawAction) => {
    for (const c of p.cmds) {
      for (const arg of c.args) {
        if (arg.t === 'ident' && !funcs.has(arg.name)) {
          throw new TemplateError(`template: :${a.line}: function "${arg.name}" not defined`);
        }
        if (arg.t === 'pipe') checkFuncs(arg.pipe, a);
      }
    }
  };
  // Returns the list and the keyword that ended it ("end", "else ...", or "" at EOF).
  const parseList = (): [Node[], string, RawAction | undefined] => {
    const list: Node[] = [];
    while (idx < pieces.length) {
      const p = pieces[idx++]!;
      if ('text' in p) {
        list.push({ t: 'text', s: p.text });
        continue;
      }
      const a = p.action;
      const body = a.body.trim();
      if (body.startsWith('/*')) {
        if (!body.endsWith('*/')) throw new TemplateError(`template: :${a.line}: unclosed comment`);
        continue;
      }
      const m = /^(if|with|range|end|else|break|continue|define|template|block)\b\s*([\s\S]*)$/.exec(body);
      if (!m) {
        const pipe = pipeOf(a, a.body);
        checkFuncs(pipe, a);
        list.push({ t: 'action', pipe });
        continue;
      }
      const [, kw, rest] = m as unknown as [string, string, string];
      if (kw === 'end' || kw === 'else') return [list, kw === 'end' ? 'end' : `else ${rest}`.trim(), a];
      if (kw === 'break' || kw === 'continue') {
        list.push({ t: kw });
        continue;
      }
      if (kw === 'define' || kw === 'template' || kw === 'block') {
        throw new TemplateError(`template: :${a.line}: {{${kw}}} is not supported`);
      }
      list.push(parseControl(kw as 'if' | 'with' | 'range', rest, a));
    }
    return [list, '', undefined];
  };
  const parseControl = (kw: 'if' | 'with' | 'range', rest: string, a: RawAction): Node => {
    if (rest === '') throw new TemplateError(`template: :${a.line}: missing value for ${kw}`);
    const pipe = pipeOf(a, rest);
    checkFuncs(pipe, a);
    const [list, ender, at] = parseList();
    if (ender === '') throw new TemplateError(`template: :${a.line}: unexpected EOF`);
    let elseList: Node[] | undefined;
    if (ender !== 'end') {
      const elseRest = ender.slice(4).trim();
      if (elseRest !== '') {
        // {{else if x}} / {{else with x}}: a nested control ending with the outer {{end}}.
        const em = /^(if|with)\b\s*([\s\S]*)$/.exec(elseRest);
        if (!em || em[1] !== kw) throw new TemplateError(`template: :${at!.line}: unexpected ${JSON.stringify(elseRest)} in else`);
        elseList = [parseControl(kw, em[2]!, at!)];
      } else {
        const [l2, ender2] = parseList();
        if (ender2 !== 'end') throw new TemplateError(`template: :${a.line}: expected end; found ${ender2 || 'EOF'}`);
        elseList = l2;
      }
    }
    return { t: kw, pipe, list, elseList };
  };
  const [list, ender, at] = parseList();
  if (ender !== '') throw new TemplateError(`template: :${at!.line}: unexpected {{${ender.split(' ')[0]}}}`);
  return list;
}
