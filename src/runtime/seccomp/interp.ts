// A classic BPF interpreter for seccomp programs, for tests: it checks a program the way the
// kernel's seccomp_check_filter()/bpf_check_classic() do (the instructions seccomp allows,
// jumps inside the program, a ret at the end, aligned loads inside struct seccomp_data) and
// runs it on one struct seccomp_data.

import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
  BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MAXINSNS, BPF_MEM, BPF_MISC, BPF_MOD, BPF_MUL, BPF_NEG,
  BPF_OR, BPF_RET, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR, SECCOMP_DATA_SIZE,
  decodeProgram, type SockFilter,
} from './bpf';

export interface SeccompData {
  /** System call number as the kernel stores it (int; pass the u32 view, e.g. 0xffffffff for -1). */
  nr: number;
  /** AUDIT_ARCH_* */
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments; missing ones are 0; taken modulo 2^64. */
  args?: readonly bigint[];
}

const BPF_MEMWORDS = 16;
const cls = (code: number): number => code & 0x07;

/** Throws when the kernel would refuse the program (EINVAL). */
export function checkFilter(program: Uint8Array | readonly SockFilter[]): SockFilter[] {
  const ins = program instanceof Uint8Array ? decodeProgram(program) : [...program];
  if (ins.length === 0 || ins.length > BPF_MAXINSNS) throw new Error(`bad program length ${ins.length}`);
  ins.forEach((x, pc) => {
    const bad = (why: string): never => {
      throw new Error(`instruction ${pc} (code 0x${x.code.toString(16)}): ${why}`);
    };
    const jumpOk = (off: number): void => {
      if (pc + 1 + off >= ins.length) bad(`jump past the end (offset ${off})`);
    };
    switch (cls(x.code)) {
      case BPF_LD:
        if (x.code === (BPF_LD | BPF_W | BPF_ABS)) {
          if (x.k % 4 !== 0 || x.k + 4 > SECCOMP_DATA_SIZE) bad(`load outside struct seccomp_data (k=${x.k})`);
        } else if (x.code === (BPF_LD | BPF_MEM)) {
          if (x.k >= BPF_MEMWORDS) bad('scratch memory index');
        } else if (x.code !== (BPF_LD | BPF_W | BPF_LEN) && x.code !== (BPF_LD | BPF_IMM)) bad('load mode not allowed in seccomp');
        break;
      case BPF_LDX:
        if (x.code === (BPF_LDX | BPF_MEM)) {
          if (x.k >= BPF_MEMWORDS) bad('scratch memory index');
        } else if (x.code !== (BPF_LDX | BPF_W | BPF_LEN) && x.code !== (BPF_LDX | BPF_IMM)) bad('load mode not allowed in seccomp');
        break;
      case BPF_ST:
      case BPF_STX:
        if (x.code !== BPF_ST && x.code !== BPF_STX) bad('bad store');
        if (x.k >= BPF_MEMWORDS) bad('scratch memory index');
        break;
      case BPF_ALU: {
        const op = x.code & 0xf0;
        if (![BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR].includes(op)) bad('alu op');
        if ((x.code & BPF_X) === 0 && (op === BPF_DIV || op === BPF_MOD) && x.k === 0) bad('division by constant 0');
        break;
      }
      case BPF_JMP: {
        const op = x.code & 0xf0;
        if (op === BPF_JA) {
          if (x.code !== (BPF_JMP | BPF_JA)) bad('ja');
          jumpOk(x.k);
        } else if ([BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET].includes(op)) {
          jumpOk(x.jt);
          jumpOk(x.jf);
        } else bad('jump op');
        break;
      }
      case BPF_RET:
        if (x.code !== (BPF_RET | BPF_K) && x.code !== (BPF_RET | BPF_A)) bad('ret source');
        break;
      case BPF_MISC:
        if (x.code !== (BPF_MISC | BPF_TAX) && x.code !== (BPF_MISC | BPF_TXA)) bad('misc op');
        break;
    }
  });
  if (cls(ins[ins.length - 1]!.code) !== BPF_RET) throw new Error('the last instruction is not a ret');
  return ins;
}

const checked = new WeakMap<object, SockFilter[]>();

function seccompData(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, d.instructionPointer ?? 0n), 8);
  for (let i = 0; i < 6; i++) b.writeBigUInt64LE(BigInt.asUintN(64, d.args?.[i] ?? 0n), 16 + 8 * i);
  return b;
}

/** Run `program` on `data`; the u32 SECCOMP_RET_* value it returns. */
export function runFilter(program: Uint8Array | readonly SockFilter[], data: SeccompData): number {
  let ins = checked.get(program);
  if (!ins) {
    ins = checkFilter(program);
    checked.set(program, ins);
  }
  const mem = new Uint32Array(BPF_MEMWORDS);
  const d = seccompData(data);
  let A = 0;
  let X = 0;
  for (let pc = 0; pc < ins.length; pc++) {
    const x = ins[pc]!;
    switch (cls(x.code)) {
      case BPF_LD:
        if (x.code === (BPF_LD | BPF_W | BPF_ABS)) A = d.readUInt32LE(x.k);
        else if (x.code === (BPF_LD | BPF_W | BPF_LEN)) A = SECCOMP_DATA_SIZE;
        else if (x.code === (BPF_LD | BPF_MEM)) A = mem[x.k]!;
        else A = x.k;
        break;
      case BPF_LDX:
        if (x.code === (BPF_LDX | BPF_W | BPF_LEN)) X = SECCOMP_DATA_SIZE;
        else if (x.code === (BPF_LDX | BPF_MEM)) X = mem[x.k]!;
        else X = x.k;
        break;
      case BPF_ST:
        mem[x.k] = A;
        break;
      case BPF_STX:
        mem[x.k] = X;
        break;
      case BPF_ALU: {
        const v = (x.code & BPF_X) ? X : x.k;
        switch (x.code & 0xf0) {
          case BPF_ADD: A = (A + v) >>> 0; break;
          case BPF_SUB: A = (A - v) >>> 0; break;
          case BPF_MUL: A = Math.imul(A, v) >>> 0; break;
          case BPF_DIV: if (v === 0) return 0; A = Math.floor(A / v) >>> 0; break;
          case BPF_MOD: if (v === 0) return 0; A = (A % v) >>> 0; break;
          case BPF_OR: A = (A | v) >>> 0; break;
          case BPF_AND: A = (A & v) >>> 0; break;
          case BPF_XOR: A = (A ^ v) >>> 0; break;
          case BPF_LSH: A = v >= 32 ? 0 : (A << v) >>> 0; break;
          case BPF_RSH: A = v >= 32 ? 0 : A >>> v; break;
          case BPF_NEG: A = -A >>> 0; break;
        }
        break;
      }
      case BPF_JMP: {
        const op = x.code & 0xf0;
        if (op === BPF_JA) {
          pc += x.k;
          break;
        }
        const v = (x.code & BPF_X) ? X : x.k;
        const t = op === BPF_JEQ ? A === v : op === BPF_JGT ? A > v : op === BPF_JGE ? A >= v : (A & v) !== 0;
        pc += t ? x.jt : x.jf;
        break;
      }
      case BPF_RET:
        return (x.code & BPF_A ? A : x.k) >>> 0;
      case BPF_MISC:
        if (x.code === (BPF_MISC | BPF_TAX)) X = A;
        else A = X;
        break;
    }
  }
  throw new Error('seccomp program ran past its end');
}
