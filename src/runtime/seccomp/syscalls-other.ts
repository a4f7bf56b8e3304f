// GENERATED DATA — do not edit by hand.
// Names of system calls that exist on some other Linux architecture but not on x86_64, i386
// or x32 (libseccomp's src/syscalls.csv, v7.1.0-rc4 2026-05-19). A profile naming one of them is valid
// (Docker's default profile names riscv_hwprobe, arm_fadvise64_64, ...); on this host the
// rule simply does not apply, as with libseccomp.

export const OTHER_ARCH_SYSCALL_NAMES: readonly string[] = Object.freeze([
  'arm_fadvise64_64', 'arm_sync_file_range', 'atomic_barrier', 'atomic_cmpxchg_32', 'breakpoint',
  'cachectl', 'cacheflush', 'get_tls', 'getpagesize', 'multiplexer', 'pciconfig_iobase',
  'pciconfig_read', 'pciconfig_write', 'recv', 'riscv_flush_icache', 'riscv_hwprobe', 'rtas',
  's390_guarded_storage', 's390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr',
  's390_sthyi', 'send', 'set_tls', 'spu_create', 'spu_run', 'subpage_prot', 'swapcontext',
  'switch_endian', 'sync_file_range2', 'sys_debug_setcontext', 'syscall', 'sysmips', 'timerfd',
  'usr26', 'usr32',
]);
