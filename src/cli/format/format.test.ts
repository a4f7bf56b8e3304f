import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSize, ellipsis, formatG, humanDuration, humanSize, humanSizeWithPrecision, truncateID } from './units';
import { jsonCompact, jsonIndent } from './json-indent';
import { tabulate } from './tabwriter';

test('go-units sizes: decimal, %.Ng', () => {
  assert.equal(humanSizeWithPrecision(4261550, 3), '4.26MB');
  assert.equal(humanSizeWithPrecision(1200000000, 3), '1.2GB');
  assert.equal(humanSizeWithPrecision(0, 3), '0B');
  assert.equal(humanSizeWithPrecision(999, 3), '999B');
  assert.equal(humanSizeWithPrecision(999999, 3), '1e+03kB');
  assert.equal(humanSize(1024), '1.024kB');
  assert.equal(humanSize(1052343), '1.052MB');
  assert.equal(humanSize(1e15 * 3), '3PB');
  assert.equal(bytesSize(1536 * 1024 * 1024), '1.5GiB');
  assert.equal(formatG(123456, 4), '1.235e+05');
  assert.equal(formatG(0.5, 3), '0.5');
});

test('go-units HumanDuration', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  assert.equal(humanDuration(0.5 * s), 'Less than a second');
  assert.equal(humanDuration(1 * s), '1 second');
  assert.equal(humanDuration(59 * s), '59 seconds');
  assert.equal(humanDuration(60 * s), 'About a minute');
  assert.equal(humanDuration(3 * m), '3 minutes');
  assert.equal(humanDuration(59 * m), '59 minutes');
  assert.equal(humanDuration(60 * m), 'About an hour');
  assert.equal(humanDuration(89 * m), 'About an hour');
  assert.equal(humanDuration(90 * m), '2 hours');
  assert.equal(humanDuration(47 * h), '47 hours');
  assert.equal(humanDuration(48 * h), '2 days');
  assert.equal(humanDuration(14 * 24 * h), '2 weeks');
  assert.equal(humanDuration(60 * 24 * h), '2 months');
  assert.equal(humanDuration(2 * 365 * 24 * h), '2 years');
});

test('IDs and ellipsis', () => {
  assert.equal(truncateID('sha256:0123456789abcdef0123'), '0123456789ab');
  assert.equal(truncateID('0123'), '0123');
  assert.equal(ellipsis('/bin/sh -c #(nop) ADD file:abcdef in / with a long tail', 45), '/bin/sh -c #(nop) ADD file:abcdef in / with …');
  assert.equal(ellipsis('short', 45), 'short');
});

test('json.Indent keeps bytes, indents by four, compact empties', () => {
  const raw = '[{"Id":"sha256:x","RepoTags":[],"Config":{"Env":["A=\\"1\\""],"Labels":{}},"Size":1.5e3,"S":"a, b: {c}"}]';
  assert.equal(
    jsonIndent(raw),
    '[\n    {\n        "Id": "sha256:x",\n        "RepoTags": [],\n        "Config": {\n            "Env": [\n                "A=\\"1\\""\n            ],\n            "Labels": {}\n        },\n        "Size": 1.5e3,\n        "S": "a, b: {c}"\n    }\n]',
  );
  assert.equal(jsonCompact('[ {"a" : "b c" } ]'), '[{"a":"b c"}]');
});

test('tabwriter: column blocks, single-cell lines break blocks', () => {
  assert.equal(tabulate('a\tbb\tc\nddd\te\tf\n'), 'a         bb        c\nddd       e         f\n');
  assert.equal(tabulate('x\tlonger-than-ten-chars\ty\n'), 'x         longer-than-ten-chars   y\n');
  assert.equal(tabulate('a\tb\nsingle\nccc\td\n'), 'a         b\nsingle\nccc       d\n');
  assert.equal(tabulate(' Version:\t1\n API version:\t2\n', 20, 1), ' Version:           1\n API version:       2\n');
});
