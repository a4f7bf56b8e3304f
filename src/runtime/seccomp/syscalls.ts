// Name → number lookups for the three x86 ABIs a filter on an x86_64 host can see, and the
// socketcall(2)/ipc(2) multiplexing of i386. Maps, not the frozen objects, so a user-supplied
// name such as "constructor" or "__proto__" can never hit Object.prototype.

import { OTHER_ARCH_SYSCALL_NAMES } from './syscalls-other';
import { SYSCALLS_I386 } from './syscalls-i386';
import { SYSCALLS_X32 } from './syscalls-x32';
import { SYSCALLS_X86_64 } from './syscalls-x86_64';

/** The ABIs seccomp reports on x86_64: x86_64 and x32 (both AUDIT_ARCH_X86_64) and i386. */
export type X86Abi = 'x86_64' | 'x86' | 'x32';

const toMap = (o: Readonly<Record<string, number>>): ReadonlyMap<string, number> => new Map(Object.entries(o));

export const SYSCALL_NUMBERS: Readonly<Record<X86Abi, ReadonlyMap<string, number>>> = Object.freeze({
  x86_64: toMap(SYSCALLS_X86_64),
  x86: toMap(SYSCALLS_I386),
  x32: toMap(SYSCALLS_X32),
});

/** i386 socketcall(2) and ipc(2) syscall numbers. */
export const I386_NR_SOCKETCALL = 102;
export const I386_NR_IPC = 117;

/** socketcall(2) call numbers (linux/net.h SYS_*), as libseccomp multiplexes them on i386. */
export const SOCKETCALL_CALLS: ReadonlyMap<string, number> = new Map([
  ['socket', 1], ['bind', 2], ['connect', 3], ['listen', 4], ['accept', 5], ['getsockname', 6],
  ['getpeername', 7], ['socketpair', 8], ['send', 9], ['recv', 10], ['sendto', 11], ['recvfrom', 12],
  ['shutdown', 13], ['setsockopt', 14], ['getsockopt', 15], ['sendmsg', 16], ['recvmsg', 17],
  ['accept4', 18], ['recvmmsg', 19], ['sendmmsg', 20],
]);

/** ipc(2) call numbers (linux/ipc.h), as libseccomp multiplexes them on i386. */
export const IPC_CALLS: ReadonlyMap<string, number> = new Map([
  ['semop', 1], ['semget', 2], ['semctl', 3], ['semtimedop', 4], ['msgsnd', 11], ['msgrcv', 12],
  ['msgget', 13], ['msgctl', 14], ['shmat', 21], ['shmdt', 22], ['shmget', 23], ['shmctl', 24],
]);

const OTHER = new Set(OTHER_ARCH_SYSCALL_NAMES);

/** True when `name` is a system call on some Linux architecture (any column of libseccomp's table). */
export function isKnownSyscallName(name: string): boolean {
  return (
    SYSCALL_NUMBERS.x86_64.has(name) || SYSCALL_NUMBERS.x86.has(name) || SYSCALL_NUMBERS.x32.has(name) ||
    SOCKETCALL_CALLS.has(name) || IPC_CALLS.has(name) || OTHER.has(name)
  );
}
