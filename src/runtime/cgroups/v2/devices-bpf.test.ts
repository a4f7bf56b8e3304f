// The device-filter compiler, checked by running its programs in the interpreter on
// every (type, major, minor, access) of a grid and comparing with the reference
// evaluation of the rules, and by the verifier-lite (what the kernel would refuse).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxDeviceCgroup } from '../../spec/types';
import {
  ACCESS_ALL, BPF_DEVCG_ACC_MKNOD as M, BPF_DEVCG_ACC_READ as R, BPF_DEVCG_ACC_WRITE as W, BPF_DEVCG_DEV_BLOCK as BLK, BPF_DEVCG_DEV_CHAR as CHR,
  DeviceRule, Insn, compileDeviceFilter, decodeProgram, deviceFilterProgram, encodeProgram, evaluateRules, normalizeDeviceRules,
} from './devices-bpf';
import { checkProgram, disassemble, runProgram } from './bpf-interp';
import { RUNC_DEFAULT_DEVICE_RULES } from './devices';

const TYPES = [BLK, CHR, 3];
const MAJORS = [0, 1, 4, 5, 8, 10, 136, 254, 4095];
const MINORS = [0, 1, 2, 3, 5, 7, 8, 9, 200, 1048575];
const ACCESSES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10, 0xffff];

function program(rules: LinuxDeviceCgroup[]): Insn[] {
  const insns = decodeProgram(deviceFilterProgram(rules));
  checkProgram(insns);
  return insns;
}

/** Runs the program: true = allowed. */
function allows(insns: Insn[], type: number, major: number, minor: number, access: number): boolean {
  const r0 = runProgram(insns, { accessType: ((access << 16) | type) >>> 0, major, minor });
  assert.ok(r0 === 0 || r0 === 1, `r0 = ${r0}`);
  return r0 === 1;
}

/** Program and reference agree on the whole grid; returns how many inputs were allowed. */
function agreeOnGrid(rules: LinuxDeviceCgroup[]): number {
  const insns = program(rules);
  const norm = normalizeDeviceRules(rules);
  let allowed = 0;
  for (const t of TYPES) for (const ma of MAJORS) for (const mi of MINORS) for (const a of ACCESSES) {
    const want = evaluateRules(norm, t, ma, mi, a);
    const got = allows(insns, t, ma, mi, a);
    if (got !== want) assert.fail(`type ${t} ${ma}:${mi} access ${a}: program ${got}, rules ${want}\n${disassemble(insns).join('\n')}`);
    if (got) allowed++;
  }
  return allowed;
}

const c = (major: number, minor: number, access: string, allow = true): LinuxDeviceCgroup => ({ allow, type: 'c', major, minor, access });
const DOCKER: LinuxDeviceCgroup[] = [{ allow: false, access: 'rwm' }, ...RUNC_DEFAULT_DEVICE_RULES];

describe('device filter: fixed cases', () => {
  test('allow all: the whole program', () => {
    const insns = program([{ allow: true, access: 'rwm' }]);
    assert.deepEqual(disassemble(insns), [
      '  0: r2 = *(u32 *)(r1 + 0)',
      '  1: w2 &= 0xffff',
      '  2: r3 = *(u32 *)(r1 + 0)',
      '  3: w3 >>= 16',
      '  4: r4 = *(u32 *)(r1 + 4)',
      '  5: r5 = *(u32 *)(r1 + 8)',
      '  6: if r3 == 0 goto 12',
      '  7: w1 = w3',
      '  8: w1 &= 0xfffffff8',
      '  9: if r1 != 0 goto 12',
      ' 10: w0 = 1',
      ' 11: exit',
      ' 12: w0 = 0',
      ' 13: exit',
    ].map((l) => l.replace(/^ *(\d+):/, (_, n: string) => `${n.padStart(3)}:`)));
    for (const t of [BLK, CHR]) for (const a of [M, R, W, R | W, ACCESS_ALL]) assert.equal(allows(insns, t, 8, 0, a), true);
    assert.equal(allows(insns, CHR, 1, 3, 0), false, 'no access bit');
    assert.equal(allows(insns, CHR, 1, 3, 8), false, 'unknown access bit');
    assert.equal(agreeOnGrid([{ allow: true, access: 'rwm' }]), TYPES.length * MAJORS.length * MINORS.length * 7);
  });

  test('deny all: no rules, or one deny-all rule', () => {
    assert.equal(agreeOnGrid([]), 0);
    assert.equal(agreeOnGrid([{ allow: false, access: 'rwm' }]), 0);
    assert.deepEqual(program([]), program([{ allow: false, access: 'rwm' }]), 'a leading deny-all compiles away');
  });

  test("Docker's default list (deny all + runc's defaults)", () => {
    const insns = program(DOCKER);
    assert.ok(insns.length < 100, `${insns.length} instructions`);
    // mknod of anything, but no read/write of an arbitrary device
    assert.equal(allows(insns, BLK, 8, 0, M), true);
    assert.equal(allows(insns, BLK, 8, 0, R), false);
    assert.equal(allows(insns, CHR, 4, 1, W), false);
    for (const [ma, mi] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 2], [10, 200], [136, 0], [136, 7]]) {
      assert.equal(allows(insns, CHR, ma, mi, R | W), true, `c ${ma}:${mi}`);
      assert.equal(allows(insns, BLK, ma, mi, R | W), false, `b ${ma}:${mi}`);
    }
    agreeOnGrid(DOCKER);
  });

  test('wildcard majors and minors', () => {
    const rules: LinuxDeviceCgroup[] = [{ allow: false, access: 'rwm' }, c(136, -1, 'rw'), { allow: true, type: 'b', minor: 0, access: 'r' }, c(-1, 9, 'r')];
    const insns = program(rules);
    assert.equal(allows(insns, CHR, 136, 42, R | W), true);
    assert.equal(allows(insns, CHR, 137, 42, R), false);
    assert.equal(allows(insns, BLK, 8, 0, R), true);
    assert.equal(allows(insns, BLK, 8, 1, R), false);
    assert.equal(allows(insns, CHR, 1, 9, R), true);
    assert.equal(allows(insns, CHR, 77, 9, R), true);
    assert.equal(allows(insns, CHR, 77, 9, W), false);
    agreeOnGrid(rules);
  });

  test('access subsets: each requested bit must be granted', () => {
    const rules = [{ allow: false, access: 'rwm' }, c(1, 5, 'r'), c(1, 3, 'rw')];
    const insns = program(rules);
    assert.equal(allows(insns, CHR, 1, 5, R), true);
    assert.equal(allows(insns, CHR, 1, 5, W), false);
    assert.equal(allows(insns, CHR, 1, 5, R | W), false);
    assert.equal(allows(insns, CHR, 1, 5, M), false);
    assert.equal(allows(insns, CHR, 1, 3, R | W), true);
    assert.equal(allows(insns, CHR, 1, 3, M | R), false);
    agreeOnGrid(rules);
  });

  test('last match wins', () => {
    const allowThenDeny = program([c(1, 3, 'rwm'), c(1, 3, 'rwm', false)]);
    const denyThenAllow = program([c(1, 3, 'rwm', false), c(1, 3, 'rwm')]);
    assert.equal(allows(allowThenDeny, CHR, 1, 3, R), false);
    assert.equal(allows(denyThenAllow, CHR, 1, 3, R), true);
    const holes = [{ allow: true, access: 'rwm' }, c(1, 3, 'rwm', false), c(-1, -1, 'r')];
    const insns = program(holes);
    assert.equal(allows(insns, CHR, 1, 3, R), true, 'the later wildcard allow re-opens reads');
    assert.equal(allows(insns, CHR, 1, 3, W), false);
    assert.equal(allows(insns, BLK, 1, 3, W), true, 'the deny was for char devices only');
    agreeOnGrid(holes);
  });

  test('a deny of one bit also refuses a combined request (no O_RDWR hole)', () => {
    const rules = [c(-1, -1, 'rwm'), c(1, 3, 'w', false)];
    const insns = program(rules);
    assert.equal(allows(insns, CHR, 1, 3, R), true);
    assert.equal(allows(insns, CHR, 1, 3, W), false);
    assert.equal(allows(insns, CHR, 1, 3, R | W), false);
    agreeOnGrid(rules);
  });

  test('allows split over several rules combine per bit', () => {
    const rules = [c(1, 3, 'r'), c(1, 3, 'w')];
    assert.equal(allows(program(rules), CHR, 1, 3, R | W), true);
    agreeOnGrid(rules);
  });
});

describe('device filter: random rule lists against the reference', () => {
  test('600 random lists agree with the reference on the whole grid and pass the verifier-lite', () => {
    let seed = 0x5eed1234;
    const rnd = (n: number): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
    const accessSets = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm', 'mwr'];
    let maxLen = 0;
    for (let i = 0; i < 600; i++) {
      const rules: LinuxDeviceCgroup[] = [];
      const n = rnd(9);
      for (let j = 0; j < n; j++) {
        rules.push({
          allow: rnd(3) > 0,
          type: pick(['a', 'b', 'c', 'c'] as const),
          major: pick([-1, -1, 1, 5, 136, 8]),
          minor: pick([-1, -1, 3, 5, 0, 9]),
          access: pick(accessSets),
        });
      }
      agreeOnGrid(rules);
      maxLen = Math.max(maxLen, program(rules).length);
    }
    assert.ok(maxLen < 150, `longest program ${maxLen}`);
  });
});

describe('device filter: encoding and validation', () => {
  test('struct bpf_insn encoding: 8 bytes little-endian, dst low nibble, src high nibble', () => {
    const bytes = deviceFilterProgram([{ allow: true, access: 'rwm' }]);
    assert.equal(bytes.length % 8, 0);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]); // r2 = *(u32 *)(r1 + 0)
    assert.deepEqual([...bytes.subarray(8, 16)], [0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]); // w2 &= 0xffff
    assert.deepEqual([...bytes.subarray(bytes.length - 8)], [0x95, 0, 0, 0, 0, 0, 0, 0]); // exit
    const insns: Insn[] = [{ code: 0x55, dst: 4, src: 0, off: -3, imm: -8 }];
    assert.deepEqual(decodeProgram(encodeProgram(insns)), insns);
    assert.deepEqual([...encodeProgram(insns)], [0x55, 0x04, 0xfd, 0xff, 0xf8, 0xff, 0xff, 0xff]);
  });

  test('normalisation: absent type/major/minor and -1 mean any', () => {
    const want: DeviceRule = { allow: true, type: 'a', major: -1, minor: -1, access: R | W | M };
    assert.deepEqual(normalizeDeviceRules([{ allow: true, access: 'rwm' }]), [want]);
    assert.deepEqual(normalizeDeviceRules([{ allow: true, type: 'a', major: -1, minor: -1, access: 'mrw' }]), [want]);
  });

  test('invalid rules', () => {
    assert.throws(() => normalizeDeviceRules([{ allow: 'yes' as unknown as boolean, access: 'r' }]), /devices\[0\]\.allow: must be true or false/);
    assert.throws(() => normalizeDeviceRules([{ allow: true, type: 'u' as 'a', access: 'r' }]), /devices\[0\]\.type/);
    assert.throws(() => normalizeDeviceRules([{ allow: true, access: 'r' }, { allow: true, access: 'x' }]), /devices\[1\]\.access/);
    assert.throws(() => normalizeDeviceRules([{ allow: true, access: '' }]), /devices\[0\]\.access: must be a non-empty/);
    assert.deepEqual(normalizeDeviceRules([{ allow: false, type: 'b' } as LinuxDeviceCgroup]), [{ allow: false, type: 'b', major: -1, minor: -1, access: R | W | M }], 'absent access: rwm');
    assert.throws(() => normalizeDeviceRules([{ allow: true, access: 'r', minor: 2 ** 31 }]), /devices\[0\]\.minor/);
    assert.throws(() => normalizeDeviceRules([{ allow: true, access: 'r', major: 1.5 }]), /devices\[0\]\.major/);
  });

  test('the verifier-lite refuses what the kernel would', () => {
    const ok = compileDeviceFilter([]);
    assert.doesNotThrow(() => checkProgram(ok));
    const exit: Insn = { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
    const mov0: Insn = { code: 0xb4, dst: 0, src: 0, off: 0, imm: 0 };
    assert.throws(() => checkProgram([exit]), /r0 read before it is set/);
    assert.throws(() => checkProgram([mov0, exit, mov0, exit]), /insn 2: unreachable/);
    assert.throws(() => checkProgram([mov0]), /falls off the end/);
    assert.throws(() => checkProgram([{ code: 0x05, dst: 0, src: 0, off: -1, imm: 0 }, exit]), /backwards/);
    assert.throws(() => checkProgram([mov0, { code: 0x15, dst: 0, src: 0, off: 5, imm: 0 }, exit]), /out of range/);
    assert.throws(() => checkProgram([{ code: 0x07, dst: 0, src: 0, off: 0, imm: 0 }, exit]), /unknown opcode/);
  });
});
