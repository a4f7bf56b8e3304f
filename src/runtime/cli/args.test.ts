import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagTable, UsageError, bool, multi, parseArgs, str } from './args';

const TABLE: FlagTable = {
  bundle: { kind: 'string', alias: ['b'] },
  detach: { kind: 'bool', alias: ['d'] },
  env: { kind: 'multi', alias: ['e'] },
  'pid-file': { kind: 'string' },
};

const parse = (argv: string[], opts?: { stopAfterPositionals?: number }) => parseArgs(argv, TABLE, opts);

function usageError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

test('no arguments: no flags, no positionals', () => {
  assert.deepEqual(parse([]), { flags: {}, positional: [] });
});

test('"--flag value"', () => {
  assert.deepEqual(parse(['--bundle', '/b']).flags, { bundle: '/b' });
});

test('"-flag value" (single dash, Go style)', () => {
  assert.deepEqual(parse(['-bundle', '/b']).flags, { bundle: '/b' });
});

test('"--flag=value" and "-flag=value"', () => {
  assert.deepEqual(parse(['--bundle=/b']).flags, { bundle: '/b' });
  assert.deepEqual(parse(['-bundle=/c']).flags, { bundle: '/c' });
});

test('"--flag=" gives an empty value', () => {
  assert.deepEqual(parse(['--bundle=']).flags, { bundle: '' });
});

test('"--flag=a=b" keeps everything after the first "="', () => {
  assert.deepEqual(parse(['--bundle=a=b']).flags, { bundle: 'a=b' });
});

test('a string flag takes the next argument even when it looks like a flag', () => {
  assert.deepEqual(parse(['--bundle', '--detach']), { flags: { bundle: '--detach' }, positional: [] });
});

test('a repeated string flag: the last one wins', () => {
  assert.deepEqual(parse(['--bundle', 'a', '-b', 'b']).flags, { bundle: 'b' });
});

test('flag names with dashes', () => {
  assert.deepEqual(parse(['--pid-file', '/run/p']).flags, { 'pid-file': '/run/p' });
});

test('a bool flag alone is true and does not take the next argument', () => {
  assert.deepEqual(parse(['--detach', 'c1']), { flags: { detach: true }, positional: ['c1'] });
});

test('bool "=true" and "=false"', () => {
  assert.deepEqual(parse(['--detach=true']).flags, { detach: true });
  assert.deepEqual(parse(['-d=false']).flags, { detach: false });
});

test('a later bool flag overrides an earlier one', () => {
  assert.deepEqual(parse(['-d', '--detach=false']).flags, { detach: false });
});

test('a bool value other than true/false is a UsageError', () => {
  usageError(() => parse(['--detach=yes']), 'invalid boolean value "yes" for -detach');
  usageError(() => parse(['-d=']), 'invalid boolean value "" for -d');
});

test('a multi flag collects every value in order, whatever the spelling', () => {
  assert.deepEqual(parse(['-e', 'A=1', '--env', 'B=2', '--env=C=3', '-e=D=4']).flags, { env: ['A=1', 'B=2', 'C=3', 'D=4'] });
});

test('aliases store the value under the canonical name', () => {
  assert.deepEqual(parse(['-b', '/b', '-d', '-e', 'X=1']).flags, { bundle: '/b', detach: true, env: ['X=1'] });
});

test('flags and positionals can be interleaved', () => {
  assert.deepEqual(parse(['c1', '--bundle', '/b', 'extra', '-d']), { flags: { bundle: '/b', detach: true }, positional: ['c1', 'extra'] });
});

test('"-" alone is a positional', () => {
  assert.deepEqual(parse(['-', 'c1']).positional, ['-', 'c1']);
});

test('"--" ends the flags: everything after it is positional', () => {
  assert.deepEqual(parse(['-d', '--', '--bundle', 'x', '--nope']), { flags: { detach: true }, positional: ['--bundle', 'x', '--nope'] });
});

test('stopAfterPositionals: after N positionals the rest is positional, flags and unknown flags included', () => {
  assert.deepEqual(parseArgs(['--format', 'json', 'c1', '-ef', '--format', 'x'], { format: { kind: 'string' } }, { stopAfterPositionals: 1 }), {
    flags: { format: 'json' },
    positional: ['c1', '-ef', '--format', 'x'],
  });
});

test('stopAfterPositionals keeps a "--" that comes after the limit', () => {
  assert.deepEqual(parse(['c1', '--', 'x'], { stopAfterPositionals: 1 }).positional, ['c1', '--', 'x']);
});

test('stopAfterPositionals 0: everything is positional', () => {
  assert.deepEqual(parse(['-d', 'x'], { stopAfterPositionals: 0 }), { flags: {}, positional: ['-d', 'x'] });
});

test('an unknown flag is a UsageError naming it (as Go does, with one dash)', () => {
  usageError(() => parse(['--nope']), 'flag provided but not defined: -nope');
  usageError(() => parse(['-nope=1']), 'flag provided but not defined: -nope');
});

test('a string flag at the end without a value is a UsageError', () => {
  usageError(() => parse(['--bundle']), 'flag needs an argument: -bundle');
  usageError(() => parse(['-e']), 'flag needs an argument: -e');
});

test('an empty table rejects any flag', () => {
  usageError(() => parseArgs(['-x'], {}), 'flag provided but not defined: -x');
});

test('str/bool/multi helpers', () => {
  const p = parse(['-b', '/b', '-d', '-e', 'A=1']);
  assert.equal(str(p, 'bundle'), '/b');
  assert.equal(str(p, 'pid-file'), undefined);
  assert.equal(bool(p, 'detach'), true);
  assert.equal(bool(parse([]), 'detach'), false);
  assert.equal(bool(parse(['-d=false']), 'detach'), false);
  assert.deepEqual(multi(p, 'env'), ['A=1']);
  assert.deepEqual(multi(parse([]), 'env'), []);
});
