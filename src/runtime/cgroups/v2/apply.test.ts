// V2CgroupManager.apply() against the fake cgroup2 kernel: the exact files and
// values each linux.resources field writes, the conversions, refusals and warnings.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxResources } from '../../spec/types';
import { resolveOptions } from '../common';
import { CgroupError } from '../manager';
import { V2CgroupManager } from './manager';
import { FakeV2Options, ROOT, fakeV2 } from './fake-v2';
import { sharesToWeight } from './cpu';
import { blkioToIoWeight } from './io';
import { swapMaxValue } from './memory';
import { decodeProgram, deviceFilterProgram } from './devices-bpf';
import { RUNC_DEFAULT_DEVICE_RULES } from './devices';
import { runProgram } from './bpf-interp';

const DIR = `${ROOT}/berth/c1`;
const ANY = /./;

function setup(o: FakeV2Options = {}) {
  const k = fakeV2(o);
  const warnings: string[] = [];
  const attached: [string, Buffer][] = [];
  const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs), {
    warn: (w) => warnings.push(w),
    attachDeviceFilter: async (d, p) => {
      attached.push([d, p]);
    },
  });
  m.create();
  k.fs.log.length = 0;
  /** Writes since create(), as [file name relative to DIR, value]. */
  const writes = (): [string, string][] => k.fs.writes().map(([f, d]) => [f.startsWith(DIR + '/') ? f.slice(DIR.length + 1) : f, d]);
  const read = (name: string): string => k.fs.readFile(`${DIR}/${name}`);
  return { k, m, warnings, attached, writes, read };
}

async function applied(r: LinuxResources, o: FakeV2Options = {}, update = false) {
  const s = setup(o);
  await s.m.apply(r, { update });
  return s;
}

/**
 * Asserts a CgroupError for `field` whose message matches `re`, and that nothing was written.
 * `ANY` where the shared pre-check (../check.ts, also run by apply()) refuses first: its wording is its own.
 */
async function refused(r: LinuxResources, field: string, re: RegExp, o: FakeV2Options = {}, update = false) {
  const s = setup(o);
  await assert.rejects(s.m.apply(r, { update }), (e: unknown) => {
    assert.ok(e instanceof CgroupError, `not a CgroupError: ${e}`);
    assert.equal(e.field, field);
    assert.match(e.message, re);
    return true;
  });
  assert.deepEqual(s.writes(), [], 'a refused apply must write nothing');
  return s;
}

describe('apply: nothing to do', () => {
  test('empty resources write nothing', async () => {
    const { writes, warnings } = await applied({});
    assert.deepEqual(writes(), []);
    assert.deepEqual(warnings, []);
  });
  test('zeros mean unset, as in runc', async () => {
    const { writes } = await applied({ memory: { limit: 0, reservation: 0, swap: 0 }, cpu: { shares: 0, quota: 0, period: 0, cpus: '', mems: '' }, blockIO: { weight: 0 } });
    assert.deepEqual(writes(), []);
  });
});

describe('memory', () => {
  test('limit, reservation, swap: exact files, runc order (swap.max, max, low)', async () => {
    const { writes } = await applied({ memory: { limit: 100 << 20, reservation: 50 << 20, swap: 150 << 20 } });
    assert.deepEqual(writes(), [
      ['memory.swap.max', String(50 << 20)],
      ['memory.max', String(100 << 20)],
      ['memory.low', String(50 << 20)],
    ]);
  });
  test('-1 is "max"; limit -1 alone also makes swap unlimited', async () => {
    const { writes } = await applied({ memory: { limit: -1, reservation: -1 } });
    assert.deepEqual(writes(), [['memory.swap.max', 'max'], ['memory.max', 'max'], ['memory.low', 'max']]);
  });
  test('swap == limit disables swap ("0")', async () => {
    const { writes } = await applied({ memory: { limit: 1 << 30, swap: 1 << 30 } });
    assert.deepEqual(writes(), [['memory.swap.max', '0'], ['memory.max', String(1 << 30)]]);
  });
  test('swap -1: unlimited swap', async () => {
    const { writes } = await applied({ memory: { limit: 1 << 30, swap: -1 } });
    assert.deepEqual(writes(), [['memory.swap.max', 'max'], ['memory.max', String(1 << 30)]]);
  });
  test('bigint values beyond 2^53 are written exactly', async () => {
    const { writes } = await applied({ memory: { limit: 2n ** 60n, swap: 2n ** 60n + 1n } });
    assert.deepEqual(writes(), [['memory.swap.max', '1'], ['memory.max', String(2n ** 60n)]]);
  });
  test('swap conversion table', () => {
    assert.equal(swapMaxValue(undefined, undefined), undefined);
    assert.equal(swapMaxValue(undefined, 100n), undefined);
    assert.equal(swapMaxValue(undefined, -1n), 'max');
    assert.equal(swapMaxValue(-1n, 100n), 'max');
    assert.equal(swapMaxValue(-1n, undefined), 'max');
    assert.equal(swapMaxValue(100n, 100n), '0');
    assert.equal(swapMaxValue(300n, 100n), '200');
    assert.throws(() => swapMaxValue(50n, 100n), /memory\+swap limit \(50\) must be at least the memory limit \(100\)/);
    assert.throws(() => swapMaxValue(50n, undefined), /needs a memory limit/);
    assert.throws(() => swapMaxValue(50n, -1n), /needs a memory limit/);
  });
  test('swap < limit is refused before anything is written', async () => {
    await refused({ memory: { limit: 200, swap: 100 }, pids: { limit: 5 } }, 'memory.swap', ANY);
  });
  test('swap alone is relative to the limit in force (update)', async () => {
    const s = setup();
    s.k.fs.seedFile(`${DIR}/memory.max`, String(64 << 20));
    await s.m.apply({ memory: { swap: 96 << 20 } }, { update: true });
    assert.deepEqual(s.writes(), [['memory.swap.max', String(32 << 20)]]);
  });
  test('swap without any memory limit is refused', async () => {
    await refused({ memory: { swap: 100 } }, 'memory.swap', /needs a memory limit/);
  });
  test('no swap accounting: "0"/"max" are no-ops, a real swap limit is refused', async () => {
    const { writes } = await applied({ memory: { limit: 1000, swap: 1000 } }, { noSwap: true });
    assert.deepEqual(writes(), [['memory.max', '1000']]);
    await refused({ memory: { limit: 1000, swap: 3000 } }, 'memory.swap', /swap accounting is not available/, { noSwap: true });
  });
  test('checkBeforeUpdate: refused at or below memory.current, only on update', async () => {
    const s = setup();
    s.k.fs.seedFile(`${DIR}/memory.current`, '5000');
    await assert.rejects(s.m.apply({ memory: { limit: 5000, checkBeforeUpdate: true } }, { update: true }), {
      message: 'linux.resources.memory.limit: memory limit (5000) is less than current usage (5000)',
    });
    assert.deepEqual(s.writes(), []);
    await s.m.apply({ memory: { limit: 5001, checkBeforeUpdate: true } }, { update: true });
    await s.m.apply({ memory: { limit: 10, checkBeforeUpdate: true } }); // create: not checked
    assert.deepEqual(s.writes(), [['memory.max', '5001'], ['memory.max', '10']]);
  });
  test('what v2 cannot do is ignored with a warning, never silently', async () => {
    const { writes, warnings } = await applied({ memory: { disableOOMKiller: true, swappiness: 0, kernel: 100, kernelTCP: 100, useHierarchy: false } });
    assert.deepEqual(writes(), []);
    assert.equal(warnings.length, 5);
    assert.match(warnings[0], /disableOOMKiller is not supported on cgroup v2 and is ignored: the OOM killer stays enabled/);
    assert.match(warnings[1], /swappiness \(0\) is ignored/);
    assert.match(warnings[2], /memory\.kernel is ignored/);
    assert.match(warnings[3], /memory\.kernelTCP is ignored/);
    assert.match(warnings[4], /useHierarchy false is ignored/);
  });
  test('disableOOMKiller false, kernel 0: no warning; memory.oom.group never written', async () => {
    const { writes, warnings } = await applied({ memory: { limit: 4096, disableOOMKiller: false, kernel: 0 } });
    assert.deepEqual(writes(), [['memory.max', '4096']]);
    assert.deepEqual(warnings, []);
  });
  test('invalid values', async () => {
    await refused({ memory: { limit: -2 } }, 'memory.limit', ANY);
    await refused({ memory: { limit: 1.5 } }, 'memory.limit', ANY);
    await refused({ memory: { swap: -5, limit: 10 } }, 'memory.swap', ANY);
  });
  test('a kernel refusal names field, file and value', async () => {
    const s = setup();
    s.k.fs.fail('write', `${DIR}/memory.max`, 'EBUSY');
    await assert.rejects(s.m.apply({ memory: { limit: 1000 } }), {
      name: 'CgroupError',
      message: `linux.resources.memory.limit: writing "1000" to ${DIR}/memory.max: EBUSY (the kernel refused the change while the cgroup is in use)`,
    });
  });
});

describe('cpu', () => {
  test('shares → cpu.weight conversion table (runc formula, v1 clamp)', () => {
    const table: [bigint, bigint][] = [
      [0n, 1n], [1n, 1n], [2n, 1n], [3n, 1n], [100n, 4n], [128n, 5n], [512n, 20n], [1024n, 39n], [2048n, 79n],
      [4096n, 157n], [262143n, 9999n], [262144n, 10000n], [262145n, 10000n], [1n << 40n, 10000n],
    ];
    for (const [shares, weight] of table) assert.equal(sharesToWeight(shares), weight, `shares ${shares}`);
  });
  test('shares, quota, period, burst, idle: files, order and values', async () => {
    const { writes } = await applied({ cpu: { shares: 1024, quota: 50000, period: 200000, burst: 10000, idle: 0 } });
    assert.deepEqual(writes(), [
      ['cpu.idle', '0'],
      ['cpu.weight', '39'],
      ['cpu.max.burst', '10000'],
      ['cpu.max', '50000 200000'],
    ]);
  });
  test('quota alone: default period 100000; quota -1: "max"', async () => {
    assert.deepEqual((await applied({ cpu: { quota: 20000 } })).writes(), [['cpu.max', '20000 100000']]);
    assert.deepEqual((await applied({ cpu: { quota: -1, period: 50000 } })).writes(), [['cpu.max', 'max 50000']]);
  });
  test('update of one half of cpu.max keeps the other', async () => {
    const s = setup();
    s.k.fs.seedFile(`${DIR}/cpu.max`, '30000 60000');
    await s.m.apply({ cpu: { period: 100000 } }, { update: true });
    assert.deepEqual(s.writes(), [['cpu.max', '30000 100000']]);
    s.k.fs.log.length = 0;
    await s.m.apply({ cpu: { quota: 50000 } }, { update: true });
    assert.deepEqual(s.writes(), [['cpu.max', '50000 100000']]);
  });
  test('burst refused against the old quota is retried after cpu.max', async () => {
    const s = setup();
    s.k.fs.fail('write', `${DIR}/cpu.max.burst`, 'EINVAL');
    await s.m.apply({ cpu: { quota: 50000, burst: 40000 } });
    assert.deepEqual(s.writes(), [['cpu.max', '50000 100000'], ['cpu.max.burst', '40000']]);
  });
  test('burst EINVAL without a quota change is an error', async () => {
    const s = setup();
    s.k.fs.fail('write', `${DIR}/cpu.max.burst`, 'EINVAL');
    await assert.rejects(s.m.apply({ cpu: { burst: 40000 } }), /linux\.resources\.cpu\.burst: writing "40000" to .*cpu\.max\.burst: EINVAL/);
  });
  test('idle 1', async () => {
    assert.deepEqual((await applied({ cpu: { idle: 1 } })).writes(), [['cpu.idle', '1']]);
  });
  test('realtime is refused on v2', async () => {
    await refused({ cpu: { realtimeRuntime: 950000, shares: 512 } }, 'cpu.realtimeRuntime', /does not exist on cgroup v2/);
    await refused({ cpu: { realtimePeriod: 1000000 } }, 'cpu.realtimePeriod', /does not exist on cgroup v2/);
    assert.deepEqual((await applied({ cpu: { realtimeRuntime: 0, realtimePeriod: 0 } })).writes(), []);
  });
  test('invalid values and missing kernel features', async () => {
    await refused({ cpu: { quota: 500 } }, 'cpu.quota', ANY);
    await refused({ cpu: { period: 999 } }, 'cpu.period', ANY);
    await refused({ cpu: { period: 1000001 } }, 'cpu.period', ANY);
    await refused({ cpu: { idle: 2 } }, 'cpu.idle', ANY);
    await refused({ cpu: { burst: -1 } }, 'cpu.burst', ANY);
    await refused({ cpu: { shares: -5 } }, 'cpu.shares', ANY);
    await refused({ cpu: { burst: 1000 } }, 'cpu.burst', /needs Linux 5\.14/, { noBurst: true });
    await refused({ cpu: { idle: 1 } }, 'cpu.idle', /needs Linux 5\.15/, { noIdle: true });
  });
  test('cpus and mems → cpuset.cpus / cpuset.mems', async () => {
    assert.deepEqual((await applied({ cpu: { cpus: '0-1,3', mems: '0' } })).writes(), [['cpuset.cpus', '0-1,3'], ['cpuset.mems', '0']]);
    await refused({ cpu: { cpus: '0;1' } }, 'cpu.cpus', ANY);
  });
});

describe('pids', () => {
  test('limit → pids.max; 0 and negative → "max" (as v1)', async () => {
    assert.deepEqual((await applied({ pids: { limit: 32 } })).writes(), [['pids.max', '32']]);
    assert.deepEqual((await applied({ pids: { limit: -1 } })).writes(), [['pids.max', 'max']]);
    assert.deepEqual((await applied({ pids: { limit: 0 } })).writes(), [['pids.max', 'max']]);
  });
});

describe('io', () => {
  test('blkio weight → io.weight conversion table', () => {
    const table: [number, number][] = [[10, 1], [11, 11], [100, 910], [500, 4950], [999, 9989], [1000, 10000]];
    for (const [w, v] of table) assert.equal(blkioToIoWeight(w), v, `weight ${w}`);
  });
  test('weight and weightDevice → io.weight (converted); throttles → one io.max line per device', async () => {
    const { writes, warnings } = await applied({
      blockIO: {
        weight: 500,
        leafWeight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 100, leafWeight: 10 }, { major: 8, minor: 16, leafWeight: 10 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }, { major: 253, minor: 1, rate: 0 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
      },
    });
    assert.deepEqual(writes(), [
      ['io.weight', 'default 4950'],
      ['io.weight', '8:0 910'],
      ['io.max', '8:0 rbps=1048576 wbps=2097152 riops=100 wiops=200'],
      ['io.max', '253:1 wbps=max'],
    ]);
    assert.equal(warnings.length, 3); // blockIO.leafWeight, and two weightDevice leafWeights
  });
  test('without io.weight, BFQ gets the v1 weight unconverted', async () => {
    const { writes } = await applied({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }] } }, { ioWeight: 'bfq' });
    assert.deepEqual(writes(), [['io.bfq.weight', 'default 500'], ['io.bfq.weight', '8:0 100']]);
  });
  test('refusals', async () => {
    await refused({ blockIO: { weight: 5 } }, 'blockIO.weight', ANY);
    await refused({ blockIO: { weight: 1001 } }, 'blockIO.weight', ANY);
    await refused({ blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 2000 }] } }, 'blockIO.weightDevice[0].weight', ANY);
    await refused({ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] } }, 'blockIO.throttleReadBpsDevice[0].rate', /at least 2/);
    await refused({ blockIO: { weight: 100 } }, 'blockIO.weight', /neither io\.weight .* nor io\.bfq\.weight/, { ioWeight: false });
  });
});

describe('hugetlb, rdma', () => {
  test('hugepageLimits → hugetlb.<size>.max and .rsvd.max', async () => {
    const { writes } = await applied({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 21 }, { pageSize: '1GB', limit: 0 }] });
    assert.deepEqual(writes(), [
      ['hugetlb.2MB.max', String(4 << 21)],
      ['hugetlb.2MB.rsvd.max', String(4 << 21)],
      ['hugetlb.1GB.max', '0'],
      ['hugetlb.1GB.rsvd.max', '0'],
    ]);
  });
  test('an unknown page size lists the ones the kernel has', async () => {
    await refused({ hugepageLimits: [{ pageSize: '64KB', limit: 1 }] }, 'hugepageLimits[0].pageSize', /"64KB" is not a huge page size this kernel offers \(1GB, 2MB\)/);
  });
  test('rdma → rdma.max lines with the keys given', async () => {
    const { writes } = await applied({ rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 10000 }, mlx5_1: { hcaObjects: 5 }, mlx5_2: {} } });
    assert.deepEqual(writes(), [['rdma.max', 'mlx5_0 hca_handle=3 hca_object=10000'], ['rdma.max', 'mlx5_1 hca_object=5']]);
    await refused({ rdma: { 'a b': { hcaHandles: 1 } } }, 'rdma["a b"]', ANY);
  });
});

describe('unified', () => {
  test('written verbatim, last, one write per line; wins over a typed field with a warning', async () => {
    const { writes, warnings } = await applied({
      memory: { limit: 1000 },
      unified: { 'memory.max': '2000', 'memory.high': '1500', 'io.max': '8:0 rbps=100\n8:16 wbps=200\n', 'cgroup.max.descendants': '10' },
    });
    assert.deepEqual(writes(), [
      ['memory.max', '1000'],
      ['memory.max', '2000'],
      ['memory.high', '1500'],
      ['io.max', '8:0 rbps=100'],
      ['io.max', '8:16 wbps=200'],
      ['cgroup.max.descendants', '10'],
    ]);
    assert.deepEqual(warnings, ['linux.resources.unified["memory.max"] ("2000") overrides linux.resources.memory.limit ("1000")']);
  });
  test('same value as the typed field: no warning', async () => {
    const { warnings } = await applied({ pids: { limit: 5 }, unified: { 'pids.max': '5' } });
    assert.deepEqual(warnings, []);
  });
  test('refused keys', async () => {
    await refused({ unified: { '../memory.max': '1' } }, 'unified["../memory.max"]', ANY);
    await refused({ unified: { 'a/b': '1' } }, 'unified["a/b"]', ANY);
    await refused({ unified: { '..': '1' } }, 'unified[".."]', ANY);
    await refused({ unified: { 'memory.nonexistent': '1' } }, 'unified["memory.nonexistent"]', /does not exist/);
    await refused({ unified: { 'cgroup.procs': '1' } }, 'unified["cgroup.procs"]', ANY);
    await refused({ unified: { 'cgroup.subtree_control': '+cpu' } }, 'unified["cgroup.subtree_control"]', ANY);
    await refused({ unified: { 'memory.max': '' } }, 'unified["memory.max"]', /empty/);
  });
});

describe('devices', () => {
  test('rules are compiled and handed to the attacher with the cgroup dir', async () => {
    const { attached, writes } = await applied({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    assert.equal(attached.length, 1);
    assert.equal(attached[0][0], DIR);
    assert.ok(decodeProgram(attached[0][1]).length > 5);
    assert.deepEqual(writes(), []);
  });
  test("runc's default allow list is appended (as v1 does): the spec cannot take /dev/null away", async () => {
    const { attached } = await applied({ devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    const insns = decodeProgram(attached[0][1]);
    const dev = (type: number, major: number, minor: number, access: number) => runProgram(insns, { accessType: (access << 16) | type, major, minor });
    assert.equal(dev(2, 1, 3, 6), 1, '/dev/null rw');
    assert.equal(dev(2, 1, 1, 2), 0, '/dev/mem r');
    assert.equal(dev(1, 8, 0, 1), 1, 'mknod b 8:0');
    assert.deepEqual(attached[0][1], deviceFilterProgram([{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }, ...RUNC_DEFAULT_DEVICE_RULES]));
  });
  test('no devices field: no program', async () => {
    const { attached } = await applied({ pids: { limit: 3 } });
    assert.deepEqual(attached, []);
  });
  test('an invalid rule is a CgroupError before anything is written', async () => {
    await refused({ pids: { limit: 3 }, devices: [{ allow: true, type: 'x' as 'a', access: 'r' }] }, 'devices[0].type', ANY);
    await refused({ devices: [{ allow: true, access: 'rwx' }] }, 'devices[0].access', ANY);
    await refused({ devices: [{ allow: true, access: '' }] }, 'devices[0].access', ANY);
    await refused({ devices: [{ allow: true, access: 'r', major: -2 }] }, 'devices[0].major', ANY);
  });
  test('a loader failure is a plain error naming the dir (not a config error)', async () => {
    const k = fakeV2();
    const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs), {
      attachDeviceFilter: async () => {
        throw new Error('EPERM: bpf');
      },
    });
    m.create();
    await assert.rejects(m.apply({ devices: [{ allow: true, access: 'rwm' }] }), (e: Error) => {
      assert.ok(!(e instanceof CgroupError));
      assert.match(e.message, new RegExp(`^attaching the device filter \\(\\d+ BPF instructions\\) to ${DIR}: EPERM: bpf$`));
      return true;
    });
  });
});

describe('network', () => {
  test('net_cls/net_prio do not exist on v2: warning', async () => {
    const { warnings } = await applied({ network: { classID: 5 } });
    assert.match(warnings[0], /network is ignored/);
  });
});

describe('controllers a limit needs', () => {
  test('a controller the host does not delegate to /berth: clear error, nothing written above /berth', async () => {
    const s = await refused({ memory: { limit: 1000 } }, 'memory.limit', /the "memory" controller is not delegated to \/sys\/fs\/cgroup\/berth: its parent \/sys\/fs\/cgroup does not enable it/, {
      rootEnabled: ['cpu', 'pids'],
    });
    assert.ok(!s.k.fs.writes().some(([f]) => f === `${ROOT}/cgroup.subtree_control`));
  });
  test('a controller the kernel does not have at all', async () => {
    await refused({ rdma: { mlx: { hcaHandles: 1 } } }, 'rdma["mlx"]', /this kernel offers no "rdma" controller on cgroup v2/, { rootControllers: ['cpu', 'memory', 'pids'] });
  });
  test('a controller disabled since create() is enabled again by apply()', async () => {
    const s = setup();
    s.k.fs.writeFile(`${ROOT}/berth/cgroup.subtree_control`, '-pids');
    s.k.fs.log.length = 0;
    await s.m.apply({ pids: { limit: 7 } });
    assert.deepEqual(s.writes(), [
      [`${ROOT}/berth/cgroup.subtree_control`, '+pids'],
      ['pids.max', '7'],
    ]);
  });
  test('enabling refused (the berth parent has processes of its own): the reason is in the error', async () => {
    const k = fakeV2();
    k.fs.mkdir(`${ROOT}/berth`);
    k.addProc(`${ROOT}/berth`, 42);
    const m = new V2CgroupManager('/berth/c1', DIR, resolveOptions(k.fs), { warn: () => undefined });
    m.create();
    await assert.rejects(m.apply({ pids: { limit: 3 } }), /linux\.resources\.pids\.limit: cannot be applied: the "pids" controller could not be enabled in \/sys\/fs\/cgroup\/berth\/cgroup\.subtree_control: EBUSY \(the cgroup has processes of its own/);
  });
});
