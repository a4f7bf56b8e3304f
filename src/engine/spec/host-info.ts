// What the host supports, where a Docker setting depends on it (moby's pkg/sysinfo and
// daemon.RawSysInfo): cgroup v1 or v2, the controllers' optional files, time namespaces.
// Detected once per process; tests pass their own values.

import * as fs from 'node:fs';
import * as os from 'node:os';

export interface HostInfo {
  /** /sys/fs/cgroup is cgroup2 (unified). */
  cgroupV2: boolean;
  swapLimit: boolean;
  memorySwappiness: boolean;
  oomKillDisable: boolean;
  cpuRealtime: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioThrottle: boolean;
  /** CPUs and memory nodes containers may use ("0-3"). */
  cpus: string;
  mems: string;
  /** runtime.NumCPU(): the CPUs this process may run on. */
  numCpus: number;
  /** The kernel has time namespaces (5.6+): Docker 29.5+ gives containers their own. */
  timeNamespace: boolean;
  kernelRelease: string;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

function read(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const exists = (p: string): boolean => fs.existsSync(p);

export function detectHostInfo(root = '/sys/fs/cgroup'): HostInfo {
  let cgroupV2 = false;
  try {
    cgroupV2 = fs.statfsSync(root).type === CGROUP2_SUPER_MAGIC;
  } catch {
    // no cgroup mount: treat as v1 with nothing available
  }
  const base = {
    numCpus: os.availableParallelism(),
    timeNamespace: exists('/proc/self/ns/time'),
    kernelRelease: os.release(),
  };
  const online = read('/sys/devices/system/cpu/online') ?? `0-${os.cpus().length - 1}`;
  const nodes = read('/sys/devices/system/node/online') ?? '0';
  if (cgroupV2) {
    const controllers = new Set((read(`${root}/cgroup.controllers`) ?? '').split(/\s+/));
    const io = controllers.has('io');
    return {
      ...base,
      cgroupV2,
      swapLimit: controllers.has('memory'),
      memorySwappiness: false,
      oomKillDisable: false,
      cpuRealtime: false,
      blkioWeight: io,
      blkioWeightDevice: io,
      blkioThrottle: io,
      cpus: read(`${root}/cpuset.cpus.effective`) || online,
      mems: read(`${root}/cpuset.mems.effective`) || nodes,
    };
  }
  const blkio = `${root}/blkio`;
  return {
    ...base,
    cgroupV2,
    swapLimit: exists(`${root}/memory/memory.memsw.limit_in_bytes`),
    memorySwappiness: exists(`${root}/memory/memory.swappiness`),
    oomKillDisable: exists(`${root}/memory/memory.oom_control`),
    cpuRealtime: exists(`${root}/cpu/cpu.rt_period_us`),
    blkioWeight: exists(`${blkio}/blkio.weight`) || exists(`${blkio}/blkio.bfq.weight`),
    blkioWeightDevice: exists(`${blkio}/blkio.weight_device`) || exists(`${blkio}/blkio.bfq.weight_device`),
    blkioThrottle: exists(`${blkio}/blkio.throttle.read_bps_device`),
    cpus: read(`${root}/cpuset/cpuset.cpus`) || online,
    mems: read(`${root}/cpuset/cpuset.mems`) || nodes,
  };
}

let cached: HostInfo | undefined;

/** detectHostInfo(), once. */
export function hostInfo(): HostInfo {
  cached ??= detectHostInfo();
  return cached;
}
