// What a default `docker run` container gets (moby oci/defaults.go, daemon/oci_linux.go):
// the engine builds its specs from these, and the security tests attack exactly this.

export const DOCKER_DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

export const DOCKER_MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;

export const DOCKER_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/** Docker's default device cgroup: deny all, then the defaults the runtime appends (device-rules.ts). */
export const DOCKER_DEFAULT_DEVICE_RULES = [{ allow: false, access: 'rwm' }] as const;
