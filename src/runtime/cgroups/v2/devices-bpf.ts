// The cgroup v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
// attached to the cgroup: the kernel runs it on every open(2)/mknod(2) of a device
// node with
//   struct bpf_cgroup_dev_ctx { u32 access_type; /* (access << 16) | type */ u32 major; u32 minor; };
// and allows the access when it returns 1. This file compiles OCI device rules to
// such a program, as struct bpf_insn[] bytes (8 bytes each, little-endian:
// u8 code, u8 dst_reg:4 | src_reg:4 << 4, s16 off, s32 imm).
//
// Semantics (runc's devicefilter's): the rules are an ordered list where the LAST
// matching rule decides, and nothing matching means deny. A rule matches a device when
// the type ("a" = any), major and minor (-1/absent = any) match. Access is decided per
// access bit: every requested bit (m, r, w) must be allowed by the last rule that matches
// the device and grants/denies that bit. For the usual single-bit requests this is
// exactly "iterate the rules in reverse, first match wins"; for an open(O_RDWR) (r|w at
// once) it closes the hole a whole-request comparison has: with [allow c *:* rwm,
// deny c 1:3 w], runc's program lets the rw open through (its deny "w" rule does not
// "match" an rw request) while this program refuses it. One difference from the v1
// kernel: in allow-list mode v1 only removes an identical allow entry on a deny, so
// [deny a, allow c *:* rwm, deny c 1:3 w] still lets 1:3 be written there; here (as in
// runc on v2) the later deny wins. v2 is the stricter of the two.
// A request with no access bit, or a bit other than m/r/w, is denied.
//
// Program layout (only ldx w, mov, and, rsh, jeq/jne imm, ja and exit; no loops, no
// helpers, no maps, so any kernel ≥ 4.15 verifies it and no GPL license is needed):
//   r2 = type, r3 = access, r4 = major, r5 = minor (from the context in r1)
//   deny unless r3 is a non-empty subset of m|r|w
//   per group of access bits with the same rule chain:
//     if (r3 & bits) == 0 goto next group
//     for each rule that grants or denies these bits, last first:
//       if (type/major/minor differ) goto next rule;  allow: goto next group | deny: goto DENY
//     goto DENY                      (no rule matched)
//   ALLOW: r0 = 1; exit    DENY: r0 = 0; exit
// Redundant code is left out (rules after an unconditional one; denies with no allow
// below them, e.g. Docker's leading "deny all"), and no instruction is unreachable:
// the verifier rejects programs with dead code.
import type { LinuxDeviceCgroup } from '../../spec/types';
import { CgroupError } from '../manager';

export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;
/** bpf_prog_type and bpf_attach_type numbers the loader must use (linux/bpf.h). */
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** Any string works: the program calls no GPL-only helper. runc uses the same. */
export const DEVICE_FILTER_LICENSE = 'Apache';

export const ACCESS_ALL = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

// Opcodes (linux/bpf_common.h, linux/bpf.h).
export const OP = Object.freeze({
  LDXW: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  MOV32_K: 0xb4, // BPF_ALU | BPF_MOV | BPF_K
  MOV32_X: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
  AND32_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  RSH32_K: 0x74, // BPF_ALU | BPF_RSH | BPF_K
  JA: 0x05, // BPF_JMP | BPF_JA
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JNE_K: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  EXIT: 0x95, // BPF_JMP | BPF_EXIT
});

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** A validated rule: type "a" | "b" | "c", major/minor -1 for any, access as BPF_DEVCG_ACC_* bits. */
export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  major: number;
  minor: number;
  access: number;
}

const MAX_DEV = 0x7fffffff; // compared as a sign-extended s32 immediate: keep it positive

function devField(v: unknown, field: string): number {
  if (v === undefined || v === null || v === -1) return -1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DEV) {
    throw new CgroupError(field, `${JSON.stringify(v)} is not valid: expected a device number, or -1 (or no value) for any`);
  }
  return v;
}

/** OCI linux.resources.devices → DeviceRule[]; CgroupError naming the entry for anything invalid. */
export function normalizeDeviceRules(rules: LinuxDeviceCgroup[]): DeviceRule[] {
  if (!Array.isArray(rules)) throw new CgroupError('devices', 'must be a list of rules');
  return rules.map((r, i) => {
    const field = `devices[${i}]`;
    if (!r || typeof r !== 'object') throw new CgroupError(field, 'must be an object');
    if (typeof r.allow !== 'boolean') throw new CgroupError(`${field}.allow`, 'must be true or false');
    const type = r.type ?? 'a';
    if (type !== 'a' && type !== 'b' && type !== 'c') throw new CgroupError(`${field}.type`, `${JSON.stringify(type)} is not valid: expected "a", "b" or "c"`);
    // Absent access means all of it (like an absent type or number); an empty string is refused.
    const acc = r.access === undefined || r.access === null ? 'rwm' : r.access;
    if (typeof acc !== 'string' || acc === '') throw new CgroupError(`${field}.access`, 'must be a non-empty combination of "r", "w" and "m"');
    let access = 0;
    for (const ch of acc) {
      if (ch === 'r') access |= BPF_DEVCG_ACC_READ;
      else if (ch === 'w') access |= BPF_DEVCG_ACC_WRITE;
      else if (ch === 'm') access |= BPF_DEVCG_ACC_MKNOD;
      else throw new CgroupError(`${field}.access`, `${JSON.stringify(r.access)} is not valid: only "r", "w" and "m" are allowed`);
    }
    return { allow: r.allow, type, major: devField(r.major, `${field}.major`), minor: devField(r.minor, `${field}.minor`), access };
  });
}

/** The reference semantics, straight from the definition (the compiler's tests compare against it). */
export function evaluateRules(rules: DeviceRule[], type: number, major: number, minor: number, access: number): boolean {
  if (access === 0 || (access & ~ACCESS_ALL) !== 0) return false;
  for (const bit of [BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE]) {
    if ((access & bit) === 0) continue;
    let verdict = false;
    for (const r of rules) {
      if ((r.access & bit) !== 0 && ruleMatches(r, type, major, minor)) verdict = r.allow; // last match wins
    }
    if (!verdict) return false;
  }
  return true;
}

function ruleMatches(r: DeviceRule, type: number, major: number, minor: number): boolean {
  const t = r.type === 'a' ? undefined : r.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
  return (t === undefined || t === type) && (r.major < 0 || r.major === major) && (r.minor < 0 || r.minor === minor);
}

const unconditional = (r: DeviceRule): boolean => r.type === 'a' && r.major < 0 && r.minor < 0;

/** The rules deciding one access bit, last first, without the ones that can never decide anything. */
function chainFor(rules: DeviceRule[], bit: number): DeviceRule[] {
  const chain: DeviceRule[] = [];
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i];
    if ((r.access & bit) === 0) continue;
    chain.push(r);
    if (unconditional(r)) break; // nothing before it is ever reached
  }
  // Denies with no allow below them decide nothing the default deny would not.
  while (chain.length && !chain[chain.length - 1].allow) chain.pop();
  return chain;
}

// --- assembly with symbolic jump targets ---
type Label = number;
interface Pending extends Insn {
  target?: Label;
}

class Asm {
  readonly insns: Pending[] = [];
  private readonly at = new Map<Label, number>();
  private next = 0;
  label(): Label {
    return this.next++;
  }
  bind(l: Label): void {
    this.at.set(l, this.insns.length);
  }
  emit(code: number, dst: number, src: number, off: number, imm: number, target?: Label): void {
    this.insns.push({ code, dst, src, off, imm, target });
  }
  /** An unconditional jump, left out when it would land on the next instruction anyway. */
  ja(target: Label, nextIsTarget: boolean): void {
    if (!nextIsTarget) this.emit(OP.JA, 0, 0, 0, 0, target);
  }
  finish(): Insn[] {
    return this.insns.map((p, i) => {
      const { target, ...insn } = p;
      if (target === undefined) return insn;
      const to = this.at.get(target);
      if (to === undefined) throw new Error('devices-bpf: unbound label');
      const off = to - (i + 1);
      if (off < 0 || off > 0x7fff) throw new Error(`devices-bpf: jump offset ${off} out of range (too many device rules)`);
      return { ...insn, off };
    });
  }
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5; // prettier-ignore

/** Compiles validated rules into the device filter program. */
export function compileDeviceFilter(rules: DeviceRule[]): Insn[] {
  const a = new Asm();
  const ALLOW = a.label();
  const DENY = a.label();
  // struct bpf_cgroup_dev_ctx is in r1.
  a.emit(OP.LDXW, R2, R1, 0, 0);
  a.emit(OP.AND32_K, R2, 0, 0, 0xffff); // r2 = type
  a.emit(OP.LDXW, R3, R1, 0, 0);
  a.emit(OP.RSH32_K, R3, 0, 0, 16); // r3 = access
  a.emit(OP.LDXW, R4, R1, 4, 0); // r4 = major
  a.emit(OP.LDXW, R5, R1, 8, 0); // r5 = minor
  a.emit(OP.JEQ_K, R3, 0, 0, 0, DENY); // no access bit
  a.emit(OP.MOV32_X, R1, R3, 0, 0);
  a.emit(OP.AND32_K, R1, 0, 0, ~ACCESS_ALL); // unknown access bits
  a.emit(OP.JNE_K, R1, 0, 0, 0, DENY);

  // Access bits whose rule chains are identical share one block.
  const groups: { bits: number; chain: DeviceRule[] }[] = [];
  for (const bit of [BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE]) {
    const chain = chainFor(rules, bit);
    const same = groups.find((g) => g.chain.length === chain.length && g.chain.every((r, i) => r === chain[i]));
    if (same) same.bits |= bit;
    else groups.push({ bits: bit, chain });
  }
  // A group whose deciding rule is an unconditional allow needs no code at all.
  const coded = groups.filter((g) => !(g.chain.length === 1 && g.chain[0].allow && unconditional(g.chain[0])));
  coded.forEach((g, gi) => {
    const last = gi === coded.length - 1;
    const NEXT = last ? ALLOW : a.label();
    a.emit(OP.MOV32_X, R1, R3, 0, 0);
    a.emit(OP.AND32_K, R1, 0, 0, g.bits);
    if (g.chain.length === 0) {
      a.emit(OP.JNE_K, R1, 0, 0, 0, DENY); // nothing allows these bits
    } else {
      a.emit(OP.JEQ_K, R1, 0, 0, 0, NEXT); // none of these bits requested
      g.chain.forEach((r, ri) => {
        const lastRule = ri === g.chain.length - 1;
        const NOMATCH = a.label();
        if (r.type !== 'a') a.emit(OP.JNE_K, R2, 0, 0, r.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, NOMATCH);
        if (r.major >= 0) a.emit(OP.JNE_K, R4, 0, 0, r.major, NOMATCH);
        if (r.minor >= 0) a.emit(OP.JNE_K, R5, 0, 0, r.minor, NOMATCH);
        const cond = !unconditional(r);
        // The verdict. An unconditional allow ends the chain and NEXT (or ALLOW) follows it directly.
        if (r.allow) a.ja(NEXT, lastRule && !cond);
        else a.ja(DENY, false);
        a.bind(NOMATCH);
        if (lastRule && cond) a.ja(DENY, false); // no rule matched
      });
    }
    if (!last) a.bind(NEXT);
  });
  a.bind(ALLOW);
  a.emit(OP.MOV32_K, R0, 0, 0, 1);
  a.emit(OP.EXIT, 0, 0, 0, 0);
  a.bind(DENY);
  a.emit(OP.MOV32_K, R0, 0, 0, 0);
  a.emit(OP.EXIT, 0, 0, 0, 0);
  return a.finish();
}

/** struct bpf_insn[] bytes, as BPF_PROG_LOAD takes them. */
export function encodeProgram(insns: Insn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    b.writeUInt8(x.code, i * 8);
    b.writeUInt8((x.dst & 0xf) | ((x.src & 0xf) << 4), i * 8 + 1);
    b.writeInt16LE(x.off, i * 8 + 2);
    b.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return b;
}

export function decodeProgram(b: Buffer): Insn[] {
  if (b.length % 8 !== 0) throw new Error(`a BPF program is a multiple of 8 bytes, not ${b.length}`);
  const out: Insn[] = [];
  for (let o = 0; o < b.length; o += 8) {
    const regs = b.readUInt8(o + 1);
    out.push({ code: b.readUInt8(o), dst: regs & 0xf, src: regs >> 4, off: b.readInt16LE(o + 2), imm: b.readInt32LE(o + 4) });
  }
  return out;
}

/** linux.resources.devices → program bytes for the loader. */
export function deviceFilterProgram(rules: LinuxDeviceCgroup[]): Buffer {
  return encodeProgram(compileDeviceFilter(normalizeDeviceRules(rules)));
}
