// Shared fixtures for the spec tests (not part of the runtime).

import assert from 'node:assert/strict';
import type { ValidateOptions } from './types';
import { SpecError, validateSpec } from './validate';

export type Raw = any;

/** A small valid config.json, as parsed JSON. */
export function minimal(): Raw {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    hostname: 'box',
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }] },
  };
}

/** Apply edit to a fresh minimal spec and validate it. */
export function check(edit: (s: Raw) => void, opts: ValidateOptions = {}) {
  const s = minimal();
  edit(s);
  return validateSpec(s, 'config.json', opts);
}

/**
 * Assert that edit makes validation fail at exactly `field`, with a problem
 * matching `problem`, and that the message reads "config.json: field: …".
 */
export function rejects(edit: (s: Raw) => void, field: string, problem?: RegExp | string, opts: ValidateOptions = {}): void {
  assert.throws(
    () => check(edit, opts),
    (err: unknown) => {
      assert.ok(err instanceof SpecError, `expected SpecError, got ${String(err)}`);
      assert.equal(err.field, field, err.message);
      assert.ok(err.message.startsWith(`config.json: ${field}: `), err.message);
      if (typeof problem === 'string') assert.equal(err.problem, problem, err.message);
      else if (problem) assert.match(err.problem, problem, err.message);
      return true;
    },
  );
}

/** Recursively freeze, to prove validation does not write to its input. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
