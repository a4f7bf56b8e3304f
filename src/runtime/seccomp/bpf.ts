// Classic BPF as seccomp uses it: the opcodes, the seccomp_data layout, the SECCOMP_RET_*
// return values and the struct sock_filter encoding (8 bytes, little-endian on x86).

/** struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; } */
export const SOCK_FILTER_SIZE = 8;
/** BPF_MAXINSNS: the kernel refuses longer classic programs. */
export const BPF_MAXINSNS = 4096;

// Opcodes (linux/bpf_common.h): class | size | mode, class | op | source.
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The instructions the compiler emits. */
export const OP_LD_ABS = BPF_LD | BPF_W | BPF_ABS; // A = *(u32 *)(data + k)
export const OP_AND_K = BPF_ALU | BPF_AND | BPF_K; // A &= k
export const OP_JA = BPF_JMP | BPF_JA; // pc += k
export const OP_JEQ_K = BPF_JMP | BPF_JEQ | BPF_K; // pc += (A == k) ? jt : jf
export const OP_JGT_K = BPF_JMP | BPF_JGT | BPF_K; // pc += (A > k) ? jt : jf   (unsigned)
export const OP_JGE_K = BPF_JMP | BPF_JGE | BPF_K; // pc += (A >= k) ? jt : jf  (unsigned)
export const OP_JSET_K = BPF_JMP | BPF_JSET | BPF_K; // pc += (A & k) ? jt : jf
export const OP_RET_K = BPF_RET | BPF_K; // return k

/** struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; } */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;
/** Offset of the low / high 32-bit word of args[i] (x86 is little-endian). */
export const argLo = (i: number): number => SECCOMP_DATA_ARGS + 8 * i;
export const argHi = (i: number): number => SECCOMP_DATA_ARGS + 8 * i + 4;

/** linux/audit.h: seccomp_data.arch of the x86 ABIs. x32 reports AUDIT_ARCH_X86_64. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
/** x32 system call numbers carry this bit (asm/unistd.h __X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000;

/** linux/seccomp.h SECCOMP_RET_* (the action is the high 16 bits, data the low 16). */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** linux/seccomp.h SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

export const EPERM = 1;
export const ENOSYS = 38;

/** One decoded struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export function encodeProgram(insns: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(insns.length * SOCK_FILTER_SIZE);
  insns.forEach((x, i) => {
    const o = i * SOCK_FILTER_SIZE;
    buf.writeUInt16LE(x.code, o);
    buf.writeUInt8(x.jt, o + 2);
    buf.writeUInt8(x.jf, o + 3);
    buf.writeUInt32LE(x.k >>> 0, o + 4);
  });
  return buf;
}

export function decodeProgram(program: Uint8Array): SockFilter[] {
  if (program.length % SOCK_FILTER_SIZE !== 0) {
    throw new Error(`a seccomp program is a whole number of 8-byte instructions (got ${program.length} bytes)`);
  }
  const b = Buffer.from(program.buffer, program.byteOffset, program.byteLength);
  const out: SockFilter[] = [];
  for (let o = 0; o < b.length; o += SOCK_FILTER_SIZE) {
    out.push({ code: b.readUInt16LE(o), jt: b.readUInt8(o + 2), jf: b.readUInt8(o + 3), k: b.readUInt32LE(o + 4) });
  }
  return out;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** A readable listing, one instruction a line (for debugging and test failures). */
export function disassemble(program: Uint8Array): string {
  const ins = decodeProgram(program);
  const ret = (k: number): string => {
    const act = k & 0xffff0000;
    const data = k & SECCOMP_RET_DATA;
    const name: Record<number, string> = {
      [SECCOMP_RET_KILL_PROCESS]: 'KILL_PROCESS', [SECCOMP_RET_KILL_THREAD]: 'KILL_THREAD', [SECCOMP_RET_TRAP]: 'TRAP',
      [SECCOMP_RET_ERRNO]: 'ERRNO', [SECCOMP_RET_USER_NOTIF]: 'USER_NOTIF', [SECCOMP_RET_TRACE]: 'TRACE',
      [SECCOMP_RET_LOG]: 'LOG', [SECCOMP_RET_ALLOW]: 'ALLOW',
    };
    const n = name[act >>> 0];
    return n === undefined ? hex(k) : data ? `${n}(${data})` : n;
  };
  return ins
    .map((x, i) => {
      const at = String(i).padStart(4);
      const to = (d: number): number => i + 1 + d;
      switch (x.code) {
        case OP_LD_ABS:
          return `${at}: ld [${x.k}]`;
        case OP_AND_K:
          return `${at}: and ${hex(x.k)}`;
        case OP_JA:
          return `${at}: ja ${i + 1 + x.k}`;
        case OP_JEQ_K:
        case OP_JGT_K:
        case OP_JGE_K:
        case OP_JSET_K: {
          const op = { [OP_JEQ_K]: 'jeq', [OP_JGT_K]: 'jgt', [OP_JGE_K]: 'jge', [OP_JSET_K]: 'jset' }[x.code];
          return `${at}: ${op} ${hex(x.k)} ? ${to(x.jt)} : ${to(x.jf)}`;
        }
        case OP_RET_K:
          return `${at}: ret ${ret(x.k)}`;
        default:
          return `${at}: code=${hex(x.code)} jt=${x.jt} jf=${x.jf} k=${hex(x.k)}`;
      }
    })
    .join('\n');
}
