import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MS } from '../../kernel/constants';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_HYBRID_SYSTEMD, MOUNTINFO_LEGACY, MOUNTINFO_UNIFIED } from '../cgroups/fake-kernel';
import { detectLayout, v1Hierarchies } from '../cgroups/layout';
import { RuntimeError } from '../errors';
import type { Mount } from '../spec/types';
import { IdMaps, MountClones } from './idmap';
import { CgroupMountContext, planMounts } from './mounts';
import { LaunchPlan } from './plan';

// A bundle with real bind sources (plain files and directories; no mounts are made).
const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mounts-test-'));
const hostDir = path.join(bundle, 'hostdir');
const hostFile = path.join(bundle, 'hostfile');
fs.mkdirSync(hostDir);
fs.writeFileSync(hostFile, 'x');
after(() => fs.rmSync(bundle, { recursive: true, force: true }));

const HYBRID = detectLayout(MOUNTINFO_HYBRID_SPLIT);
const HYBRID_SYSTEMD = detectLayout(MOUNTINFO_HYBRID_SYSTEMD);
const LEGACY = detectLayout(MOUNTINFO_LEGACY);
const UNIFIED = detectLayout(MOUNTINFO_UNIFIED);
const NO_CGROUPS: CgroupMountContext = { layout: UNIFIED, dirs: {}, newCgroupNs: true };

function plan(mounts: Mount[], cg: CgroupMountContext = NO_CGROUPS, sysfsAsBind = false): LaunchPlan {
  const p = new LaunchPlan();
  planMounts(p, mounts, bundle, { cgroup: cg, sysfsAsBind });
  return p;
}

function throwsRuntimeError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('planMounts: bind mounts', () => {
  test('a plain bind of a directory is one non-recursive bind op creating a dir target', () => {
    assert.deepEqual(plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['bind'] }]).ops, [
      ['op:mount', 'data', hostDir, '', MS.BIND, '', 'dir', 0],
    ]);
  });

  test('"rbind" makes the bind recursive', () => {
    assert.deepEqual(plan([{ destination: '/data', type: 'none', source: hostDir, options: ['rbind'] }]).ops, [
      ['op:mount', 'data', hostDir, '', MS.BIND | MS.REC, '', 'dir', 0],
    ]);
  });

  test('type "bind" without a bind option is still a (non-recursive) bind', () => {
    assert.deepEqual(plan([{ destination: '/data', type: 'bind', source: hostDir }]).ops, [['op:mount', 'data', hostDir, '', MS.BIND, '', 'dir', 0]]);
  });

  test('a file source makes the stage create a file target', () => {
    assert.deepEqual(plan([{ destination: '/etc/hosts', type: 'bind', source: hostFile, options: ['rbind'] }]).ops, [
      ['op:mount', 'etc/hosts', hostFile, '', MS.BIND | MS.REC, '', 'file', 0],
    ]);
  });

  test('ro/nosuid/nodev/noexec add a bind remount with those flags and keep-locked=1', () => {
    assert.deepEqual(plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] }]).ops, [
      ['op:mount', 'data', hostDir, '', MS.BIND | MS.REC, '', 'dir', 0],
      ['op:mount', 'data', '', '', MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, '', 'none', 1],
    ]);
  });

  test('atime and nosymfollow flags also go to the remount', () => {
    const ops = plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['bind', 'noatime', 'nosymfollow'] }]).ops;
    assert.deepEqual(ops[1], ['op:mount', 'data', '', '', MS.BIND | MS.REMOUNT | MS.NOATIME | MS.NOSYMFOLLOW, '', 'none', 1]);
  });

  test('no remount op when only "rw" or clearing options are given', () => {
    assert.equal(plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'rw', 'suid', 'dev', 'exec'] }]).ops.length, 1);
  });

  test('no remount op for per-superblock flags such as "sync" (they cannot change on a bind)', () => {
    assert.equal(plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'sync', 'dirsync'] }]).ops.length, 1);
  });

  test('an option a bind mount cannot take is refused, not silently dropped', () => {
    assert.throws(() => plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'rro'] }]),
      (e: Error) => e instanceof RuntimeError && /mounts\[0\]\.options: "rro" is not a bind mount option/.test(e.message));
  });


  test('propagation options follow the bind (and the remount) as separate ops, in order', () => {
    assert.deepEqual(plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'rslave', 'ro', 'private'] }]).ops, [
      ['op:mount', 'data', hostDir, '', MS.BIND | MS.REC, '', 'dir', 0],
      ['op:mount', 'data', '', '', MS.BIND | MS.REMOUNT | MS.RDONLY, '', 'none', 1],
      ['op:mount', 'data', '', '', MS.SLAVE | MS.REC, '', 'none', 0],
      ['op:mount', 'data', '', '', MS.PRIVATE, '', 'none', 0],
    ]);
  });

  test('a bundle-relative source resolves against the bundle directory', () => {
    assert.equal(plan([{ destination: '/data', type: 'bind', source: 'hostdir', options: ['rbind'] }]).ops[0][2], hostDir);
    assert.equal(plan([{ destination: '/data', type: 'bind', source: './hostdir/../hostfile', options: ['rbind'] }]).ops[0][2], hostFile);
  });

  test('the destination is normalised and made relative to the rootfs', () => {
    assert.equal(plan([{ destination: '//a/./b/../data', type: 'bind', source: hostDir }]).ops[0][1], 'a/data');
  });

  test('descriptions name source and target', () => {
    const p = plan([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'rshared'] }]);
    assert.deepEqual(p.descriptions, [`bind-mounting ${hostDir} on /data`, 'remounting /data with its options', 'setting propagation of /data']);
  });

  test('a missing bind source is a RuntimeError naming mounts[i].source and the path', () => {
    const missing = path.join(bundle, 'nope');
    throwsRuntimeError(
      () => plan([{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/data', type: 'bind', source: 'nope', options: ['rbind'] }]),
      `config.json: mounts[1].source: ${missing}: no such file or directory, stat '${missing}'`,
    );
  });

  test('a bind mount without a source is a RuntimeError', () => {
    throwsRuntimeError(() => plan([{ destination: '/data', options: ['bind'] }]), 'config.json: mounts[0].source: a bind mount needs a source');
  });

});

describe('planMounts: idmapped bind mounts', () => {
  const CONTAINER: IdMaps = { uid: [{ containerID: 0, hostID: 100000, size: 65536 }], gid: [{ containerID: 0, hostID: 100000, size: 65536 }] };
  const OWN = [{ containerID: 1000, hostID: 100000, size: 1 }];
  const idmapped = (mounts: Mount[], userns = true) => {
    const p = new LaunchPlan();
    const clones = new MountClones();
    planMounts(p, mounts, bundle, { cgroup: NO_CGROUPS, sysfsAsBind: false, idmap: { clones, containerMaps: userns ? CONTAINER : undefined } });
    return { p, clones };
  };

  test('own mappings: the bind is clone 0 attached by the init, its remount and propagation follow', () => {
    const { p, clones } = idmapped([{ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'rslave'], uidMappings: OWN, gidMappings: OWN }]);
    assert.deepEqual(p.ops, [
      ['op:attach_clone', 0, 'data', 'dir'],
      ['op:mount', 'data', '', '', MS.BIND | MS.REMOUNT | MS.RDONLY, '', 'none', 1],
      ['op:mount', 'data', '', '', MS.SLAVE | MS.REC, '', 'none', 0],
    ]);
    assert.equal(p.describe(0), `bind-mounting ${hostDir} on /data, idmapped`);
    assert.deepEqual(clones.requests, [
      { what: 'config.json: mounts[0]', source: hostDir, recursive: true, recursiveIdmap: false, maps: { uid: OWN, gid: OWN }, onRefusal: 'error' },
    ]);
  });

  test('"ridmap" without mappings: the container\'s maps, recursive idmap; a file source makes a file target', () => {
    const { p, clones } = idmapped([
      { destination: '/plain', type: 'bind', source: hostDir },
      { destination: '/etc/x', type: 'bind', source: 'hostfile', options: ['bind', 'ridmap'] },
    ]);
    assert.deepEqual(p.ops, [['op:mount', 'plain', hostDir, '', MS.BIND, '', 'dir', 0], ['op:attach_clone', 0, 'etc/x', 'file']]);
    assert.equal(clones.requests.length, 1);
    assert.deepEqual(clones.requests[0]?.maps, CONTAINER);
    assert.equal(clones.requests[0]?.recursiveIdmap, true);
    assert.equal(clones.requests[0]?.recursive, false);
  });

  test('errors: idmap on a filesystem mount, "idmap" without any maps, a bind option berth does not know', () => {
    throwsRuntimeError(() => idmapped([{ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }]), /^config\.json: mounts\[0\]: id-mapped mounts must be bind mounts/);
    throwsRuntimeError(() => idmapped([{ destination: '/d', type: 'bind', source: hostDir, options: ['idmap'] }], false), /mounts\[0\]\.options: "idmap" without uidMappings\/gidMappings/);
    throwsRuntimeError(() => idmapped([{ destination: '/d', type: 'bind', source: hostDir, options: ['idmap', 'rro'] }]), /"rro" is not a bind mount option/);
  });

  test('an idmapped mount planned without a clone set is a programming error', () => {
    assert.throws(() => plan([{ destination: '/data', type: 'bind', source: hostDir, uidMappings: OWN, gidMappings: OWN }]), /no clone set was given/);
  });
});

describe('planMounts: filesystem mounts', () => {
  test('proc: source, type, no flags, dir target', () => {
    assert.deepEqual(plan([{ destination: '/proc', type: 'proc', source: 'proc' }]).ops, [['op:mount', 'proc', 'proc', 'proc', 0, '', 'dir', 0]]);
  });

  test('tmpfs: flags and comma-joined data', () => {
    assert.deepEqual(plan([{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] }]).ops, [
      ['op:mount', 'dev', 'tmpfs', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k', 'dir', 0],
    ]);
  });

  test('a missing source defaults to the type; a missing type to ""', () => {
    assert.deepEqual(plan([{ destination: '/sys', type: 'sysfs' }]).ops[0], ['op:mount', 'sys', 'sysfs', 'sysfs', 0, '', 'dir', 0]);
    const p = plan([{ destination: '/x' }]);
    assert.deepEqual(p.ops[0], ['op:mount', 'x', '', '', 0, '', 'dir', 0]);
    assert.equal(p.descriptions[0], 'mounting filesystem on /x');
  });

  test('propagation of a filesystem mount is applied by its own ops after the mount', () => {
    assert.deepEqual(plan([{ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: ['rshared', 'ro'] }]).ops, [
      ['op:mount', 'mnt', 'tmpfs', 'tmpfs', MS.RDONLY, '', 'dir', 0],
      ['op:mount', 'mnt', '', '', MS.SHARED | MS.REC, '', 'none', 0],
    ]);
  });

  test('sysfs is mounted as sysfs unless sysfsAsBind', () => {
    assert.deepEqual(plan([{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }]).ops, [
      ['op:mount', 'sys', 'sysfs', 'sysfs', MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, '', 'dir', 0],
    ]);
  });

  test('sysfsAsBind: sysfs becomes a recursive bind of the host /sys, remounted nosuid,nodev,noexec plus its own flags', () => {
    assert.deepEqual(plan([{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro', 'rslave'] }], NO_CGROUPS, true).ops, [
      ['op:mount', 'sys', '/sys', '', MS.BIND | MS.REC, '', 'dir', 0],
      ['op:mount', 'sys', '', '', MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, '', 'none', 1],
      ['op:mount', 'sys', '', '', MS.SLAVE | MS.REC, '', 'none', 0],
    ]);
  });

  test('sysfsAsBind leaves other filesystems alone', () => {
    assert.deepEqual(plan([{ destination: '/proc', type: 'proc', source: 'proc' }], NO_CGROUPS, true).ops, [['op:mount', 'proc', 'proc', 'proc', 0, '', 'dir', 0]]);
  });

  test('mounts are planned in spec order', () => {
    const p = plan([
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/data', type: 'bind', source: hostDir },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance', 'ptmxmode=0666'] },
    ]);
    assert.deepEqual(p.ops.map((o) => o[1]), ['proc', 'dev', 'data', 'dev/pts']);
    assert.equal(p.ops[3][5], 'newinstance,ptmxmode=0666');
  });
});

describe('planMounts: cgroup mounts on a hybrid host', () => {
  const RO_OPTS = ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'];
  const F = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY;
  const KEYS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];
  const cgMount: Mount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: RO_OPTS };
  const TMPFS = ['op:mount', 'sys/fs/cgroup', 'tmpfs', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755', 'dir', 0];
  const FINAL_RO = ['op:mount', 'sys/fs/cgroup', '', '', MS.REMOUNT | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY, 'mode=755', 'none', 1];
  const dirs: Record<string, string> = { unified: '/sys/fs/cgroup/unified/berth/c1' };
  for (const k of KEYS) dirs[k] = `/sys/fs/cgroup/${k}/berth/c1`;

  test('the sample layout has the expected hierarchies (fixture check)', () => {
    assert.deepEqual(v1Hierarchies(HYBRID).map((h) => h.key), KEYS);
    assert.equal(HYBRID.unified, '/sys/fs/cgroup/unified');
  });

  test('with a cgroup namespace: tmpfs, one "cgroup" mount per v1 hierarchy with its controllers as data, cgroup2 for unified, final ro remount', () => {
    assert.deepEqual(plan([cgMount], { layout: HYBRID, dirs, newCgroupNs: true }).ops, [
      TMPFS,
      ...KEYS.map((k) => ['op:mount', `sys/fs/cgroup/${k}`, 'cgroup', 'cgroup', F, k, 'dir', 0]),
      ['op:mount', 'sys/fs/cgroup/unified', 'cgroup', 'cgroup2', F, '', 'dir', 0],
      FINAL_RO,
    ]);
  });

  test('without a cgroup namespace: each hierarchy is a bind of the container\'s own dir, remounted with the flags', () => {
    const ops = plan([cgMount], { layout: HYBRID, dirs, newCgroupNs: false }).ops;
    const bindPair = (name: string, key: string) => [
      ['op:mount', `sys/fs/cgroup/${name}`, dirs[key], '', MS.BIND, '', 'dir', 0],
      ['op:mount', `sys/fs/cgroup/${name}`, '', '', MS.BIND | MS.REMOUNT | F, '', 'none', 1],
    ];
    assert.deepEqual(ops, [TMPFS, ...KEYS.flatMap((k) => bindPair(k, k)), ...bindPair('unified', 'unified'), FINAL_RO]);
  });

  test('without a cgroup namespace, hierarchies with no container dir are left out', () => {
    const ops = plan([cgMount], { layout: HYBRID, dirs: { memory: dirs.memory }, newCgroupNs: false }).ops;
    assert.deepEqual(ops.map((o) => [o[1], o[2]]), [
      ['sys/fs/cgroup', 'tmpfs'],
      ['sys/fs/cgroup/memory', dirs.memory],
      ['sys/fs/cgroup/memory', ''],
      ['sys/fs/cgroup', ''],
    ]);
  });

  test('a read-write cgroup mount gets no final read-only remount (and no bind remounts without flags)', () => {
    const rw: Mount = { ...cgMount, options: ['rw'] };
    const withNs = plan([rw], { layout: HYBRID, dirs, newCgroupNs: true }).ops;
    assert.equal(withNs.length, 1 + KEYS.length + 1);
    assert.ok(withNs.every((o) => o[4] !== FINAL_RO[4]));
    const withoutNs = plan([rw], { layout: HYBRID, dirs, newCgroupNs: false }).ops;
    assert.equal(withoutNs.length, 1 + KEYS.length + 1);
  });

  test('bind options on a cgroup mount are not passed on to the cgroup mounts', () => {
    const ops = plan([{ ...cgMount, options: ['rbind', 'nosuid'] }], { layout: HYBRID, dirs, newCgroupNs: true }).ops;
    assert.equal(ops[1][4], MS.NOSUID);
  });

  test('co-mounted controllers: one mount named after the mountpoint, plus a symlink per controller', () => {
    const ops = plan([cgMount], { layout: HYBRID_SYSTEMD, dirs: {}, newCgroupNs: true }).ops;
    const i = ops.findIndex((o) => o[1] === 'sys/fs/cgroup/cpu,cpuacct');
    assert.deepEqual(ops.slice(i, i + 3), [
      ['op:mount', 'sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'cgroup', F, 'cpu,cpuacct', 'dir', 0],
      ['op:symlink', 'sys/fs/cgroup/cpu', 'cpu,cpuacct'],
      ['op:symlink', 'sys/fs/cgroup/cpuacct', 'cpu,cpuacct'],
    ]);
    const j = ops.findIndex((o) => o[1] === 'sys/fs/cgroup/net_cls,net_prio');
    assert.deepEqual(ops.slice(j + 1, j + 3), [
      ['op:symlink', 'sys/fs/cgroup/net_cls', 'net_cls,net_prio'],
      ['op:symlink', 'sys/fs/cgroup/net_prio', 'net_cls,net_prio'],
    ]);
  });

  test('named hierarchies (name=systemd) get no mount', () => {
    const ops = plan([cgMount], { layout: HYBRID_SYSTEMD, dirs: {}, newCgroupNs: true }).ops;
    assert.equal(ops.filter((o) => String(o[1]).endsWith('/systemd')).length, 0);
  });

  test('a legacy host (no cgroup2) gets no unified sub-mount', () => {
    const ops = plan([cgMount], { layout: LEGACY, dirs: {}, newCgroupNs: true }).ops;
    assert.equal(ops.filter((o) => o[3] === 'cgroup2').length, 0);
    assert.deepEqual(ops.filter((o) => o[0] === 'op:mount' && o[2] === 'cgroup').map((o) => o[5]), ['cpu,cpuacct', 'cpuset', 'memory', 'freezer', 'pids', 'devices']);
  });

  test('type "cgroup2" on a hybrid host mounts only the unified hierarchy, on the destination itself', () => {
    assert.deepEqual(plan([{ ...cgMount, type: 'cgroup2' }], { layout: HYBRID, dirs, newCgroupNs: true }).ops, [
      ['op:mount', 'sys/fs/cgroup', 'cgroup2', 'cgroup2', F, '', 'dir', 0],
    ]);
  });

  test('type "cgroup2" on a legacy host is a RuntimeError', () => {
    throwsRuntimeError(
      () => plan([{ ...cgMount, type: 'cgroup2' }], { layout: LEGACY, dirs: {}, newCgroupNs: true }),
      'config.json: mounts[0]: this host has no cgroup2 hierarchy to mount',
    );
  });
});

describe('planMounts: cgroup mounts on a unified host', () => {
  const cgMount: Mount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
  const F = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY;

  test('with a cgroup namespace, a "cgroup" mount becomes one cgroup2 mount', () => {
    assert.deepEqual(plan([cgMount], { layout: UNIFIED, dirs: { unified: '/sys/fs/cgroup/berth/c1' }, newCgroupNs: true }).ops, [
      ['op:mount', 'sys/fs/cgroup', 'cgroup2', 'cgroup2', F, '', 'dir', 0],
    ]);
  });

  test('without a cgroup namespace, the container\'s cgroup dir is bound and remounted with the flags', () => {
    assert.deepEqual(plan([cgMount], { layout: UNIFIED, dirs: { unified: '/sys/fs/cgroup/berth/c1' }, newCgroupNs: false }).ops, [
      ['op:mount', 'sys/fs/cgroup', '/sys/fs/cgroup/berth/c1', '', MS.BIND, '', 'dir', 0],
      ['op:mount', 'sys/fs/cgroup', '', '', MS.BIND | MS.REMOUNT | F, '', 'none', 1],
    ]);
  });
});
