import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration, parseInstantNs, parseTimestampNs } from './timestamp';

test('parseGoDuration: Go syntax, units combined, fractions, sign', () => {
  assert.equal(parseGoDuration('10m'), 600e9);
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('300ms'), 300e6);
  assert.equal(parseGoDuration('2us'), 2000);
  assert.equal(parseGoDuration('-2s'), -2e9);
  assert.equal(parseGoDuration('0'), 0);
  for (const bad of ['', '10', 'm', '10x', '1h 30m', 'h1', '1.5']) assert.equal(parseGoDuration(bad), undefined, bad);
});

test('parseInstantNs: unix seconds with nanoseconds, RFC 3339 with zones, short dates', () => {
  assert.equal(parseInstantNs('12'), 12_000_000_000n);
  assert.equal(parseInstantNs('12.000000003'), 12_000_000_003n);
  assert.equal(parseInstantNs('12.5'), 12_500_000_000n);
  assert.equal(parseInstantNs('1970-01-01T00:00:01.000000002Z'), 1_000_000_002n);
  assert.equal(parseInstantNs('1970-01-01T01:00:01.5+01:00'), 1_500_000_000n);
  assert.equal(parseInstantNs('1970-01-02'), 86_400_000_000_000n);
  assert.equal(parseInstantNs('1970-01-01T00:01'), 60_000_000_000n);
  assert.equal(parseInstantNs('yesterday'), undefined);
});

test('parseTimestampNs: a duration counts back from now; bad values name themselves', () => {
  const now = 1_700_000_000_000;
  assert.equal(parseTimestampNs('24h', now), BigInt(now - 86_400_000) * 1_000_000n);
  assert.equal(parseTimestampNs(' 1700000000 ', now), 1_700_000_000_000_000_000n);
  assert.throws(() => parseTimestampNs('soon', now), /invalid time "soon": use unix seconds, RFC 3339 or a duration/);
});
