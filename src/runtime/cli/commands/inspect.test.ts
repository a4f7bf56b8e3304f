import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table } from './inspect';

test('runc list header: every column but the last padded to 12', () => {
  assert.equal(table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']]), 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
});

test('short cells are padded to the minimum width 12', () => {
  assert.equal(table([['A', 'B'], ['x', 'y']]), 'A           B\nx           y\n');
});

test('a cell of exactly 9 characters still fits in 12 (9 + padding 3)', () => {
  assert.equal(table([['123456789', 'z']]), '123456789   z\n');
});

test('a cell of 10 characters widens its column to 13 (cell + padding 3)', () => {
  assert.equal(table([['1234567890', 'z'], ['a', 'b']]), '1234567890   z\na            b\n');
});

test('the widest cell in a column sets the column for every row', () => {
  const out = table([
    ['ID', 'PID', 'STATUS'],
    ['a-very-long-container-id', '1', 'running'],
    ['c2', '23456', 'stopped'],
  ]);
  assert.equal(
    out,
    'ID                         PID         STATUS\n' +
      'a-very-long-container-id   1           running\n' +
      'c2                         23456       stopped\n',
  );
});

test('each column has its own width', () => {
  const out = table([
    ['ID', 'BUNDLE', 'OWNER'],
    ['c1', '/var/lib/bundles/c1', 'root'],
  ]);
  assert.equal(out, 'ID          BUNDLE                OWNER\nc1          /var/lib/bundles/c1   root\n');
});

test('the last column is never padded (no trailing spaces), however wide', () => {
  const out = table([['ID', 'CREATED'], ['c1', '2024-01-01T00:00:00.000000000Z'], ['c2', 'x']]);
  for (const line of out.split('\n')) assert.equal(line, line.trimEnd());
});

test('an empty cell is padded like any other', () => {
  assert.equal(table([['', 'x']]), '            x\n');
});

test('a single column: cells as they are, one per line', () => {
  assert.equal(table([['ID'], ['c1']]), 'ID\nc1\n');
});

test('the output ends with exactly one newline', () => {
  assert.match(table([['a', 'b'], ['c', 'd']]), /[^\n]\n$/);
});
