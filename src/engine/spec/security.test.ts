// Capabilities (CapAdd/CapDrop/ALL), SecurityOpt (no-new-privileges, seccomp, apparmor,
// label), seccomp profile choice, and stop signals.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../runtime/spec/docker-defaults';
import { dockerDefaultProfile } from '../../runtime/seccomp/default-profile';
import { currentCapabilities, KNOWN_CAPABILITIES } from './capabilities';
import { parseSignal } from './signal';
import { HELD, HOST, build, refuses } from './testing';

const caps = (CapAdd: string[] | null, CapDrop: string[] | null) => build({ hostConfig: { CapAdd, CapDrop } }).spec.process!.capabilities!;
const DEFAULTS = [...DOCKER_DEFAULT_CAPABILITIES];

describe('capabilities', () => {
  const cases: [string, string[] | null, string[] | null, string[]][] = [
    ['defaults', null, null, DEFAULTS],
    ['add, with or without CAP_, any case', ['sys_admin', 'CAP_NET_ADMIN', 'Sys_Ptrace'], null, [...DEFAULTS, 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE']],
    ['drop', null, ['chown', 'CAP_KILL'], DEFAULTS.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL')],
    ['drop ALL + add NET_RAW', ['NET_RAW'], ['ALL'], ['CAP_NET_RAW']],
    ['drop all (lower case)', null, ['all'], []],
    ['add ALL: everything held', ['ALL'], null, HELD],
    ['add ALL minus drops', ['ALL'], ['SYS_ADMIN'], HELD.filter((c) => c !== 'CAP_SYS_ADMIN')],
    ['adding a default again keeps one', ['CHOWN'], null, DEFAULTS],
  ];
  for (const [name, add, drop, want] of cases) {
    test(name, () => {
      const c = caps(add, drop);
      assert.deepEqual(c.bounding, want);
      assert.deepEqual(c.effective, want);
      assert.deepEqual(c.permitted, want);
      assert.equal(c.inheritable, undefined);
      assert.equal(c.ambient, undefined);
    });
  }
  test('unknown and unavailable capabilities are refused by name', () => {
    refuses({ hostConfig: { CapAdd: ['FLY'] } }, 'invalid CapAdd: unknown capability: "CAP_FLY"');
    refuses({ hostConfig: { CapDrop: ['CAP_NOPE'] } }, 'invalid CapDrop: unknown capability: "CAP_NOPE"');
    refuses({ hostConfig: { CapAdd: ['SYS_RESOURCE'] } }, 'capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"');
  });
  test('the held set is read from /proc/self/status by default', () => {
    const held = currentCapabilities('Name:\tx\nCapEff:\t0000000000002001\n');
    assert.deepEqual(held, ['CAP_CHOWN', 'CAP_NET_RAW']);
    assert.ok(KNOWN_CAPABILITIES.length >= 41);
  });
  test('the seccomp profile follows the capabilities (CAP_SYS_ADMIN allows mount etc.)', () => {
    const plain = build().spec.linux!.seccomp!;
    const admin = build({ hostConfig: { CapAdd: ['SYS_ADMIN'] } }).spec.linux!.seccomp!;
    const names = (s: typeof plain) => new Set(s.syscalls!.flatMap((x) => x.names));
    assert.ok(!names(plain).has('mount'));
    assert.ok(names(admin).has('mount'));
    assert.deepEqual(plain, dockerDefaultProfile({ capabilities: DEFAULTS, kernelRelease: HOST.kernelRelease }));
  });
});

describe('SecurityOpt', () => {
  const nnp = (SecurityOpt: string[], defaultNoNewPrivileges?: boolean) =>
    build({ hostConfig: { SecurityOpt }, ...(defaultNoNewPrivileges !== undefined ? { defaultNoNewPrivileges } : {}) }).spec.process!.noNewPrivileges;
  test('no-new-privileges forms', () => {
    assert.equal(nnp(['no-new-privileges']), true);
    assert.equal(nnp(['no-new-privileges=true']), true);
    assert.equal(nnp(['no-new-privileges:true']), true);
    assert.equal(nnp(['no-new-privileges=1']), true);
    assert.equal(nnp(['no-new-privileges=false']), undefined);
    assert.equal(nnp([], true), true);
    assert.equal(nnp(['no-new-privileges=false'], true), undefined);
    refuses({ hostConfig: { SecurityOpt: ['no-new-privileges=maybe'] } }, 'invalid --security-opt 2: "no-new-privileges=maybe"');
  });
  test('the ":" separator works with a deprecation warning', () => {
    const r = build({ hostConfig: { SecurityOpt: ['seccomp:unconfined'] } });
    assert.equal(r.spec.linux!.seccomp, undefined);
    assert.ok(r.warnings.some((w) => w.includes('deprecated')));
  });
  test('seccomp=unconfined: no filter', () => {
    assert.equal(build({ hostConfig: { SecurityOpt: ['seccomp=unconfined'] } }).spec.linux!.seccomp, undefined);
  });
  test('apparmor=unconfined and label=disable are no-ops; other LSM options are refused', () => {
    const r = build({ hostConfig: { SecurityOpt: ['apparmor=unconfined', 'label=disable', 'label:disable', 'disable'] } });
    assert.equal(r.spec.process!.apparmorProfile, undefined);
    assert.equal(r.spec.process!.selinuxLabel, undefined);
    refuses({ hostConfig: { SecurityOpt: ['apparmor=docker-default'] } }, /AppArmor profiles are not supported: this host has no AppArmor/);
    refuses({ hostConfig: { SecurityOpt: ['label=type:svirt_t'] } }, /SELinux labels are not supported/);
    refuses({ hostConfig: { SecurityOpt: ['label=level:s0:c1'] } }, /SELinux/);
  });
  test('malformed and unknown options', () => {
    refuses({ hostConfig: { SecurityOpt: ['bogus'] } }, 'invalid --security-opt 1: "bogus"');
    refuses({ hostConfig: { SecurityOpt: ['foo=bar'] } }, 'invalid --security-opt 2: "foo=bar"');
    refuses({ hostConfig: { SecurityOpt: ['seccomp='] } }, /seccomp= needs/);
  });
});

describe('custom seccomp profiles (the CLI sends the file content)', () => {
  const profile = (p: object) => build({ hostConfig: { SecurityOpt: [`seccomp=${JSON.stringify(p)}`] } }).spec.linux!.seccomp;
  test('a small profile, expanded with archMap, includes/excludes and name/names', () => {
    const s = profile({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: [] }],
      syscalls: [
        { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
        { name: 'getpid', action: 'SCMP_ACT_ALLOW' },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_KILL'] } },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
      ],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
    });
    assert.deepEqual(s, {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
      ],
    });
  });
  test('"architectures" instead of archMap; empty profile means no filter', () => {
    assert.deepEqual(profile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'] })!.architectures, ['SCMP_ARCH_X86_64']);
    assert.equal(profile({}), undefined);
  });
  test('bad profiles are request errors naming the problem', () => {
    refuses({ hostConfig: { SecurityOpt: ['seccomp=/etc/profile.json'] } }, /not valid JSON/);
    refuses({ hostConfig: { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}'] } }, /use either 'architectures' or 'archMap'/);
    refuses({ hostConfig: { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_FLY"}'] } }, /seccomp profile: defaultAction/);
    refuses({ hostConfig: { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}'] } }, /use either 'name' or 'names'/);
  });
  test('seccomp=builtin: the default profile', () => {
    assert.equal(build({ hostConfig: { SecurityOpt: ['seccomp=builtin'] } }).spec.linux!.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  });
});

describe('stop signal', () => {
  const cases: [string, number][] = [['SIGTERM', 15], ['TERM', 15], ['term', 15], ['15', 15], ['SIGKILL', 9], ['SIGRTMIN+3', 37], ['RTMAX', 64], ['SIGWINCH', 28], ['64', 64]];
  for (const [s, n] of cases) test(`${s} -> ${n}`, () => assert.equal(parseSignal(s), n));
  for (const bad of ['0', '65', 'SIGFOO', '', '-1', 'SIG']) {
    test(`refused: ${JSON.stringify(bad)}`, () => assert.throws(() => parseSignal(bad), /Invalid signal/));
  }
  test('Config.StopSignal is validated, and otherwise not in the spec', () => {
    const r = build({ config: { StopSignal: 'SIGUSR1' } });
    assert.ok(!JSON.stringify(r.spec, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('SIGUSR1'));
    refuses({ config: { StopSignal: 'SIGNOPE' } }, 'Invalid signal: SIGNOPE');
  });
});
