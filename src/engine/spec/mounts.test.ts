// Mounts: Docker's defaults, Binds, Mounts (bind, tmpfs), Tmpfs, /dev/shm and IPC modes,
// read-only root, ordering, propagation, and what is refused.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostPropagationCheck, parseMountInfo, sourceMount } from './host-mounts';
import { mergeTmpfsOptions } from './tmpfs-options';
import { build, mountAt, refuses } from './testing';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spec-mounts-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const SRC = path.join(tmp, 'src');
fs.mkdirSync(SRC);

describe("Docker's default mounts", () => {
  const r = build();
  const want: [string, string, string, string[]][] = [
    ['/proc', 'proc', 'proc', ['nosuid', 'noexec', 'nodev']],
    ['/dev', 'tmpfs', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']],
    ['/dev/pts', 'devpts', 'devpts', ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']],
    ['/sys', 'sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'ro']],
    ['/sys/fs/cgroup', 'cgroup', 'cgroup', ['ro', 'nosuid', 'noexec', 'nodev']],
    ['/dev/mqueue', 'mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']],
    ['/dev/shm', 'tmpfs', 'shm', ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']],
  ];
  test('exactly these, in this order', () => {
    assert.deepEqual(r.spec.mounts, want.map(([destination, type, source, options]) => ({ destination, type, source, options })));
  });
  test('ShmSize sizes /dev/shm; the daemon default applies when 0', () => {
    assert.ok(mountAt(build({ hostConfig: { ShmSize: 1 << 30 } }), '/dev/shm').options!.includes(`size=${1 << 30}`));
    assert.ok(mountAt(build({ defaultShmSize: 1 << 20 }), '/dev/shm').options!.includes(`size=${1 << 20}`));
  });
});

describe('HostConfig.Binds', () => {
  const cases: [string, string[]][] = [
    [`${SRC}:/data`, ['rbind', 'rprivate']],
    [`${SRC}:/data:ro`, ['rbind', 'ro', 'rprivate']],
    [`${SRC}:/data:rw`, ['rbind', 'rprivate']],
    [`${SRC}:/data:z`, ['rbind', 'rprivate']],
    [`${SRC}:/data:Z,ro`, ['rbind', 'ro', 'rprivate']],
    [`${SRC}:/data:rslave`, ['rbind', 'rslave']],
    [`${SRC}:/data:ro,private`, ['rbind', 'ro', 'private']],
    [`${SRC}:/data:cached`, ['rbind', 'rprivate']],
  ];
  for (const [bind, options] of cases) {
    test(bind.replace(SRC, '<src>'), () => {
      assert.deepEqual(mountAt(build({ hostConfig: { Binds: [bind] } }), '/data'), { destination: '/data', type: 'bind', source: SRC, options });
    });
  }
  test('shared asks the host mount to be shared and sets rootfsPropagation', () => {
    const asked: string[] = [];
    const r = build({ hostConfig: { Binds: [`${SRC}:/data:rshared`] }, checkHostPropagation: (s, want) => void asked.push(`${s} ${want}`) });
    assert.deepEqual(asked, [`${SRC} shared`]);
    assert.equal(r.spec.linux!.rootfsPropagation, 'shared');
    const slave = build({ hostConfig: { Binds: [`${SRC}:/data:slave`] } });
    assert.equal(slave.spec.linux!.rootfsPropagation, 'rslave');
  });
  test('the host check: the source must live on a shared (or, for slave, a slave) mount', () => {
    const real = fs.realpathSync(SRC);
    const table = (opt: string) => () => `27 1 254:0 / / rw - ext4 /dev/vda rw\n99 27 0:50 / ${real} rw ${opt} - tmpfs t rw\n`;
    const check = (opt: string, bind: string) => build({ hostConfig: { Binds: [bind] }, checkHostPropagation: hostPropagationCheck(table(opt)) });
    check('shared:7', `${SRC}:/data:shared`);
    check('master:3', `${SRC}:/data:rslave`);
    check('shared:7 master:3', `${SRC}:/data:slave`);
    refuses(
      { hostConfig: { Binds: [`${SRC}:/data:shared`] }, checkHostPropagation: hostPropagationCheck(table('master:3')) },
      `path ${SRC} is mounted on ${real} but it is not a shared mount`,
    );
    refuses(
      { hostConfig: { Binds: [`${SRC}:/data:rslave`] }, checkHostPropagation: hostPropagationCheck(table('')) },
      'but it is not a shared or slave mount',
    );
  });
  test('mountinfo: the longest parent mountpoint, escapes decoded', () => {
    const t = parseMountInfo('1 0 0:1 / / rw shared:1 - ext4 a rw\n2 1 0:2 / /a\\040b rw - tmpfs t rw\n');
    assert.deepEqual(t, [{ mountpoint: '/', optional: 'shared:1' }, { mountpoint: '/a b', optional: '' }]);
    assert.equal(sourceMount('/a b/c', t)!.mountpoint, '/a b');
    assert.equal(sourceMount('/a bc', t)!.mountpoint, '/');
  });
  test('a missing source is created at start, as dockerd does for -v', () => {
    const missing = path.join(tmp, 'missing', 'dir');
    const r = build({ hostConfig: { Binds: [`${missing}:/data`] } });
    assert.deepEqual(r.hostDirs, [missing]);
    assert.equal(mountAt(r, '/data').source, missing);
  });
  test('the source and target are cleaned', () => {
    const m = mountAt(build({ hostConfig: { Binds: [`${SRC}/./:/data/x/..//`] } }), '/data');
    assert.equal(m.source, SRC);
  });
  const refusals: [string, RegExp | string][] = [
    ['/data', /anonymous volume/],
    ['myvol:/data', /is a volume name.*not supported yet/],
    [`${SRC}:/data:nocopy`, 'field VolumeOptions must not be specified'],
    [`${SRC}:/data:ro,rw`, 'invalid mode: ro,rw'],
    [`${SRC}:/data:bogus`, 'invalid mode: bogus'],
    [`${SRC}:/data:ro:x`, 'invalid volume specification'],
    [`/data:rw`, 'invalid volume specification'],
    [`${SRC}:/`, "destination can't be '/'"],
    [`${SRC}:data`, 'mount path must be absolute'],
    [':/data', 'invalid volume specification'],
  ];
  for (const [bind, msg] of refusals) test(`refused: ${bind.replace(SRC, '<src>')}`, () => void refuses({ hostConfig: { Binds: [bind] } }, msg));
});

describe('HostConfig.Mounts', () => {
  test('bind: read-only, non-recursive, propagation', () => {
    const r = build({
      hostConfig: { Mounts: [{ Type: 'bind', Source: SRC, Target: '/m', ReadOnly: true, BindOptions: { NonRecursive: true, Propagation: 'rslave' } }] },
    });
    assert.deepEqual(mountAt(r, '/m'), { destination: '/m', type: 'bind', source: SRC, options: ['bind', 'ro', 'rslave'] });
  });
  test('bind: the source must exist, unless CreateMountpoint', () => {
    const missing = path.join(tmp, 'nope');
    refuses(
      { hostConfig: { Mounts: [{ Type: 'bind', Source: missing, Target: '/m' }] } },
      `invalid mount config for type "bind": bind source path does not exist: ${missing}`,
    );
    const r = build({ hostConfig: { Mounts: [{ Type: 'bind', Source: missing, Target: '/m', BindOptions: { CreateMountpoint: true } }] } });
    assert.deepEqual(r.hostDirs, [missing]);
  });
  test('tmpfs: size and mode as dockerd writes them', () => {
    const r = build({
      hostConfig: { Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770, Options: [['exec']] } }] },
    });
    assert.deepEqual(mountAt(r, '/t'), {
      destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'rprivate', 'mode=1770', 'size=64m', 'exec'],
    });
    const ro = build({ hostConfig: { Mounts: [{ Type: 'tmpfs', Target: '/t', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } }] } });
    assert.deepEqual(mountAt(ro, '/t').options, ['noexec', 'nosuid', 'nodev', 'rprivate', 'ro', 'size=1000']);
  });
  const refusals: [string, object, RegExp | string][] = [
    ['volume', { Type: 'volume', Source: 'v', Target: '/v' }, /type "volume".*not supported yet/],
    ['image', { Type: 'image', Source: 'alpine', Target: '/i' }, /image mounts are not supported/],
    ['unknown type', { Type: 'npipe', Source: 'x', Target: '/n' }, 'mount type unknown'],
    ['no target', { Type: 'bind', Source: SRC }, 'field Target must not be empty'],
    ['no bind source', { Type: 'bind', Target: '/b' }, 'field Source must not be empty'],
    ['relative source', { Type: 'bind', Source: 'rel', Target: '/b' }, "invalid mount path: 'rel' mount path must be absolute"],
    ['tmpfs with a source', { Type: 'tmpfs', Source: 'x', Target: '/t' }, 'field Source must not be specified'],
    ['bind options on tmpfs', { Type: 'tmpfs', Target: '/t', BindOptions: {} }, 'field BindOptions must not be specified'],
    ['bad propagation', { Type: 'bind', Source: SRC, Target: '/b', BindOptions: { Propagation: 'sideways' } }, 'invalid propagation mode: sideways'],
    ['tmpfs option', { Type: 'tmpfs', Target: '/t', TmpfsOptions: { Options: [['suid']] } }, 'invalid option: suid'],
    ['rro', { Type: 'bind', Source: SRC, Target: '/b', ReadOnly: true, BindOptions: { ReadOnlyForceRecursive: true } }, /recursively read-only mounts are not supported/],
    ['rw + ReadOnlyNonRecursive', { Type: 'bind', Source: SRC, Target: '/b', BindOptions: { ReadOnlyNonRecursive: true } }, 'mount options conflict'],
  ];
  for (const [name, m, msg] of refusals) test(`refused: ${name}`, () => void refuses({ hostConfig: { Mounts: [m] } }, msg));
});

describe('HostConfig.Tmpfs', () => {
  test('"/run": "rw,size=64m,noexec" merges with the defaults, later options winning', () => {
    const r = build({ hostConfig: { Tmpfs: { '/run': 'rw,size=64m,noexec' } } });
    assert.deepEqual(mountAt(r, '/run'), {
      destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'rprivate', 'rw', 'size=64m', 'noexec'],
    });
  });
  test('no options: the defaults', () => {
    assert.deepEqual(mountAt(build({ hostConfig: { Tmpfs: { '/run': '' } } }), '/run').options, ['noexec', 'nosuid', 'nodev', 'rprivate']);
  });
  test('exec overrides noexec; a bad option is refused', () => {
    assert.deepEqual(mountAt(build({ hostConfig: { Tmpfs: { '/x': 'exec,mode=700' } } }), '/x').options, ['nosuid', 'nodev', 'rprivate', 'exec', 'mode=700']);
    refuses({ hostConfig: { Tmpfs: { '/x': 'size=1m,bogus' } } }, 'invalid tmpfs option "bogus"');
    refuses({ hostConfig: { Tmpfs: { '/x': 'bind' } } }, 'is not a tmpfs option');
    refuses({ hostConfig: { Tmpfs: { x: '' } } }, 'mount path must be absolute');
  });
  test('a tmpfs on /dev/shm replaces the default one', () => {
    const r = build({ hostConfig: { Tmpfs: { '/dev/shm': 'size=1m' } } });
    assert.equal(r.spec.mounts!.filter((m) => m.destination === '/dev/shm').length, 1);
    assert.equal(mountAt(r, '/dev/shm').source, 'tmpfs');
  });
  test('mergeTmpfsOptions: one propagation, last data key wins', () => {
    assert.deepEqual(mergeTmpfsOptions(['rprivate', 'size=1', 'shared', 'size=2', 'defaults'], 'x'), ['shared', 'size=2']);
  });
});

describe('mount interplay', () => {
  test('duplicates are refused', () => {
    refuses({ hostConfig: { Binds: [`${SRC}:/d`, `${SRC}:/d:ro`] } }, 'Duplicate mount point: /d');
    refuses({ hostConfig: { Binds: [`${SRC}:/d`], Tmpfs: { '/d': '' } } }, 'Duplicate mount point: /d');
    refuses({ hostConfig: { Binds: [`${SRC}:/d`], Mounts: [{ Type: 'tmpfs', Target: '/d/' }] } }, 'Duplicate mount point: /d');
  });
  test('user mounts follow the defaults, sorted by depth', () => {
    const r = build({ hostConfig: { Binds: [`${SRC}:/a/b/c`, `${SRC}:/a`], Tmpfs: { '/a/b': '' } } });
    const dests = r.spec.mounts!.map((m) => m.destination);
    assert.deepEqual(dests.slice(-3), ['/a', '/a/b', '/a/b/c']);
  });
  test('a user /dev drops every default below /dev', () => {
    const r = build({ hostConfig: { Binds: [`${SRC}:/dev`] } });
    assert.deepEqual(r.spec.mounts!.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
  });
  test('a read-only root makes /sys, the cgroups and the init ro, not /proc, /dev*, nor user mounts', () => {
    const r = build({ hostConfig: { ReadonlyRootfs: true, Init: true, Binds: [`${SRC}:/data`] }, initPath: '/bin/sh' });
    for (const d of ['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/dev/shm', '/data']) assert.ok(!mountAt(r, d).options!.includes('ro'), d);
    for (const d of ['/sys', '/sys/fs/cgroup', '/sbin/docker-init']) assert.ok(mountAt(r, d).options!.includes('ro'), d);
  });
  test('writable-cgroups', () => {
    assert.ok(!mountAt(build({ hostConfig: { SecurityOpt: ['writable-cgroups=true'] } }), '/sys/fs/cgroup').options!.includes('ro'));
    assert.ok(mountAt(build({ hostConfig: { Privileged: true, SecurityOpt: ['writable-cgroups=false'] }, hostDevDir: '/dev' }), '/sys/fs/cgroup').options!.includes('ro'));
  });
  test('network files are bound unless the request mounts there; ro with a read-only root', () => {
    const files = { resolvConf: path.join(tmp, 'resolv.conf'), hosts: path.join(tmp, 'hosts') };
    const r = build({ networkFiles: files, hostConfig: { Binds: [`${SRC}:/etc/hosts`] } });
    assert.deepEqual(mountAt(r, '/etc/resolv.conf'), { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['rbind', 'rprivate'] });
    assert.equal(mountAt(r, '/etc/hosts').source, SRC);
    const ro = build({ networkFiles: files, hostConfig: { ReadonlyRootfs: true } });
    assert.deepEqual(mountAt(ro, '/etc/hosts').options, ['rbind', 'ro', 'rprivate']);
  });
});

describe('IPC modes and /dev/shm', () => {
  test('none: no /dev/shm; private and shareable: the tmpfs', () => {
    assert.ok(!build({ hostConfig: { IpcMode: 'none' } }).spec.mounts!.some((m) => m.destination === '/dev/shm'));
    for (const IpcMode of ['private', 'shareable', '']) assert.equal(mountAt(build({ hostConfig: { IpcMode } }), '/dev/shm').type, 'tmpfs');
  });
  test("host: the host's /dev/shm, no ipc namespace", () => {
    const r = build({ hostConfig: { IpcMode: 'host' } });
    assert.deepEqual(mountAt(r, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
    assert.ok(!r.spec.linux!.namespaces!.some((n) => n.type === 'ipc'));
  });
  test("container:X: X's ipc namespace and its /dev/shm", () => {
    const r = build({ hostConfig: { IpcMode: 'container:web' } });
    assert.deepEqual(r.spec.linux!.namespaces!.find((n) => n.type === 'ipc'), { type: 'ipc', path: '/proc/4242/ns/ipc' });
    assert.deepEqual(mountAt(r, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/var/lib/berth/containers/web/shm', options: ['rbind', 'rprivate'] });
    refuses({ hostConfig: { IpcMode: 'container:priv' } }, 'non-shareable IPC');
  });
  test('container:X without a shared /dev/shm on the host: own tmpfs, with a warning', () => {
    const r = build({ hostConfig: { IpcMode: 'container:plain' } });
    assert.equal(mountAt(r, '/dev/shm').type, 'tmpfs');
    assert.ok(r.warnings.some((w) => w.includes('gets a /dev/shm of its own')));
  });
  test('shareable with the engine\'s host tmpfs: bound as /dev/shm', () => {
    const r = build({ hostConfig: { IpcMode: 'shareable' }, shmPath: '/var/lib/berth/containers/x/shm' });
    assert.equal(mountAt(r, '/dev/shm').source, '/var/lib/berth/containers/x/shm');
  });
});
