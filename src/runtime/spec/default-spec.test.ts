import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSpec } from './default-spec';
import { parseSpec, stringifySpec, validateSpec } from './validate';

describe('defaultSpec', () => {
  it('passes validation unchanged, with and without a process requirement', () => {
    const s = defaultSpec();
    assert.deepEqual(validateSpec(s, 'config.json', { requireProcess: true }), s);
    assert.deepEqual(parseSpec(stringifySpec(s)), s);
  });

  it('matches runc spec (berth hostname, spec 1.2.0)', () => {
    const s = defaultSpec();
    assert.equal(s.ociVersion, '1.2.0');
    assert.equal(s.hostname, 'berth');
    assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
    const p = s.process!;
    assert.equal(p.terminal, true);
    assert.deepEqual(p.user, { uid: 0, gid: 0 });
    assert.deepEqual(p.args, ['sh']);
    assert.deepEqual(p.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm']);
    assert.equal(p.cwd, '/');
    assert.equal(p.noNewPrivileges, true);
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    assert.deepEqual(p.capabilities, { bounding: caps, effective: caps, permitted: caps });
    assert.deepEqual(p.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    assert.deepEqual(s.mounts, [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ]);
    const l = s.linux!;
    assert.deepEqual(l.resources, { devices: [{ allow: false, access: 'rwm' }] });
    assert.deepEqual(l.namespaces?.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    assert.deepEqual(l.maskedPaths, [
      '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
      '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
    ]);
    assert.deepEqual(l.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    assert.equal(l.uidMappings, undefined);
  });

  it('returns a fresh object each call', () => {
    const a = defaultSpec();
    a.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
    a.mounts!.pop();
    assert.equal(defaultSpec().process!.capabilities!.bounding!.length, 3);
    assert.equal(defaultSpec().mounts!.length, 7);
  });
});

describe('defaultSpec({rootless: true})', () => {
  it('maps the given ids and passes validation', () => {
    const s = defaultSpec({ rootless: true, uid: 1000, gid: 100 });
    assert.deepEqual(validateSpec(s, 'config.json', { requireProcess: true }), s);
    assert.deepEqual(s.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
    assert.deepEqual(s.linux?.gidMappings, [{ containerID: 0, hostID: 100, size: 1 }]);
  });

  it('defaults to the current euid/egid', () => {
    const s = defaultSpec({ rootless: true });
    assert.equal(s.linux?.uidMappings?.[0]?.hostID, process.geteuid!());
    assert.equal(s.linux?.gidMappings?.[0]?.hostID, process.getegid!());
  });

  it('does what runc spec --rootless does', () => {
    const s = defaultSpec({ rootless: true, uid: 1000, gid: 1000 });
    const l = s.linux!;
    assert.deepEqual(l.namespaces?.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
    assert.equal(l.resources, undefined);
    assert.equal('resources' in l, false);
    const byDest = new Map(s.mounts!.map((m) => [m.destination, m]));
    assert.deepEqual(byDest.get('/sys'), { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    assert.deepEqual(byDest.get('/dev/pts')?.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
    assert.deepEqual(byDest.get('/sys/fs/cgroup'), defaultSpec().mounts![6]);
    assert.equal(s.mounts!.length, 7);
    // Everything else is as for root.
    const root = defaultSpec();
    assert.deepEqual(s.process, root.process);
    assert.deepEqual([l.maskedPaths, l.readonlyPaths], [root.linux!.maskedPaths, root.linux!.readonlyPaths]);
    // Keys in Go's field order, as runc writes them.
    assert.deepEqual(Object.keys(l), ['uidMappings', 'gidMappings', 'namespaces', 'maskedPaths', 'readonlyPaths']);
  });
});
