// Strict RFC 8259 JSON parsing that (a) keeps 64-bit integers exact and
// (b) always reports where a syntax error is. JSON.parse does neither: it
// rounds uint64 values such as RLIM_INFINITY (18446744073709551615), and in
// Node 20 many of its errors carry no position.


/** A JSON syntax error with a 1-based line and column. */
export class JsonSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, readonly detail: string) {
    super(`invalid JSON at line ${line} column ${column}: ${detail}`);
    this.name = 'JsonSyntaxError';
  }
}

/** 1-based line and column (in UTF-16 units) of an offset into text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Parse JSON text like JSON.parse (duplicate keys: last wins), except that
 * integer literals beyond Number.MAX_SAFE_INTEGER come back as bigint.
 */
export function parseJson(text: string): unknown {
  const p = new Parser(text);
  const value = p.value(0);
  p.ws();
  if (p.i < text.length) p.fail('unexpected text after the end of the JSON value');
  return value;
}

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const PLAIN_CHARS = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  fail(detail: string, at = this.i): never {
    const { line, column } = lineColumn(this.s, at);
    throw new JsonSyntaxError(line, column, detail);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.i++;
    }
  }

  value(depth: number): unknown {
    this.ws();
    const s = this.s;
    if (this.i >= s.length) this.fail('unexpected end of input (expected a value)');
    const c = s[this.i]!;
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    this.fail(`unexpected ${describeChar(s, this.i)} (expected a value)`);
  }

  private object(depth: number): Record<string, unknown> {
    const s = this.s;
    const obj: Record<string, unknown> = {};
    this.i++; // {
    this.ws();
    if (s[this.i] === '}') {
      this.i++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (s[this.i] !== '"') {
        if (s[this.i] === '}') this.fail('trailing comma before "}"');
        this.fail(this.i >= s.length ? 'unexpected end of input (expected a property name)'
          : `expected a double-quoted property name, found ${describeChar(s, this.i)}`);
      }
      const key = this.string();
      this.ws();
      if (s[this.i] !== ':') this.fail(`expected ':' after property name "${key}"`);
      this.i++;
      const v = this.value(depth);
      // A plain assignment to "__proto__" would replace the prototype.
      if (key === '__proto__') Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
      else obj[key] = v;
      this.ws();
      const c = s[this.i];
      this.i++;
      if (c === '}') return obj;
      if (c !== ',') this.fail(c === undefined ? 'unexpected end of input (expected \',\' or \'}\')' : `expected ',' or '}' after property value, found ${describeChar(s, this.i - 1)}`, this.i - 1);
    }
  }

  private array(depth: number): unknown[] {
    const s = this.s;
    const arr: unknown[] = [];
    this.i++; // [
    this.ws();
    if (s[this.i] === ']') {
      this.i++;
      return arr;
    }
    for (;;) {
      this.ws();
      if (s[this.i] === ']' && arr.length > 0) this.fail('trailing comma before "]"');
      arr.push(this.value(depth));
      this.ws();
      const c = s[this.i];
      this.i++;
      if (c === ']') return arr;
      if (c !== ',') this.fail(c === undefined ? 'unexpected end of input (expected \',\' or \']\')' : `expected ',' or ']' after array element, found ${describeChar(s, this.i - 1)}`, this.i - 1);
    }
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    this.i++; // opening quote
    let out = '';
    for (;;) {
      PLAIN_CHARS.lastIndex = this.i;
      const run = PLAIN_CHARS.exec(s)![0];
      out += run;
      this.i += run.length;
      if (this.i >= s.length) this.fail('unterminated string', start);
      const c = s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c !== '\\') this.fail(`control character ${describeChar(s, this.i)} must be escaped in a string`);
      const e = s[this.i + 1];
      if (e === 'u') {
        const hex = s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape in string (expected 4 hex digits)');
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        this.i += 2;
      } else {
        this.fail(e === undefined ? 'unterminated string' : `bad escape "\\${e}" in string`);
      }
    }
  }

  private number(): number | bigint {
    const s = this.s;
    const start = this.i;
    NUMBER.lastIndex = start;
    const m = NUMBER.exec(s);
    const tok = m ? m[0] : '';
    if (tok === '' || tok === '-') this.fail('malformed number (no digits)');
    this.i += tok.length;
    // e.g. "01", "1.", "1e": the regex stopped early on something number-like.
    if (/[0-9.eE+-]/.test(s[this.i] ?? '')) this.fail('malformed number', start);
    const n = Number(tok);
    if (Number.isSafeInteger(n) || !/^-?\d+$/.test(tok)) return n;
    return BigInt(tok);
  }
}

function describeChar(s: string, i: number): string {
  const code = s.codePointAt(i);
  if (code === undefined) return 'end of input';
  if (code < 0x20 || code === 0x7f || code === 0xfeff) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(String.fromCodePoint(code));
}

/** JSON.stringify that writes bigint values as plain integer literals. */
export function stringifyJson(value: unknown, space: string | number = '\t'): string {
  // Bigints go out as tagged strings first, then the quotes are dropped.
  // Random enough that no real string collides; node:crypto would cost ~4 ms of start-up.
  const tag = `\u0000bigint-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}:`;
  let found = false;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      found = true;
      return tag + v.toString();
    },
    space,
  );
  if (!found) return text;
  const quotedTag = JSON.stringify(tag).slice(0, -1); // `"\u0000bigint-…:`
  return text
    .split(quotedTag)
    .map((part, i) => (i === 0 ? part : part.replace(/^(-?\d+)"/, '$1')))
    .join('');
}
