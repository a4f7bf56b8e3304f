import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { detectLayout, ownCgroup, parseMountInfo, parseProcCgroup, v1Hierarchies } from './layout';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_HYBRID_SYSTEMD, MOUNTINFO_LEGACY, MOUNTINFO_UNIFIED } from './fake-kernel';

test('hybrid with separately mounted cpu and cpuacct (this machine)', () => {
  const l = detectLayout(MOUNTINFO_HYBRID_SPLIT);
  assert.equal(l.mode, 'hybrid');
  assert.equal(l.unified, '/sys/fs/cgroup/unified');
  assert.equal(l.v1.get('cpu'), '/sys/fs/cgroup/cpu');
  assert.equal(l.v1.get('cpuacct'), '/sys/fs/cgroup/cpuacct');
  assert.equal(l.v1.has('cpu,cpuacct'), false);
  assert.equal(l.v1.has('systemd'), false);
  assert.equal(l.v1.has('name=systemd'), false);
  assert.deepEqual(
    v1Hierarchies(l).map((h) => h.key),
    ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'],
  );
});

test('systemd hybrid with co-mounted controllers', () => {
  const l = detectLayout(MOUNTINFO_HYBRID_SYSTEMD);
  assert.equal(l.mode, 'hybrid');
  assert.equal(l.unified, '/sys/fs/cgroup/unified');
  for (const k of ['cpu', 'cpuacct', 'cpu,cpuacct']) assert.equal(l.v1.get(k), '/sys/fs/cgroup/cpu,cpuacct');
  for (const k of ['net_cls', 'net_prio', 'net_cls,net_prio']) assert.equal(l.v1.get(k), '/sys/fs/cgroup/net_cls,net_prio');
  const hs = v1Hierarchies(l);
  assert.equal(hs.filter((h) => h.mountpoint === '/sys/fs/cgroup/cpu,cpuacct').length, 1);
  assert.deepEqual(hs.find((h) => h.key === 'cpu,cpuacct')?.controllers, ['cpu', 'cpuacct']);
  assert.equal(hs.length, 11);
});

test('legacy: v1 only; combo key sorted whatever the kernel order', () => {
  const l = detectLayout(MOUNTINFO_LEGACY);
  assert.equal(l.mode, 'legacy');
  assert.equal(l.unified, undefined);
  assert.equal(l.v1.get('cpu,cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(l.v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(l.v1.get('freezer'), '/sys/fs/cgroup/freezer');
  assert.ok(!v1Hierarchies(l).some((h) => h.mountpoint.endsWith('/systemd')));
});

test('unified: cgroup2 only (a name=systemd v1 mount does not make it hybrid)', () => {
  assert.deepEqual(detectLayout(MOUNTINFO_UNIFIED), { mode: 'unified', v1: new Map(), unified: '/sys/fs/cgroup' });
  const withNamed = MOUNTINFO_UNIFIED + '40 25 0:40 / /run/systemd-v1 rw,relatime - cgroup cgroup rw,none,name=systemd\n';
  assert.equal(detectLayout(withNamed).mode, 'unified');
});

test('mountinfo parsing: optional fields, octal escapes, sub-root bind mounts', () => {
  const text = [
    '50 25 0:25 /sub /mnt/bound rw shared:4 master:1 - cgroup2 cgroup2 rw',
    '51 25 0:25 / /mnt/my\\040cgroup2 rw shared:4 - cgroup2 cgroup2 rw',
    '52 25 0:26 /x /mnt/mem-sub rw - cgroup cgroup rw,memory',
    '53 25 0:26 / /mnt/mem rw - cgroup cgroup rw,noprefix,memory,clone_children',
    'garbage line',
  ].join('\n');
  const m = parseMountInfo(text);
  assert.equal(m.length, 4);
  assert.equal(m[0].root, '/sub');
  assert.equal(m[0].fstype, 'cgroup2');
  assert.equal(m[1].mountpoint, '/mnt/my cgroup2');
  const l = detectLayout(text);
  assert.equal(l.unified, '/mnt/my cgroup2'); // root mount preferred over the bind of /sub
  assert.equal(l.v1.get('memory'), '/mnt/mem');
  assert.deepEqual([...l.v1.keys()], ['memory']);
});

test('no cgroup filesystem: clear error', () => {
  assert.throws(() => detectLayout('22 1 8:1 / / rw - ext4 /dev/vda rw\n'), /no cgroup or cgroup2 filesystem/);
});

test('parseProcCgroup: this machine, pure v2, and paths containing colons', () => {
  const p = parseProcCgroup('9:name=systemd:/\n8:pids:/\n4:memory:/process_api/f2c1\n2:cpuacct:/\n1:cpu:/\n0::/\n');
  assert.equal(p.v1.get('memory'), '/process_api/f2c1');
  assert.equal(p.v1.get('name=systemd'), '/');
  assert.equal(p.unified, '/');
  const c = parseProcCgroup('5:cpu,cpuacct:/a\n0::/user.slice/a:b.scope\n');
  assert.equal(c.v1.get('cpuacct'), '/a');
  assert.equal(c.unified, '/user.slice/a:b.scope');
  assert.equal(parseProcCgroup('3:cpuset:/\n').unified, undefined);
});

test('real host: detectLayout() and ownCgroup() agree with /proc', () => {
  const l = detectLayout();
  const own = ownCgroup();
  if (l.unified !== undefined) assert.ok(fs.existsSync(l.unified));
  for (const [c, mp] of l.v1) if (!c.includes(',')) assert.ok(own.v1.has(c), `${c} (${mp}) missing from /proc/self/cgroup`);
  assert.equal(own.unified !== undefined, l.unified !== undefined);
});
