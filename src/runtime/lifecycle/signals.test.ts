import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeError } from '../errors';
import { parseSignal } from './signals';

function rejected(raw: string): void {
  assert.throws(() => parseSignal(raw), (e: unknown) => {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    assert.equal(e.message, `unknown signal ${JSON.stringify(raw)}: use a name such as KILL or SIGTERM, or a number from 1 to 64`);
    assert.equal(e.exitCode, 1);
    return true;
  });
}

test('a bare name: KILL = 9', () => assert.equal(parseSignal('KILL'), 9));
test('a SIG-prefixed name: SIGKILL = 9', () => assert.equal(parseSignal('SIGKILL'), 9));
test('a number: "9" = 9', () => assert.equal(parseSignal('9'), 9));
test('lower case: sigterm = 15, term = 15, Hup = 1', () => {
  assert.equal(parseSignal('sigterm'), 15);
  assert.equal(parseSignal('term'), 15);
  assert.equal(parseSignal('Hup'), 1);
});
test('surrounding whitespace is ignored', () => assert.equal(parseSignal(' USR1\n'), 10));
test('other names: SIGCHLD 17, STOP 19, WINCH 28, SIGSYS 31, IOT = ABRT = 6', () => {
  assert.deepEqual(['SIGCHLD', 'STOP', 'WINCH', 'SIGSYS', 'IOT', 'ABRT'].map((s) => parseSignal(s)), [17, 19, 28, 31, 6, 6]);
});

test('no signal: the default SIGTERM = 15', () => assert.equal(parseSignal(undefined), 15));
test('no signal with another fallback', () => assert.equal(parseSignal(undefined, 'KILL'), 9));

test('SIGRTMIN = 34', () => assert.equal(parseSignal('SIGRTMIN'), 34));
test('SIGRTMIN+3 = 37', () => assert.equal(parseSignal('SIGRTMIN+3'), 37));
test('rtmin+3 (lower case, no SIG) = 37', () => assert.equal(parseSignal('rtmin+3'), 37));
test('SIGRTMAX = 64', () => assert.equal(parseSignal('SIGRTMAX'), 64));
test('SIGRTMAX-2 = 62', () => assert.equal(parseSignal('SIGRTMAX-2'), 62));
test('SIGRTMIN+30 = 64 (the top of the range)', () => assert.equal(parseSignal('SIGRTMIN+30'), 64));
test('SIGRTMIN-1 (below the real-time range) is rejected', () => rejected('SIGRTMIN-1'));
test('SIGRTMAX+1 (65) is rejected', () => rejected('SIGRTMAX+1'));
test('SIGRTMIN+31 (65) is rejected', () => rejected('SIGRTMIN+31'));

test('numbers 1 and 64 are the ends of the accepted range', () => {
  assert.equal(parseSignal('1'), 1);
  assert.equal(parseSignal('64'), 64);
});
test('0 is rejected', () => rejected('0'));
test('65 is rejected', () => rejected('65'));
test('a negative number is rejected', () => rejected('-9'));
test('a non-integer number is rejected', () => rejected('9.0'));
test('an unknown name FOO is rejected with a clear message', () => rejected('FOO'));
test('SIG alone is rejected', () => rejected('SIG'));
test('an empty string means the default signal, as in runc', () => assert.equal(parseSignal(''), 15));
