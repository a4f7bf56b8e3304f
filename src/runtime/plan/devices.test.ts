import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MS, S_IF } from '../../kernel/constants';
import { DEFAULT_DEVICES, planDevSymlinks, planDevices } from './devices';
import { LaunchPlan } from './plan';
import type { LinuxDevice } from '../spec/types';

const CHR_666 = S_IF.CHR | 0o666;

function devices(list: LinuxDevice[], inUserNs: boolean): LaunchPlan {
  const plan = new LaunchPlan();
  planDevices(plan, list, inUserNs);
  return plan;
}

test('default devices: one mknod op each, character type bits + 0666, root-owned, in runc order', () => {
  assert.deepEqual(devices([], false).ops, [
    ['op:mknod', 'dev/null', CHR_666, 1, 3, 0, 0],
    ['op:mknod', 'dev/zero', CHR_666, 1, 5, 0, 0],
    ['op:mknod', 'dev/full', CHR_666, 1, 7, 0, 0],
    ['op:mknod', 'dev/random', CHR_666, 1, 8, 0, 0],
    ['op:mknod', 'dev/urandom', CHR_666, 1, 9, 0, 0],
    ['op:mknod', 'dev/tty', CHR_666, 5, 0, 0, 0],
  ]);
});

test('the mknod mode of a default device is S_IFCHR|0666 = 0o20666', () => {
  assert.equal(devices([], false).ops[0][2], 0o20666);
});

test('each mknod op has a description naming the device and its numbers', () => {
  assert.equal(devices([], false).descriptions[0], 'creating device /dev/null (c 1:3)');
});

test('a spec device with the path of a default replaces it (and comes after the remaining defaults)', () => {
  const plan = devices([{ type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 }], false);
  const paths = plan.ops.map((o) => o[1]);
  assert.deepEqual(paths, ['dev/zero', 'dev/full', 'dev/random', 'dev/urandom', 'dev/tty', 'dev/null']);
  assert.deepEqual(plan.ops[5], ['op:mknod', 'dev/null', S_IF.CHR | 0o600, 1, 3, 5, 6]);
});

test('spec devices with new paths are added after all the defaults, in spec order', () => {
  const plan = devices(
    [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229 },
      { type: 'b', path: '/dev/sda', major: 8, minor: 0, fileMode: 0o660, gid: 6 },
    ],
    false,
  );
  assert.equal(plan.ops.length, DEFAULT_DEVICES.length + 2);
  assert.deepEqual(plan.ops.slice(-2), [
    ['op:mknod', 'dev/fuse', S_IF.CHR | 0o666, 10, 229, 0, 0],
    ['op:mknod', 'dev/sda', S_IF.BLK | 0o660, 8, 0, 0, 6],
  ]);
});

test('type "u" (unbuffered character) gets the character device bits', () => {
  assert.deepEqual(devices([{ type: 'u', path: '/dev/x', major: 4, minor: 2, fileMode: 0o620 }], false).ops.at(-1), ['op:mknod', 'dev/x', S_IF.CHR | 0o620, 4, 2, 0, 0]);
});

test('type "p" (fifo) gets S_IFIFO and 0:0 when major/minor are absent', () => {
  assert.deepEqual(devices([{ type: 'p', path: '/dev/pipe' }], false).ops.at(-1), ['op:mknod', 'dev/pipe', S_IF.FIFO | 0o666, 0, 0, 0, 0]);
});

test('fileMode is masked to permission bits (type bits in fileMode are dropped, the type decides)', () => {
  assert.equal(devices([{ type: 'c', path: '/dev/x', major: 1, minor: 1, fileMode: S_IF.BLK | 0o4755 }], false).ops.at(-1)?.[2], S_IF.CHR | 0o4755);
});

test('a nested device path keeps its directories, relative to the rootfs', () => {
  assert.equal(devices([{ type: 'c', path: '//dev/net/tun', major: 10, minor: 200 }], false).ops.at(-1)?.[1], 'dev/net/tun');
});

test('in a user namespace each device is a bind mount of the host node onto a file', () => {
  assert.deepEqual(devices([], true).ops, [
    ['op:mount', 'dev/null', '/dev/null', '', MS.BIND, '', 'file', 0],
    ['op:mount', 'dev/zero', '/dev/zero', '', MS.BIND, '', 'file', 0],
    ['op:mount', 'dev/full', '/dev/full', '', MS.BIND, '', 'file', 0],
    ['op:mount', 'dev/random', '/dev/random', '', MS.BIND, '', 'file', 0],
    ['op:mount', 'dev/urandom', '/dev/urandom', '', MS.BIND, '', 'file', 0],
    ['op:mount', 'dev/tty', '/dev/tty', '', MS.BIND, '', 'file', 0],
  ]);
  assert.equal(devices([], true).descriptions[0], 'bind-mounting device /dev/null from the host');
});

test('in a user namespace a fifo is still created with mknod', () => {
  const plan = devices([{ type: 'p', path: '/dev/pipe', fileMode: 0o600 }, { type: 'b', path: '/dev/sda', major: 8, minor: 0 }], true);
  assert.deepEqual(plan.ops.slice(-2), [
    ['op:mknod', 'dev/pipe', S_IF.FIFO | 0o600, 0, 0, 0, 0],
    ['op:mount', 'dev/sda', '/dev/sda', '', MS.BIND, '', 'file', 0],
  ]);
});

function symlinks(hasDevPts: boolean, hasKcore: boolean): LaunchPlan {
  const plan = new LaunchPlan();
  planDevSymlinks(plan, hasDevPts, hasKcore);
  return plan;
}

test('/dev symlinks: fd, stdin, stdout, stderr always', () => {
  assert.deepEqual(symlinks(false, false).ops, [
    ['op:symlink', 'dev/fd', '/proc/self/fd'],
    ['op:symlink', 'dev/stdin', '/proc/self/fd/0'],
    ['op:symlink', 'dev/stdout', '/proc/self/fd/1'],
    ['op:symlink', 'dev/stderr', '/proc/self/fd/2'],
  ]);
});

test('/dev/core -> /proc/kcore only when the host has /proc/kcore', () => {
  assert.deepEqual(symlinks(false, true).ops.at(-1), ['op:symlink', 'dev/core', '/proc/kcore']);
  assert.equal(symlinks(false, true).ops.length, 5);
});

test('/dev/ptmx -> pts/ptmx only with a /dev/pts mount, after /dev/core', () => {
  assert.deepEqual(symlinks(true, true).ops.slice(-2), [
    ['op:symlink', 'dev/core', '/proc/kcore'],
    ['op:symlink', 'dev/ptmx', 'pts/ptmx'],
  ]);
  assert.equal(symlinks(true, false).ops.length, 5);
});

test('symlink descriptions show link and target', () => {
  assert.equal(symlinks(true, false).descriptions.at(-1), 'creating symlink /dev/ptmx -> pts/ptmx');
});
