// Namespace modes (network, ipc, pid, uts, cgroup, user) and the sysctls they allow.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import type { LinuxNamespace } from '../../runtime/spec/types';
import type { HostConfig } from './docker-types';
import { build, refuses, type Opts } from './testing';

const nss = (hostConfig: HostConfig, o: Opts = {}): LinuxNamespace[] => build({ ...o, hostConfig }).spec.linux!.namespaces!;
const types = (n: LinuxNamespace[]) => n.map((x) => (x.path ? `${x.type}=${x.path}` : x.type));

describe('namespace modes', () => {
  const cases: [string, HostConfig, string[]][] = [
    ['default', {}, ['mount', 'network', 'time', 'uts', 'pid', 'ipc']],
    ['NetworkMode none', { NetworkMode: 'none' }, ['mount', 'network', 'time', 'uts', 'pid', 'ipc']],
    ['NetworkMode host', { NetworkMode: 'host' }, ['mount', 'time', 'uts', 'pid', 'ipc']],
    ['NetworkMode container:web', { NetworkMode: 'container:web' }, ['mount', 'network=/proc/4242/ns/net', 'time', 'uts', 'pid', 'ipc']],
    ['NetworkMode container:<id>', { NetworkMode: `container:${'f'.repeat(64)}` }, ['mount', 'network=/proc/4242/ns/net', 'time', 'uts', 'pid', 'ipc']],
    ['PidMode host', { PidMode: 'host' }, ['mount', 'network', 'time', 'uts', 'ipc']],
    ['PidMode container:web', { PidMode: 'container:web' }, ['mount', 'network', 'time', 'uts', 'pid=/proc/4242/ns/pid', 'ipc']],
    ['IpcMode host', { IpcMode: 'host' }, ['mount', 'network', 'time', 'uts', 'pid']],
    ['IpcMode none / private / shareable', { IpcMode: 'none' }, ['mount', 'network', 'time', 'uts', 'pid', 'ipc']],
    ['UTSMode host', { UTSMode: 'host' }, ['mount', 'network', 'time', 'pid', 'ipc']],
    ['CgroupnsMode private (v1)', { CgroupnsMode: 'private' }, ['mount', 'network', 'time', 'uts', 'pid', 'ipc', 'cgroup']],
    ['UsernsMode host', { UsernsMode: 'host' }, ['mount', 'network', 'time', 'uts', 'pid', 'ipc']],
    ['all host', { NetworkMode: 'host', PidMode: 'host', IpcMode: 'host', UTSMode: 'host', CgroupnsMode: 'host' }, ['mount', 'time']],
  ];
  for (const [name, hc, want] of cases) test(name, () => assert.deepEqual(types(nss(hc)), want));
  test('cgroup v2: a private cgroup namespace by default; CgroupnsMode host and the daemon default override', () => {
    const v2 = { host: { cgroupV2: true } };
    assert.ok(nss({}, v2).some((n) => n.type === 'cgroup'));
    assert.ok(!nss({ CgroupnsMode: 'host' }, v2).some((n) => n.type === 'cgroup'));
    assert.ok(!nss({}, { ...v2, defaultCgroupnsMode: 'host' }).some((n) => n.type === 'cgroup'));
  });
  test('no time namespace on a kernel without it', () => {
    assert.ok(!nss({}, { host: { timeNamespace: false } }).some((n) => n.type === 'time'));
  });
  test('NetworkDisabled keeps a private network namespace whatever the mode', () => {
    const r = build({ config: { NetworkDisabled: true }, hostConfig: { NetworkMode: 'host' } });
    assert.ok(r.spec.linux!.namespaces!.some((n) => n.type === 'network' && !n.path));
  });
  test('warnings: bridge is loopback-only for now; host drops published ports', () => {
    for (const NetworkMode of ['', 'bridge', 'default']) {
      assert.ok(build({ hostConfig: { NetworkMode } }).warnings.some((w) => w.includes('bridge network is not implemented yet')), NetworkMode);
    }
    assert.ok(!build({ hostConfig: { NetworkMode: 'none' } }).warnings.some((w) => w.includes('bridge')));
    const h = build({ hostConfig: { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } });
    assert.ok(h.warnings.includes('Published ports are discarded when using host network mode'));
  });
  test("with --network host the hostname is the host's", () => {
    assert.equal(build({ hostConfig: { NetworkMode: 'host' } }).spec.hostname, os.hostname());
  });
  const refusals: [string, HostConfig, RegExp | string][] = [
    ['unknown container', { NetworkMode: 'container:ghost' }, 'No such container: ghost'],
    ['stopped container', { PidMode: 'container:stopped' }, /is not running/],
    ['container: without a name', { NetworkMode: 'container:' }, 'invalid container format container:<name|id>'],
    ['user-defined network', { NetworkMode: 'mynet' }, 'network "mynet" not found'],
    ['ipc mode', { IpcMode: 'bogus' }, 'invalid IPC mode: bogus'],
    ['ipc container:', { IpcMode: 'container:' }, 'invalid IPC mode: container:'],
    ['pid mode', { PidMode: 'private' }, 'invalid PID mode: private'],
    ['uts mode', { UTSMode: 'private' }, 'invalid UTS mode: private'],
    ['cgroupns mode', { CgroupnsMode: 'shared' }, 'invalid cgroup namespace mode: shared'],
    ['userns remap', { UsernsMode: 'private' }, /UsernsMode "private": not supported.*userns-remap/],
    ['links with host network', { NetworkMode: 'host', Links: ['a:b'] }, "host type networking can't be used with links"],
    ['dns with container network', { NetworkMode: 'container:web', Dns: ['1.1.1.1'] }, 'conflicting options: dns and the network mode'],
    ['ports with container network', { NetworkMode: 'container:web', PortBindings: { '80/tcp': [] } }, 'port publishing and the container type network mode'],
    ['extra hosts with container network', { NetworkMode: 'container:web', ExtraHosts: ['a:1.2.3.4'] }, 'custom host-to-IP mapping'],
  ];
  for (const [name, hc, msg] of refusals) test(`refused: ${name}`, () => void refuses({ hostConfig: hc }, msg));
  test('refused: exposing ports with a container network', () => {
    refuses({ config: { ExposedPorts: { '80/tcp': {} } }, hostConfig: { NetworkMode: 'container:web' } }, 'port exposing and the container type network mode');
  });
});

describe('sysctls', () => {
  const sysctl = (o: Opts) => build(o).spec.linux!.sysctl;
  test("a private network gets Docker's two defaults, only where the kernel has them", () => {
    assert.deepEqual(sysctl({}), { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' });
    assert.deepEqual(sysctl({ hasSysctl: (n) => n.endsWith('port_start') }), { 'net.ipv4.ip_unprivileged_port_start': '0' });
    assert.equal(sysctl({ hostConfig: { NetworkMode: 'host' } }), undefined);
    assert.deepEqual(sysctl({ hostConfig: { NetworkMode: 'container:web' } }), { 'kernel.domainname': 'example.org' });
  });
  test('namespaced sysctls are accepted and override the defaults', () => {
    const s = sysctl({
      hostConfig: {
        Sysctls: {
          'net.ipv4.ip_unprivileged_port_start': '1024', 'net.core.somaxconn': '1024', 'kernel.shmmax': '1000000',
          'kernel.msgmax': '8192', 'kernel.sem': '250 32000 100 128', 'fs.mqueue.msg_max': '20', 'kernel.domainname': 'x.org',
          'net/ipv4/tcp_syncookies': '0',
        },
      },
    })!;
    assert.equal(s['net.ipv4.ip_unprivileged_port_start'], '1024');
    assert.equal(s['kernel.shmmax'], '1000000');
    assert.equal(s['net/ipv4/tcp_syncookies'], '0');
  });
  test("net.* in another container's network namespace is fine", () => {
    assert.deepEqual(sysctl({ hostConfig: { NetworkMode: 'container:web', Sysctls: { 'net.core.somaxconn': '1' } } }), {
      'kernel.domainname': 'example.org', 'net.core.somaxconn': '1',
    });
  });
  const refusals: [HostConfig, RegExp | string][] = [
    [{ Sysctls: { 'vm.swappiness': '10' } }, 'sysctl "vm.swappiness" is not in a separate kernel namespace'],
    [{ Sysctls: { 'kernel.pid_max': '100' } }, 'sysctl "kernel.pid_max" is not in a separate kernel namespace'],
    [{ Sysctls: { 'kernel.hostname': 'x' } }, 'conflicts with the OCI "hostname" field'],
    [{ NetworkMode: 'host', Sysctls: { 'net.core.somaxconn': '1' } }, 'not allowed in host network namespace'],
    [{ IpcMode: 'host', Sysctls: { 'kernel.shmmax': '1' } }, 'is not allowed in the hosts ipc namespace'],
    [{ UTSMode: 'host', Sysctls: { 'kernel.domainname': 'x' } }, 'is not in a separate kernel namespace'],
  ];
  for (const [hc, msg] of refusals) test(`refused: ${JSON.stringify(hc)}`, () => void refuses({ hostConfig: hc }, msg));
});
