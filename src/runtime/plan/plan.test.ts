import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePlan } from './encode';
import { LaunchPlan } from './plan';

test('op() prefixes the kind with "op:", keeps the description and returns the index', () => {
  const p = new LaunchPlan();
  assert.equal(p.op('first', 'rootfs', '/r'), 0);
  assert.equal(p.op('second', 'mask', '/proc/kcore'), 1);
  assert.deepEqual(p.ops, [['op:rootfs', '/r'], ['op:mask', '/proc/kcore']]);
  assert.deepEqual(p.descriptions, ['first', 'second']);
});

test('has() looks at header keywords only', () => {
  const p = new LaunchPlan();
  p.header.push(['foreground']);
  p.process.push(['nnp']);
  assert.equal(p.has('foreground'), true);
  assert.equal(p.has('nnp'), false);
});

test('describe(): op descriptions, the exec step right after the last op, undefined otherwise', () => {
  const p = new LaunchPlan();
  p.op('opening', 'rootfs', '/');
  assert.equal(p.describe(0), 'opening');
  assert.equal(p.describe(1), 'starting the container process');
  assert.equal(p.describe(-1), undefined);
  assert.equal(p.describe(5), undefined);
});

test('encode(): header, ops, process in that order; execOp set to the op count', () => {
  const p = new LaunchPlan();
  p.process.push(['args', 'sh']);
  p.op('o', 'rootfs', '/');
  p.header.push(['mode', 'exec']);
  assert.equal(p.execOp, -1);
  assert.deepEqual(decodePlan(p.encode()), [['mode', 'exec'], ['op:rootfs', '/'], ['args', 'sh']]);
  assert.equal(p.execOp, 1);
});

test('dump(): JSON-quoted fields, numbered ops with descriptions, buffers by size', () => {
  const p = new LaunchPlan();
  p.header.push(['mode', 'create'], ['unshare', 131072]);
  p.op('opening the rootfs', 'rootfs', '/r');
  p.op('writing', 'write', '/proc/sys/x', 'a"b');
  p.process.push(['args', 'sh', '-c', 'x y'], ['seccomp', Buffer.alloc(16), 7n]);
  assert.equal(
    p.dump(),
    [
      '"mode" "create"',
      '"unshare" "131072"',
      '0: "op:rootfs" "/r"  # opening the rootfs',
      '1: "op:write" "/proc/sys/x" "a\\"b"  # writing',
      '"args" "sh" "-c" "x y"',
      '"seccomp" <16 bytes> "7"',
    ].join('\n'),
  );
});
