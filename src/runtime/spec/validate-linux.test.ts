import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, rejects } from './fixtures';

const userns = (s: any, maps = true) => {
  s.linux.namespaces.push({ type: 'user' });
  if (maps) {
    s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  }
};

describe('linux.namespaces', () => {
  it('accepts every known type, with or without a path', () => {
    const l = check((s) => {
      s.linux.namespaces = [
        { type: 'pid', path: '/proc/1234/ns/pid' }, { type: 'network', path: '' }, { type: 'mount' }, { type: 'ipc' },
        { type: 'uts' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'cgroup' }, { type: 'time' },
      ];
    }).linux!;
    assert.equal(l.namespaces?.length, 8);
    assert.deepEqual(l.namespaces?.[0], { type: 'pid', path: '/proc/1234/ns/pid' });
    assert.deepEqual(l.namespaces?.[1], { type: 'network' });
  });

  it('rejects unknown, duplicate and relative entries', () => {
    rejects(
      (s) => s.linux.namespaces.push({ type: 'foo' }),
      'linux.namespaces[3].type',
      'unknown namespace type "foo" (expected one of: pid, network, mount, ipc, uts, user, cgroup, time)',
    );
    rejects((s) => s.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[3].type', 'duplicate namespace type "pid" (already at linux.namespaces[0])');
    rejects((s) => s.linux.namespaces.push({ type: 'ipc', path: 'ns/ipc' }), 'linux.namespaces[3].path', /must be an absolute path/);
    rejects((s) => s.linux.namespaces.push({}), 'linux.namespaces[3].type', 'is required');
    rejects((s) => (s.linux.namespaces = { pid: {} }), 'linux.namespaces', /must be an array/);
  });
});

describe('linux uid/gid mappings', () => {
  it('accepts mappings with a new user namespace', () => {
    const l = check((s) => {
      userns(s);
      s.linux.uidMappings.push({ containerID: 65536, hostID: 0, size: 1 });
    }).linux!;
    assert.equal(l.uidMappings?.length, 2);
  });

  it('requires a user namespace for mappings, and mappings for a new one', () => {
    rejects((s) => { userns(s); s.linux.namespaces.pop(); }, 'linux.uidMappings', /requires a user namespace/);
    rejects((s) => { userns(s); delete s.linux.uidMappings; s.linux.namespaces.pop(); }, 'linux.gidMappings', /requires a user namespace/);
    rejects((s) => userns(s, false), 'linux.uidMappings', 'is required when linux.namespaces[3] creates a new user namespace');
    rejects((s) => { userns(s); s.linux.gidMappings = []; }, 'linux.gidMappings', /is required when/);
    // Joining an existing user namespace needs no mappings.
    check((s) => s.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' }));
  });

  it('checks sizes, ranges and overlaps', () => {
    const m = (list: object[]) => (s: any) => { userns(s); s.linux.uidMappings = list; };
    rejects(m([{ containerID: 0, hostID: 1, size: 0 }]), 'linux.uidMappings[0].size', /between 1 and 4294967295 \(got 0\)/);
    rejects(m([{ containerID: 0, hostID: 1, size: 1.5 }]), 'linux.uidMappings[0].size', /integer/);
    rejects(m([{ containerID: -1, hostID: 1, size: 1 }]), 'linux.uidMappings[0].containerID', /between 0 and 4294967295/);
    rejects(m([{ containerID: 0, size: 1 }]), 'linux.uidMappings[0].hostID', 'is required');
    rejects(m([{ containerID: 0, hostID: 4294967290, size: 10 }]), 'linux.uidMappings[0].size', /hostID 4294967290 \+ size 10 runs past/);
    rejects(
      m([{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 5000, size: 10 }]),
      'linux.uidMappings[1]',
      'container ID range 5-14 overlaps linux.uidMappings[0] (0-9)',
    );
    rejects(
      m([{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 10, hostID: 1009, size: 1 }]),
      'linux.uidMappings[1]',
      'host ID range 1009-1009 overlaps linux.uidMappings[0] (1000-1009)',
    );
    // Adjacent ranges are fine.
    check(m([{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 10, hostID: 1010, size: 10 }]));
  });

  it('refuses more extents than the kernel takes (340), and gid maps get the same checks', () => {
    const extents = (n: number) => Array.from({ length: n }, (_, i) => ({ containerID: i, hostID: 100000 + i, size: 1 }));
    check((s: any) => { userns(s); s.linux.uidMappings = extents(340); });
    rejects((s: any) => { userns(s); s.linux.uidMappings = extents(341); }, 'linux.uidMappings', 'has 341 entries; the kernel allows at most 340');
    rejects(
      (s: any) => { userns(s); s.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 9, hostID: 5000, size: 1 }]; },
      'linux.gidMappings[1]',
      'container ID range 9-9 overlaps linux.gidMappings[0] (0-9)',
    );
  });
});

describe('linux.timeOffsets', () => {
  const withTime = (s: any) => s.linux.namespaces.push({ type: 'time' });
  it('accepts monotonic and boottime with a new time namespace', () => {
    const t = check((s) => { withTime(s); s.linux.timeOffsets = { monotonic: { secs: -5, nanosecs: 10 }, boottime: { secs: 3600 } }; });
    assert.deepEqual(t.linux?.timeOffsets, { monotonic: { secs: -5, nanosecs: 10 }, boottime: { secs: 3600 } });
  });
  it('rejects other clocks, bad values and missing namespaces', () => {
    rejects((s) => { withTime(s); s.linux.timeOffsets = { realtime: { secs: 1 } }; }, 'linux.timeOffsets.realtime', 'unknown clock "realtime" (expected one of: monotonic, boottime)');
    rejects((s) => { withTime(s); s.linux.timeOffsets = { boottime: { nanosecs: 1e9 } }; }, 'linux.timeOffsets.boottime.nanosecs', /between 0 and 999999999/);
    rejects((s) => { withTime(s); s.linux.timeOffsets = { boottime: { secs: '1' } }; }, 'linux.timeOffsets.boottime.secs', /integer/);
    rejects((s) => (s.linux.timeOffsets = { monotonic: { secs: 1 } }), 'linux.timeOffsets', /requires a time namespace/);
    rejects(
      (s) => { s.linux.namespaces.push({ type: 'time', path: '/proc/1/ns/time' }); s.linux.timeOffsets = { monotonic: { secs: 1 } }; },
      'linux.timeOffsets',
      /cannot be set when joining an existing time namespace \(linux\.namespaces\[3\]\.path\)/,
    );
  });
});

describe('linux.devices', () => {
  it('accepts c, b, u and p devices', () => {
    const devs = [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
      { path: '/dev/sda', type: 'b', major: 8, minor: 0 },
      { path: '/dev/u', type: 'u', major: 1, minor: 3 },
      { path: '/dev/fifo', type: 'p' },
      { path: '/opt/outside-dev', type: 'c', major: 1, minor: 5 },
    ];
    assert.deepEqual(check((s) => (s.linux.devices = devs)).linux?.devices, devs);
  });
  it('rejects bad devices', () => {
    const d = (x: object) => (s: any) => (s.linux.devices = [{ path: '/dev/x', type: 'c', major: 1, minor: 1, ...x }]);
    rejects(d({ type: 'x' }), 'linux.devices[0].type', 'unknown device type "x" (expected one of: c, b, u, p)');
    rejects(d({ path: 'dev/x' }), 'linux.devices[0].path', /must be an absolute path/);
    rejects(d({ major: undefined }), 'linux.devices[0].major', 'is required for device type "c"');
    rejects(d({ type: 'b', minor: null }), 'linux.devices[0].minor', 'is required for device type "b"');
    rejects(d({ major: 1.5 }), 'linux.devices[0].major', /integer/);
    rejects(d({ fileMode: '0666' }), 'linux.devices[0].fileMode', /integer/);
    rejects(d({ uid: -1 }), 'linux.devices[0].uid', /between 0 and 4294967295/);
  });
});

describe('linux: misc fields', () => {
  it('sysctl values are strings', () => {
    assert.deepEqual(check((s) => (s.linux.sysctl = { 'net.ipv4.ip_forward': '1' })).linux?.sysctl, { 'net.ipv4.ip_forward': '1' });
    rejects((s) => (s.linux.sysctl = { 'net.core.somaxconn': 256 }), 'linux.sysctl["net.core.somaxconn"]', 'must be a string (got 256)');
  });

  it('rootfsPropagation', () => {
    for (const p of ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']) {
      assert.equal(check((s) => (s.linux.rootfsPropagation = p)).linux?.rootfsPropagation, p);
    }
    assert.equal(check((s) => (s.linux.rootfsPropagation = '')).linux?.rootfsPropagation, undefined);
    rejects((s) => (s.linux.rootfsPropagation = 'slaves'), 'linux.rootfsPropagation', /^unknown rootfs propagation "slaves" \(expected one of: private, rprivate/);
  });

  it('maskedPaths and readonlyPaths are absolute', () => {
    const l = check((s) => { s.linux.maskedPaths = ['/proc/kcore']; s.linux.readonlyPaths = ['/proc/sys']; }).linux!;
    assert.deepEqual([l.maskedPaths, l.readonlyPaths], [['/proc/kcore'], ['/proc/sys']]);
    rejects((s) => (s.linux.maskedPaths = ['/proc/kcore', 'proc/keys']), 'linux.maskedPaths[1]', /must be an absolute path/);
    rejects((s) => (s.linux.readonlyPaths = [3]), 'linux.readonlyPaths[0]', 'must be a string (got 3)');
  });

  it('string fields, personality and intelRdt', () => {
    const l = check((s) => Object.assign(s.linux, {
      cgroupsPath: 'system.slice:berth:abc', mountLabel: 'system_u:object_r:x:s0',
      personality: { domain: 'LINUX32' }, intelRdt: { closID: 'g', l3CacheSchema: 'L3:0=7f0', memBwSchema: 'MB:0=20', enableCMT: true },
    })).linux!;
    assert.equal(l.cgroupsPath, 'system.slice:berth:abc');
    assert.deepEqual(l.personality, { domain: 'LINUX32' });
    rejects((s) => (s.linux.cgroupsPath = 1), 'linux.cgroupsPath', /must be a string/);
    rejects((s) => (s.linux.personality = { domain: 'BSD' }), 'linux.personality.domain', /unknown personality domain "BSD"/);
    rejects((s) => (s.linux.intelRdt = { memBwSchema: 'L3:0=1' }), 'linux.intelRdt.memBwSchema', /must start with "MB:"/);
    rejects((s) => (s.linux.intelRdt = { closID: '../x' }), 'linux.intelRdt.closID', /plain directory name/);
    rejects((s) => (s.linux = []), 'linux', 'must be an object (got an array)');
  });
});

describe('linux.seccomp', () => {
  const base = {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'], listenerPath: '/run/agent.sock', listenerMetadata: 'm',
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 4294967295, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['mount'], action: 'SCMP_ACT_NOTIFY' },
    ],
  };
  const sc = (x: object) => (s: any) => (s.linux.seccomp = { ...structuredClone(base), ...x });
  const rule = (x: object) => sc({ syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', ...x }] });

  it('accepts a full profile', () => {
    assert.deepEqual(check(sc({})).linux?.seccomp, base);
  });

  it('rejects bad profiles', () => {
    rejects(sc({ defaultAction: undefined }), 'linux.seccomp.defaultAction', 'is required');
    rejects(sc({ defaultAction: 'SCMP_ACT_NOPE' }), 'linux.seccomp.defaultAction', /^unknown seccomp action "SCMP_ACT_NOPE" \(expected one of: SCMP_ACT_KILL,/);
    rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW' }), 'linux.seccomp.defaultErrnoRet', /only be used when defaultAction is SCMP_ACT_ERRNO or SCMP_ACT_TRACE \(it is SCMP_ACT_ALLOW\)/);
    rejects(sc({ architectures: ['x86_64'] }), 'linux.seccomp.architectures[0]', /unknown architecture "x86_64"/);
    rejects(sc({ flags: ['LOG'] }), 'linux.seccomp.flags[0]', /unknown seccomp flag "LOG"/);
    rejects(sc({ listenerPath: undefined }), 'linux.seccomp.listenerMetadata', 'must not be set without listenerPath');
    rejects(rule({ names: [] }), 'linux.seccomp.syscalls[0].names', 'must be a non-empty array of strings');
    rejects(rule({ names: ['read', 7] }), 'linux.seccomp.syscalls[0].names[1]', 'must be a string (got 7)');
    rejects(rule({ action: undefined }), 'linux.seccomp.syscalls[0].action', 'is required');
    rejects(rule({ errnoRet: 1 }), 'linux.seccomp.syscalls[0].errnoRet', /only be used when action is/);
    rejects(rule({ action: 'SCMP_ACT_ERRNO', errnoRet: -1 }), 'linux.seccomp.syscalls[0].errnoRet', /between 0 and 65535/);
    const arg = (x: object) => rule({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ', ...x }] });
    rejects(arg({ index: 6 }), 'linux.seccomp.syscalls[0].args[0].index', /between 0 and 5/);
    rejects(arg({ value: -1 }), 'linux.seccomp.syscalls[0].args[0].value', /between 0 and 18446744073709551615/);
    rejects(arg({ op: 'EQ' }), 'linux.seccomp.syscalls[0].args[0].op', /unknown operator "EQ"/);
    rejects(arg({ op: undefined }), 'linux.seccomp.syscalls[0].args[0].op', 'is required');
  });
});
