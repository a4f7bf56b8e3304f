// buildContainerSpec: the Config/image merge, hostname, init, privileged, masked paths,
// namespaces and sysctls, annotations, cgroups path and the create-time refusals.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DOCKER_DEFAULT_CAPABILITIES, DOCKER_READONLY_PATHS } from '../../runtime/spec/docker-defaults';
import { parseSpec, stringifySpec } from '../../runtime/spec/validate';
import { ID, HELD, build, mountAt, refuses, type Opts } from './testing';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe('command: Entrypoint and Cmd (moby merge + getEntrypointAndArgs)', () => {
  const cases: { name: string; image: { Entrypoint?: string[]; Cmd?: string[] }; config: Record<string, unknown>; args: string[] }[] = [
    { name: 'image cmd alone', image: { Cmd: ['sh', '-c', 'x'] }, config: {}, args: ['sh', '-c', 'x'] },
    { name: 'request cmd replaces the image cmd', image: { Cmd: ['sh'] }, config: { Cmd: ['ls', '-l'] }, args: ['ls', '-l'] },
    { name: 'image entrypoint + image cmd', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: {}, args: ['/ep', 'a'] },
    { name: 'image entrypoint + request cmd', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Cmd: ['b'] }, args: ['/ep', 'b'] },
    { name: 'request entrypoint drops the image cmd', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Entrypoint: ['/x'] }, args: ['/x'] },
    { name: 'request entrypoint + request cmd', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Entrypoint: ['/x', '-v'], Cmd: ['b'] }, args: ['/x', '-v', 'b'] },
    { name: '--entrypoint "" clears it, request cmd runs', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Entrypoint: [''], Cmd: ['b'] }, args: ['b'] },
    { name: 'Entrypoint [] clears it, image cmd kept', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Entrypoint: [] }, args: ['a'] },
    { name: 'null fields are absent', image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Entrypoint: null, Cmd: null }, args: ['/ep', 'a'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = build({ image: c.image, config: c.config });
      assert.deepEqual(r.spec.process!.args, c.args);
    });
  }
  test('no command anywhere is refused', () => {
    refuses({ image: {} }, /no command specified/);
    refuses({ image: { Entrypoint: ['/ep'], Cmd: ['a'] }, config: { Entrypoint: [''] } }, /no command specified/);
  });
});

describe('environment (merge, CreateDaemonEnvironment)', () => {
  const cases: { name: string; image?: string[]; request?: string[]; tty?: boolean; env: string[] }[] = [
    { name: 'defaults: PATH and HOSTNAME', image: [], env: [DEFAULT_PATH, `HOSTNAME=${ID.slice(0, 12)}`] },
    { name: 'TERM with a tty', image: [], tty: true, env: [DEFAULT_PATH, `HOSTNAME=${ID.slice(0, 12)}`, 'TERM=xterm'] },
    { name: "the image's PATH replaces the default in place", image: ['PATH=/bin', 'A=1'], env: ['PATH=/bin', `HOSTNAME=${ID.slice(0, 12)}`, 'A=1'] },
    {
      name: 'request first, then image variables it does not set',
      image: ['PATH=/bin', 'A=1', 'B=2'],
      request: ['B=req', 'C=3'],
      env: ['PATH=/bin', `HOSTNAME=${ID.slice(0, 12)}`, 'B=req', 'C=3', 'A=1'],
    },
    { name: 'request overrides HOSTNAME and TERM', image: [], tty: true, request: ['HOSTNAME=h', 'TERM=dumb'], env: [DEFAULT_PATH, 'HOSTNAME=h', 'TERM=dumb'] },
    { name: 'a name without "=" unsets', image: ['A=1'], request: ['A', 'PATH'], env: [`HOSTNAME=${ID.slice(0, 12)}`] },
    { name: 'empty values stay', image: [], request: ['E='], env: [DEFAULT_PATH, `HOSTNAME=${ID.slice(0, 12)}`, 'E='] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = build({ image: { Cmd: ['sh'], Env: c.image ?? [] }, config: { Env: c.request ?? null, Tty: c.tty ?? false } });
      assert.deepEqual(r.spec.process!.env, c.env);
    });
  }
  test('a variable without a name is refused', () => {
    refuses({ config: { Env: ['=x'] } }, 'invalid environment variable: =x');
  });
  test('NUL in a value is refused by the runtime validator, as a request error', () => {
    refuses({ config: { Env: ['A=a\0b'] } }, /Config\.Env/);
  });
});

describe('working directory', () => {
  const cases: [string | undefined, string | undefined, string][] = [
    [undefined, undefined, '/'],
    [undefined, '/srv', '/srv'],
    ['/work/', '/srv', '/work'],
    ['/a/../b/./c', undefined, '/b/c'],
  ];
  for (const [req, img, want] of cases) {
    test(`request ${req} image ${img} -> ${want}`, () => {
      const image = { Cmd: ['sh'], ...(img ? { WorkingDir: img } : {}) };
      assert.equal(build({ image, config: req ? { WorkingDir: req } : {} }).spec.process!.cwd, want);
    });
  }
  test('relative is refused', () => {
    refuses({ config: { WorkingDir: 'app' } }, "the working directory 'app' is invalid, it needs to be an absolute path");
    refuses({ image: { Cmd: ['sh'], WorkingDir: 'app' } }, /image's WorkingDir/);
  });
});

describe('hostname and domainname', () => {
  test('default: the short id, in spec and env', () => {
    const r = build();
    assert.equal(r.spec.hostname, ID.slice(0, 12));
  });
  test('Config.Hostname', () => {
    const r = build({ config: { Hostname: 'web1' } });
    assert.equal(r.spec.hostname, 'web1');
    assert.ok(r.spec.process!.env!.includes('HOSTNAME=web1'));
  });
  test('the engine-given default', () => {
    assert.equal(build({ hostname: 'given' }).spec.hostname, 'given');
  });
  test('longer than 64 bytes is refused', () => {
    refuses({ config: { Hostname: 'h'.repeat(65) } }, 'is too long (maximum 64 bytes)');
  });
  test('Domainname becomes the kernel.domainname sysctl (as moby does)', () => {
    const r = build({ config: { Domainname: 'example.com' } });
    assert.equal(r.spec.linux!.sysctl!['kernel.domainname'], 'example.com');
    assert.equal(r.spec.domainname, undefined);
  });
  test('UTSMode host: no uts namespace, no spec hostname; with a hostname it conflicts', () => {
    const r = build({ hostConfig: { UTSMode: 'host' } });
    assert.equal(r.spec.hostname, undefined);
    assert.ok(!r.spec.linux!.namespaces!.some((n) => n.type === 'uts'));
    refuses({ config: { Hostname: 'x' }, hostConfig: { UTSMode: 'host' } }, 'conflicting options: hostname and the UTS mode');
    refuses({ config: { Domainname: 'x.org' }, hostConfig: { UTSMode: 'host' } }, /Domainname/);
  });
  test("NetworkMode container:X takes X's hostname and domainname; its own is a conflict", () => {
    const r = build({ hostConfig: { NetworkMode: 'container:web' } });
    assert.equal(r.spec.hostname, 'webhost');
    assert.equal(r.spec.linux!.sysctl!['kernel.domainname'], 'example.org');
    refuses({ config: { Hostname: 'x' }, hostConfig: { NetworkMode: 'container:web' } }, 'conflicting options: hostname and the network mode');
  });
});

describe('init', () => {
  test('Init: docker-init runs the command, bound read-only from initPath', () => {
    const r = build({ hostConfig: { Init: true }, initPath: '/bin/sh' });
    assert.deepEqual(r.spec.process!.args, ['/sbin/docker-init', '--', 'sh']);
    assert.deepEqual(mountAt(r, '/sbin/docker-init'), {
      destination: '/sbin/docker-init', type: 'bind', source: '/bin/sh', options: ['bind', 'ro'],
    });
  });
  test("no init in the host's or another container's pid namespace", () => {
    for (const PidMode of ['host', 'container:web']) {
      const r = build({ hostConfig: { Init: true, PidMode }, initPath: '/bin/sh' });
      assert.deepEqual(r.spec.process!.args, ['sh']);
    }
  });
  test("the daemon's default applies when Init is null; Init false wins", () => {
    assert.equal(build({ defaultInit: true, initPath: '/bin/sh' }).spec.process!.args[0], '/sbin/docker-init');
    assert.equal(build({ defaultInit: true, initPath: '/bin/sh', hostConfig: { Init: false } }).spec.process!.args[0], 'sh');
  });
  test('without an init binary Init is refused; a configured one that is missing is a server error', () => {
    refuses({ hostConfig: { Init: true } }, /HostConfig\.Init/);
    assert.throws(() => build({ hostConfig: { Init: true }, initPath: '/nonexistent/berth-init' }), (e: Error) => e.name === 'Error' && /does not exist/.test(e.message));
  });
});

describe('defaults of a plain container', () => {
  const r = build();
  const s = r.spec;
  test("Docker's capabilities, no inheritable/ambient", () => {
    assert.deepEqual(s.process!.capabilities, {
      bounding: [...DOCKER_DEFAULT_CAPABILITIES], effective: [...DOCKER_DEFAULT_CAPABILITIES], permitted: [...DOCKER_DEFAULT_CAPABILITIES],
    });
  });
  test('namespaces in moby order (time on a kernel that has it; cgroup host on v1)', () => {
    assert.deepEqual(s.linux!.namespaces!.map((n) => n.type), ['mount', 'network', 'time', 'uts', 'pid', 'ipc']);
  });
  test('cgroupsPath below /berth; oom_score_adj 0; root writable', () => {
    assert.equal(s.linux!.cgroupsPath, `/berth/${ID}`);
    assert.equal(s.process!.oomScoreAdj, 0);
    assert.equal(s.root!.readonly, undefined);
  });
  test('masked and read-only paths', () => {
    assert.ok(s.linux!.maskedPaths!.includes('/proc/kcore'));
    assert.ok(s.linux!.maskedPaths!.includes('/sys/firmware'));
    assert.deepEqual(s.linux!.readonlyPaths, [...DOCKER_READONLY_PATHS]);
  });
  test("the default seccomp profile, Docker's device rules, the network sysctls", () => {
    assert.equal(s.linux!.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(s.linux!.resources!.devices![0]!.allow, false);
    assert.deepEqual(s.linux!.sysctl, { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' });
  });
  test('the bridge network is a warning', () => {
    assert.ok(r.warnings.some((w) => w.includes('bridge network is not implemented yet')));
  });
  test('the spec survives the runtime parsing its own JSON', () => {
    assert.deepEqual(parseSpec(stringifySpec(s), 'config.json', { requireProcess: true }), s);
  });
  test('no terminal, no rlimits, no noNewPrivileges by default', () => {
    assert.equal(s.process!.terminal, false);
    assert.equal(s.process!.rlimits, undefined);
    assert.equal(s.process!.noNewPrivileges, undefined);
  });
});

describe('privileged', () => {
  const r = build({ hostConfig: { Privileged: true }, hostDevDir: '/dev' });
  const s = r.spec;
  test('every capability berth holds, no seccomp, no masked or read-only paths', () => {
    assert.deepEqual(s.process!.capabilities!.bounding, HELD);
    assert.equal(s.linux!.seccomp, undefined);
    assert.deepEqual(s.linux!.maskedPaths, []);
    assert.deepEqual(s.linux!.readonlyPaths, []);
  });
  test('/sys and the cgroup mount writable; devices cgroup allows everything', () => {
    assert.ok(!mountAt(r, '/sys').options!.includes('ro'));
    assert.ok(!mountAt(r, '/sys/fs/cgroup').options!.includes('ro'));
    assert.deepEqual(s.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  });
  test("the host's devices (at least /dev/null and /dev/zero), never /dev/console or /dev/pts", () => {
    const paths = s.linux!.devices!.map((d) => d.path);
    assert.ok(paths.includes('/dev/null') && paths.includes('/dev/zero'), paths.join(' '));
    assert.ok(!paths.includes('/dev/console') && !paths.some((p) => p.startsWith('/dev/pts/')));
  });
  test('cgroup namespace: host on cgroup v1, private on v2', () => {
    assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'cgroup'));
    const v2 = build({ hostConfig: { Privileged: true }, host: { cgroupV2: true }, hostDevDir: '/dev' });
    assert.ok(v2.spec.linux!.namespaces!.some((n) => n.type === 'cgroup'));
  });
  test('an explicit seccomp profile still applies; explicit MaskedPaths too', () => {
    const p = build({ hostConfig: { Privileged: true, SecurityOpt: ['seccomp=builtin'], MaskedPaths: ['/proc/kcore'] }, hostDevDir: '/dev' });
    assert.equal(p.spec.linux!.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.deepEqual(p.spec.linux!.maskedPaths, ['/proc/kcore']);
  });
});

describe('masked and read-only paths from the request', () => {
  test('[] means none; null means the defaults', () => {
    const r = build({ hostConfig: { MaskedPaths: [], ReadonlyPaths: ['/proc/sys'] } });
    assert.deepEqual(r.spec.linux!.maskedPaths, []);
    assert.deepEqual(r.spec.linux!.readonlyPaths, ['/proc/sys']);
    assert.ok(build({ hostConfig: { MaskedPaths: null } }).spec.linux!.maskedPaths!.length >= 12);
  });
  test('relative paths are refused', () => {
    refuses({ hostConfig: { MaskedPaths: ['proc/kcore'] } }, 'HostConfig.MaskedPaths');
  });
});

describe('cgroups path, annotations, misc fields', () => {
  test('cgroupParent input and HostConfig.CgroupParent', () => {
    assert.equal(build({ cgroupParent: '/berth-test' }).spec.linux!.cgroupsPath, `/berth-test/${ID}`);
    assert.equal(build({ hostConfig: { CgroupParent: '/berth/group' } }).spec.linux!.cgroupsPath, `/berth/group/${ID}`);
    assert.equal(build({ hostConfig: { CgroupParent: 'group' } }).spec.linux!.cgroupsPath, `group/${ID}`);
    refuses({ hostConfig: { CgroupParent: '/system.slice/x' } }, /berth only manages cgroups/);
    refuses({ hostConfig: { CgroupParent: 'user.slice' } }, /systemd/);
  });
  test('annotations: the request\'s, then the engine\'s; berth\'s own prefix is reserved', () => {
    const r = build({ hostConfig: { Annotations: { a: '1', b: '2' } }, annotations: { b: 'engine', 'org.berth.x': 'y' } });
    assert.deepEqual(r.spec.annotations, { a: '1', b: 'engine', 'org.berth.x': 'y' });
    refuses({ hostConfig: { Annotations: { 'org.berth.rootfs.idmap': 'true' } } }, /reserved for berth/);
    refuses({ hostConfig: { Annotations: { '': 'x' } } }, /empty string is not permitted/);
  });
  test('Tty and ConsoleSize', () => {
    const r = build({ config: { Tty: true }, hostConfig: { ConsoleSize: [40, 120] } });
    assert.equal(r.spec.process!.terminal, true);
    assert.deepEqual(r.spec.process!.consoleSize, { height: 40, width: 120 });
  });
  test('OomScoreAdj in range', () => {
    assert.equal(build({ hostConfig: { OomScoreAdj: -500 } }).spec.process!.oomScoreAdj, -500);
    refuses({ hostConfig: { OomScoreAdj: 1001 } }, 'range for oom score adj is [-1000, 1000]');
  });
  test('ReadonlyRootfs', () => {
    assert.equal(build({ hostConfig: { ReadonlyRootfs: true } }).spec.root!.readonly, true);
  });
  const refusals: [string, Opts, RegExp | string][] = [
    ['StopSignal', { config: { StopSignal: 'SIGFOO' } }, 'Invalid signal: SIGFOO'],
    ['restart policy + AutoRemove', { hostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }, "can't create 'AutoRemove' container with restart policy"],
    ['unknown restart policy', { hostConfig: { RestartPolicy: { Name: 'sometimes' } } }, /invalid restart policy/],
    ['retry count without on-failure', { hostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } } }, /only be used with 'on-failure'/],
    ['isolation', { hostConfig: { Isolation: 'hyperv' } }, "linux only supports 'default'"],
    ['runtime', { hostConfig: { Runtime: 'kata' } }, 'unknown or invalid runtime name: kata'],
    ['healthcheck interval', { config: { Healthcheck: { Interval: 1000 } } }, 'Interval in Healthcheck cannot be less than 1ms'],
    ['negative ShmSize', { hostConfig: { ShmSize: -1 } }, 'SHM size can not be less than 0'],
    ['GPUs', { hostConfig: { DeviceRequests: [{ Driver: 'nvidia', Capabilities: [['gpu']] }] } }, /could not select device driver "nvidia"/],
    ['VolumesFrom', { hostConfig: { VolumesFrom: ['other'] } }, /VolumesFrom/],
    ['StorageOpt', { hostConfig: { StorageOpt: { size: '10G' } } }, /StorageOpt/],
  ];
  for (const [name, o, msg] of refusals) test(`refused: ${name}`, () => void refuses(o, msg));
  test('anonymous volumes of the image and the request are warnings', () => {
    const r = build({ image: { Cmd: ['sh'], Volumes: { '/data': {} } }, config: { Volumes: { '/cache': {} } } });
    assert.ok(r.warnings.some((w) => w.includes('"/data"')) && r.warnings.some((w) => w.includes('"/cache"')));
  });
  test('an id that is not 64 hex digits is a programming error, not a request error', () => {
    assert.throws(() => build({ id: 'abc' }), (e: Error) => e.name === 'Error' && /64 hex/.test(e.message));
  });
});
