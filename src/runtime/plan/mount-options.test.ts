import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MS } from '../../kernel/constants';
import { BIND_REMOUNT_FLAGS, parseMountOptions } from './mount-options';

const NONE = { flags: 0, clear: 0, propagation: [], data: '', bind: false, recursive: false };

test('no options (or undefined) parse to nothing', () => {
  assert.deepEqual(parseMountOptions([]), NONE);
  assert.deepEqual(parseMountOptions(), NONE);
});

const SETTERS: [string, number][] = [
  ['ro', MS.RDONLY], ['nosuid', MS.NOSUID], ['nodev', MS.NODEV], ['noexec', MS.NOEXEC], ['sync', MS.SYNCHRONOUS],
  ['remount', MS.REMOUNT], ['mand', MS.MANDLOCK], ['dirsync', MS.DIRSYNC], ['nosymfollow', MS.NOSYMFOLLOW],
  ['noatime', MS.NOATIME], ['nodiratime', MS.NODIRATIME], ['relatime', MS.RELATIME], ['strictatime', MS.STRICTATIME],
  ['lazytime', MS.LAZYTIME], ['silent', MS.SILENT],
];
for (const [opt, flag] of SETTERS) {
  test(`"${opt}" sets flag 0x${flag.toString(16)} and nothing else`, () => {
    assert.deepEqual(parseMountOptions([opt]), { ...NONE, flags: flag });
  });
}

const CLEARERS: [string, number][] = [
  ['rw', MS.RDONLY], ['suid', MS.NOSUID], ['dev', MS.NODEV], ['exec', MS.NOEXEC], ['async', MS.SYNCHRONOUS],
  ['nomand', MS.MANDLOCK], ['atime', MS.NOATIME], ['diratime', MS.NODIRATIME], ['norelatime', MS.RELATIME],
  ['nostrictatime', MS.STRICTATIME], ['nolazytime', MS.LAZYTIME], ['loud', MS.SILENT], ['symfollow', MS.NOSYMFOLLOW],
];
for (const [opt, flag] of CLEARERS) {
  test(`"${opt}" records flag 0x${flag.toString(16)} as cleared and sets nothing`, () => {
    assert.deepEqual(parseMountOptions([opt]), { ...NONE, clear: flag });
  });
}

test('"ro" then "rw": the later "rw" wins (flag cleared, recorded in clear)', () => {
  const o = parseMountOptions(['ro', 'rw']);
  assert.equal(o.flags, 0);
  assert.equal(o.clear, MS.RDONLY);
});

test('"rw" then "ro": the later "ro" wins (flag set, no longer in clear)', () => {
  const o = parseMountOptions(['rw', 'ro']);
  assert.equal(o.flags, MS.RDONLY);
  assert.equal(o.clear, 0);
});

test('setting and clearing different flags only touch their own bits', () => {
  const o = parseMountOptions(['nosuid', 'ro', 'dev', 'noexec', 'suid']);
  assert.equal(o.flags, MS.RDONLY | MS.NOEXEC);
  assert.equal(o.clear, MS.NODEV | MS.NOSUID);
});

test('"bind" sets MS_BIND, bind=true, recursive=false', () => {
  assert.deepEqual(parseMountOptions(['bind']), { ...NONE, flags: MS.BIND, bind: true });
});

test('"rbind" sets MS_BIND|MS_REC, bind=true, recursive=true', () => {
  assert.deepEqual(parseMountOptions(['rbind']), { ...NONE, flags: MS.BIND | MS.REC, bind: true, recursive: true });
});

test('"rbind" then "bind" stays recursive', () => {
  const o = parseMountOptions(['rbind', 'bind']);
  assert.equal(o.recursive, true);
  assert.equal(o.flags, MS.BIND | MS.REC);
});

test('"bind" then "rbind" becomes recursive', () => {
  const o = parseMountOptions(['bind', 'rbind']);
  assert.equal(o.recursive, true);
  assert.equal(o.flags, MS.BIND | MS.REC);
});

test('bind options combine with flag options', () => {
  const o = parseMountOptions(['rbind', 'ro', 'nosuid', 'nodev']);
  assert.equal(o.flags, MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV);
  assert.equal(o.bind, true);
});

const PROPAGATIONS: [string, number][] = [
  ['private', MS.PRIVATE], ['rprivate', MS.PRIVATE | MS.REC],
  ['shared', MS.SHARED], ['rshared', MS.SHARED | MS.REC],
  ['slave', MS.SLAVE], ['rslave', MS.SLAVE | MS.REC],
  ['unbindable', MS.UNBINDABLE], ['runbindable', MS.UNBINDABLE | MS.REC],
];
for (const [opt, flag] of PROPAGATIONS) {
  test(`propagation "${opt}" is its own entry 0x${flag.toString(16)}, not a mount flag`, () => {
    assert.deepEqual(parseMountOptions([opt]), { ...NONE, propagation: [flag] });
  });
}

test('several propagation options are kept in the given order, repeats included', () => {
  assert.deepEqual(parseMountOptions(['rslave', 'ro', 'private', 'rslave']).propagation, [MS.SLAVE | MS.REC, MS.PRIVATE, MS.SLAVE | MS.REC]);
});

test('filesystem-specific options are joined with commas in the given order', () => {
  const o = parseMountOptions(['nosuid', 'mode=755', 'strictatime', 'size=65536k', 'newinstance', 'gid=5']);
  assert.equal(o.data, 'mode=755,size=65536k,newinstance,gid=5');
  assert.equal(o.flags, MS.NOSUID | MS.STRICTATIME);
});

test('a data option whose value holds "=" and "," is passed through untouched', () => {
  assert.equal(parseMountOptions(['lowerdir=/a:/b', 'context="system_u:object_r:x,y"']).data, 'lowerdir=/a:/b,context="system_u:object_r:x,y"');
});

const IGNORED = [
  'defaults', 'auto', 'noauto', 'user', 'nouser', 'users', 'nofail', '_netdev', 'tmpcopyup', 'notmpcopyup',
  'copy-symlink', 'idmap', 'ridmap', 'X-mount.idmap', 'x-systemd.automount', 'X-anything=1',
];
for (const opt of IGNORED) {
  test(`"${opt}" is ignored (no flag, no data)`, () => {
    assert.deepEqual(parseMountOptions([opt]), NONE);
  });
}

test('ignored options between data options do not leave empty entries in data', () => {
  assert.equal(parseMountOptions(['mode=1777', 'defaults', 'x-foo', 'size=1m', 'nofail']).data, 'mode=1777,size=1m');
});

test('BIND_REMOUNT_FLAGS: the per-mount flags a bind remount can change, and nothing per-superblock', () => {
  assert.equal(
    BIND_REMOUNT_FLAGS,
    MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW,
  );
  for (const f of [MS.SYNCHRONOUS, MS.MANDLOCK, MS.DIRSYNC, MS.LAZYTIME, MS.SILENT, MS.BIND, MS.REC, MS.REMOUNT]) {
    assert.equal(BIND_REMOUNT_FLAGS & f, 0, `0x${f.toString(16)}`);
  }
});
