import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertManagedPath, resolveCgroupPath } from './path';

test('absent cgroupsPath → /berth/<id>', () => {
  assert.equal(resolveCgroupPath(undefined, 'c1'), '/berth/c1');
  assert.equal(resolveCgroupPath('', 'c1'), '/berth/c1');
  assert.throws(() => resolveCgroupPath(undefined, 'a/b'), /container id "a\/b"/);
  assert.throws(() => resolveCgroupPath(undefined, '..'), /cannot be used/);
});

test('relative paths go below /berth', () => {
  assert.equal(resolveCgroupPath('foo/bar', 'c1'), '/berth/foo/bar');
  assert.equal(resolveCgroupPath('foo', 'c1'), '/berth/foo');
  assert.equal(resolveCgroupPath('./foo//bar/', 'c1'), '/berth/foo/bar');
  assert.throws(() => resolveCgroupPath('.', 'c1'), /berth only manages/); // would be the parent itself
});

test('absolute paths inside a berth* directory are used as is', () => {
  assert.equal(resolveCgroupPath('/berth/x', 'c1'), '/berth/x');
  assert.equal(resolveCgroupPath('/berth.slice/x', 'c1'), '/berth.slice/x');
  assert.equal(resolveCgroupPath('/berth-test-1/x', 'c1'), '/berth-test-1/x');
  assert.equal(resolveCgroupPath('/machine/berth/x/y', 'c1'), '/machine/berth/x/y');
  assert.equal(resolveCgroupPath('//berth//x/', 'c1'), '/berth/x');
});

test('absolute paths outside berth are refused with a clear message', () => {
  assert.throws(
    () => resolveCgroupPath('/system.slice/x', 'c1'),
    { message: 'cgroupsPath "/system.slice/x": berth only manages cgroups under a "berth" parent (e.g. /berth/<id>)' },
  );
  assert.throws(() => resolveCgroupPath('/', 'c1'), /^Error: cgroupsPath "\/": berth only manages/);
  assert.throws(() => resolveCgroupPath('/berth', 'c1'), /berth only manages/); // the parent itself
  assert.throws(() => resolveCgroupPath('/x/berth', 'c1'), /berth only manages/);
  assert.throws(() => resolveCgroupPath('/notberth/x', 'c1'), /berth only manages/);
});

test('".." is refused everywhere', () => {
  assert.throws(() => resolveCgroupPath('/berth/../system.slice/x', 'c1'), /"\.\." components are not allowed/);
  assert.throws(() => resolveCgroupPath('foo/../../x', 'c1'), /"\.\."/);
  assert.throws(() => assertManagedPath('/berth/a/..'), /"\.\."/);
});

test('systemd slice:prefix:name is refused as unsupported', () => {
  assert.throws(() => resolveCgroupPath('system.slice:docker:abc', 'c1'), /systemd cgroup driver, which berth does not support yet/);
  assert.throws(() => resolveCgroupPath(':berth:abc', 'c1'), /systemd/);
});

test('control characters are refused', () => {
  assert.throws(() => resolveCgroupPath('/berth/a\nb', 'c1'), /NUL or newline/);
});
