// A tiny eBPF interpreter, a verifier-lite and a disassembler for the instructions
// the device-filter compiler emits (ldx w, mov32, and32, rsh32, jeq/jne imm, ja, exit).
// The unit tests run compiled programs on many (type, major, minor, access) inputs
// and compare with the reference rule evaluation, so the program logic is proven
// without a kernel; checkProgram catches what the kernel verifier would refuse
// (unreachable code, jumps out of range or backwards, reading unset registers).
import { Insn, OP } from './devices-bpf';

/** struct bpf_cgroup_dev_ctx. */
export interface DevCtx {
  /** (access << 16) | type */
  accessType: number;
  major: number;
  minor: number;
}

const CTX = Symbol('ctx');
type Reg = bigint | typeof CTX | undefined;
const U32 = 0xffffffffn;
const sext = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm | 0));

/** Runs the program on one context; returns r0. Throws on anything the interpreter does not model. */
export function runProgram(insns: Insn[], ctx: DevCtx): number {
  const mem = Buffer.alloc(12);
  mem.writeUInt32LE(ctx.accessType >>> 0, 0);
  mem.writeUInt32LE(ctx.major >>> 0, 4);
  mem.writeUInt32LE(ctx.minor >>> 0, 8);
  const r: Reg[] = new Array(11).fill(undefined);
  r[1] = CTX;
  const scalar = (i: number, pc: number): bigint => {
    const v = r[i];
    if (typeof v !== 'bigint') throw new Error(`insn ${pc}: r${i} is ${v === undefined ? 'not initialised' : 'the context pointer'}`);
    return v;
  };
  let steps = 0;
  for (let pc = 0; ; ) {
    if (pc < 0 || pc >= insns.length) throw new Error(`pc ${pc} out of the program (${insns.length} insns)`);
    if (++steps > 1_000_000) throw new Error('program does not terminate');
    const x = insns[pc];
    switch (x.code) {
      case OP.LDXW: {
        if (r[x.src] !== CTX) throw new Error(`insn ${pc}: load through r${x.src}, which is not the context pointer`);
        if (x.off !== 0 && x.off !== 4 && x.off !== 8) throw new Error(`insn ${pc}: context offset ${x.off} is invalid`);
        r[x.dst] = BigInt(mem.readUInt32LE(x.off));
        pc++;
        break;
      }
      case OP.MOV32_K:
        r[x.dst] = BigInt(x.imm >>> 0);
        pc++;
        break;
      case OP.MOV32_X:
        r[x.dst] = scalar(x.src, pc) & U32;
        pc++;
        break;
      case OP.AND32_K:
        r[x.dst] = scalar(x.dst, pc) & U32 & BigInt(x.imm >>> 0);
        pc++;
        break;
      case OP.RSH32_K:
        r[x.dst] = (scalar(x.dst, pc) & U32) >> BigInt(x.imm & 31);
        pc++;
        break;
      case OP.JEQ_K:
        pc += 1 + (scalar(x.dst, pc) === sext(x.imm) ? x.off : 0);
        break;
      case OP.JNE_K:
        pc += 1 + (scalar(x.dst, pc) !== sext(x.imm) ? x.off : 0);
        break;
      case OP.JA:
        pc += 1 + x.off;
        break;
      case OP.EXIT:
        return Number(scalar(0, pc));
      default:
        throw new Error(`insn ${pc}: opcode 0x${x.code.toString(16)} is not modelled`);
    }
  }
}

const KNOWN = new Set<number>(Object.values(OP));
const JUMPS = new Set<number>([OP.JA, OP.JEQ_K, OP.JNE_K]);

function reads(x: Insn): number[] {
  switch (x.code) {
    case OP.LDXW:
    case OP.MOV32_X:
      return [x.src];
    case OP.AND32_K:
    case OP.RSH32_K:
    case OP.JEQ_K:
    case OP.JNE_K:
      return [x.dst];
    case OP.EXIT:
      return [0];
    default:
      return [];
  }
}

/**
 * The checks of the kernel verifier that matter for these programs: known opcodes and
 * registers, forward jumps inside the program, no fall-through off the end, every
 * instruction reachable, no register read before it is written on every path to it,
 * r0 set at every exit, at most `maxInsns` instructions. Throws naming the instruction.
 */
export function checkProgram(insns: Insn[], maxInsns = 4096): void {
  const n = insns.length;
  if (n === 0 || n > maxInsns) throw new Error(`program has ${n} instructions (1..${maxInsns} allowed)`);
  // Jumps only go forward, so index order is a topological order: one pass suffices.
  const init: (Set<number> | undefined)[] = new Array(n).fill(undefined);
  init[0] = new Set([1, 10]);
  const flow = (to: number, s: Set<number>, from: number): void => {
    if (to <= from || to >= n) throw new Error(`insn ${from}: jump to ${to} is out of range or backwards`);
    const cur = init[to];
    init[to] = cur === undefined ? new Set(s) : new Set([...cur].filter((v) => s.has(v)));
  };
  insns.forEach((x, i) => {
    if (!KNOWN.has(x.code)) throw new Error(`insn ${i}: unknown opcode 0x${x.code.toString(16)}`);
    if (x.dst > 10 || x.src > 10) throw new Error(`insn ${i}: bad register`);
    const s = init[i];
    if (s === undefined) throw new Error(`insn ${i}: unreachable`);
    for (const reg of reads(x)) if (!s.has(reg)) throw new Error(`insn ${i}: r${reg} read before it is set`);
    if (x.code === OP.EXIT) return;
    const out = new Set(s);
    if (!JUMPS.has(x.code)) out.add(x.dst);
    if (x.code !== OP.JA) {
      if (i + 1 >= n) throw new Error(`insn ${i}: falls off the end of the program`);
      flow(i + 1, out, i);
    }
    if (JUMPS.has(x.code)) flow(i + 1 + x.off, out, i);
  });
}

/** bpftool-style text, one line per instruction. */
export function disassemble(insns: Insn[]): string[] {
  return insns.map((x, i) => {
    const t = `${i + 1 + x.off}`;
    switch (x.code) {
      case OP.LDXW: return `r${x.dst} = *(u32 *)(r${x.src} + ${x.off})`;
      case OP.MOV32_K: return `w${x.dst} = ${x.imm}`;
      case OP.MOV32_X: return `w${x.dst} = w${x.src}`;
      case OP.AND32_K: return `w${x.dst} &= 0x${(x.imm >>> 0).toString(16)}`;
      case OP.RSH32_K: return `w${x.dst} >>= ${x.imm}`;
      case OP.JEQ_K: return `if r${x.dst} == ${x.imm} goto ${t}`;
      case OP.JNE_K: return `if r${x.dst} != ${x.imm} goto ${t}`;
      case OP.JA: return `goto ${t}`;
      case OP.EXIT: return 'exit';
      default: return `0x${x.code.toString(16)} ?`;
    }
  }).map((s, i) => `${String(i).padStart(3)}: ${s}`);
}
