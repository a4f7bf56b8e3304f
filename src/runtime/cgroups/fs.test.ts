import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nodeCgroupFs as cfs } from './fs';

test('nodeCgroupFs over a temp dir: ops, no file creation on write, errors keep code and path', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cgfs-'));
  try {
    const d = path.join(root, 'a');
    cfs.mkdir(d);
    assert.equal(cfs.exists(d), true);
    assert.throws(() => cfs.mkdir(d), { code: 'EEXIST' });
    fs.writeFileSync(path.join(d, 'cgroup.procs'), 'old-longer-content');
    cfs.writeFile(path.join(d, 'cgroup.procs'), '42');
    assert.equal(cfs.readFile(path.join(d, 'cgroup.procs')), '42');
    assert.throws(() => cfs.writeFile(path.join(d, 'missing'), '1'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.message.includes(`${d}/missing`));
    assert.equal(fs.existsSync(path.join(d, 'missing')), false);
    cfs.mkdir(path.join(d, 'sub'));
    assert.deepEqual(cfs.readdir(d), [{ name: 'cgroup.procs', isDirectory: false }, { name: 'sub', isDirectory: true }].sort((a, b) => (a.name < b.name ? -1 : 1)));
    cfs.rmdir(path.join(d, 'sub'));
    assert.throws(() => cfs.rmdir(path.join(d, 'sub')), { code: 'ENOENT' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
