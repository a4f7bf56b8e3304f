import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonSyntaxError, lineColumn, parseJson, stringifyJson } from './json';

describe('parseJson', () => {
  it('agrees with JSON.parse on valid documents', () => {
    const docs = [
      '{}', '[]', ' 0 ', '-0', '1.5e3', '-12.25E-2', 'true', 'false', 'null', '"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"',
      '{"a":[1,{"b":null}],"c":"d","a":2}', '[9007199254740991,-9007199254740991]', '{"__proto__":{"x":1}}',
      '\t\r\n{ "k" : [ ] }\n',
    ];
    for (const d of docs) assert.deepEqual(parseJson(d), JSON.parse(d), d);
  });

  it('keeps "__proto__" as an own property', () => {
    const o = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.keys(o), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('returns bigint only for integers beyond the safe range', () => {
    assert.deepEqual(parseJson('[18446744073709551615, -9223372036854775808, 9007199254740992, 1e30, 12345678901234567.5]'), [
      18446744073709551615n, -9223372036854775808n, 9007199254740992n, 1e30, 12345678901234567.5,
    ]);
    assert.deepEqual(parseJson('{"s": "18446744073709551615"}'), { s: '18446744073709551615' });
  });

  it('rejects what JSON.parse rejects, with a position', () => {
    const bad = [
      '', ' ', '{', '[', '{"a"}', '{"a":}', '{a:1}', "{'a':1}", '[1,]', '{"a":1,}', '[1 2]', '01', '1.', '.5', '-',
      '1e', '+1', 'NaN', 'Infinity', 'tru', 'nul', '"abc', '"\\x"', '"\\u12G4"', '"a\tb"', '{} {}', '\ufeff{}', '[1]]',
    ];
    for (const d of bad) {
      assert.throws(() => JSON.parse(d), SyntaxError, `JSON.parse accepted ${JSON.stringify(d)}`);
      assert.throws(() => parseJson(d), JsonSyntaxError, JSON.stringify(d));
    }
  });

  it('points at the offending character', () => {
    const at = (t: string) => {
      try {
        parseJson(t);
      } catch (e) {
        const j = e as JsonSyntaxError;
        return [j.line, j.column, j.detail];
      }
      return undefined;
    };
    assert.deepEqual(at('{\n  "a": 1\n  "b": 2\n}'), [3, 3, "expected ',' or '}' after property value, found \"\\\"\""]);
    assert.deepEqual(at('[\n1,\n\n  ]'), [4, 3, 'trailing comma before "]"']);
    assert.deepEqual(at('{"a": "b'), [1, 7, 'unterminated string']);
    assert.deepEqual(at('{"a" 1}'), [1, 6, 'expected \':\' after property name "a"']);
    assert.deepEqual(at('[01]'), [1, 2, 'malformed number']);
    assert.deepEqual(at('{"a": 1'), [1, 8, "unexpected end of input (expected ',' or '}')"]);
  });

  it('limits nesting depth instead of overflowing the stack', () => {
    assert.throws(() => parseJson('['.repeat(100000)), /nesting deeper than 512 levels/);
  });
});

describe('stringifyJson', () => {
  it('writes bigints as integer literals', () => {
    const v = { a: 18446744073709551615n, b: [-9223372036854775808n, 1], c: 'x' };
    const text = stringifyJson(v, 0);
    assert.equal(text, '{"a":18446744073709551615,"b":[-9223372036854775808,1],"c":"x"}');
    assert.deepEqual(parseJson(text), v);
  });
  it('is JSON.stringify otherwise, tab-indented by default', () => {
    assert.equal(stringifyJson({ a: [1] }), JSON.stringify({ a: [1] }, null, '\t'));
  });
});

describe('lineColumn', () => {
  it('counts 1-based lines and columns', () => {
    assert.deepEqual(lineColumn('ab\ncd', 0), { line: 1, column: 1 });
    assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumn('ab', 99), { line: 1, column: 3 });
  });
});
