import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic-file';

describe('writeFileAtomic', () => {
  test('writes the content with the given mode and leaves no temporary file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-atomic-test-'));
    try {
      const f = path.join(dir, 'f.json');
      writeFileAtomic(f, '{"a":1}', { mode: 0o400 });
      assert.equal(fs.readFileSync(f, 'utf8'), '{"a":1}');
      assert.equal(fs.statSync(f).mode & 0o777, 0o400);
      assert.deepEqual(fs.readdirSync(dir), ['f.json']);
      // Replaced whole, durable or not.
      writeFileAtomic(f, 'second', { durable: true });
      assert.equal(fs.readFileSync(f, 'utf8'), 'second');
      assert.deepEqual(fs.readdirSync(dir), ['f.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
