// Test support: a FakeCgroupFs that behaves enough like cgroupfs for the drivers
// (control files appear on mkdir, pids move between cgroups, freezing and
// cgroup.kill take effect), plus a fake kill(2) and a fake clock.
import * as path from 'node:path';
import { FakeCgroupFs } from './fake-fs';
import { fsError } from './fs';
import { CgroupLayout, detectLayout, v1Hierarchies } from './layout';

export interface FakeKernelOptions {
  /** cgroup2 provides cgroup.kill (kernel ≥ 5.14). Default true. */
  cgroupKill?: boolean;
  rootCpus?: string;
  rootMems?: string;
}

export interface FakeKernel {
  fs: FakeCgroupFs;
  layout: CgroupLayout;
  /** Every kill(2) call made through `kill`. */
  signals: [number, NodeJS.Signals | number][];
  kill(pid: number, sig: NodeJS.Signals | number): void;
  /** Put a pid into a cgroup dir without logging (as if it had been there). */
  addProc(dir: string, pid: number): void;
  /** pids that ignore signals (to test survivors). */
  immortal: Set<number>;
}

const SIGKILL = (s: NodeJS.Signals | number): boolean => s === 'SIGKILL' || s === 9;

export function fakeKernel(mountinfo: string, opts: FakeKernelOptions = {}): FakeKernel {
  const layout = detectLayout(mountinfo);
  const fs = new FakeCgroupFs();
  const mounts = new Map<string, string>(); // mountpoint → v1 key or 'unified'
  for (const h of v1Hierarchies(layout)) mounts.set(h.mountpoint, h.key);
  if (layout.unified) mounts.set(layout.unified, 'unified');

  const mountOf = (p: string): string => {
    let best = '';
    for (const m of mounts.keys()) if ((p === m || p.startsWith(m + '/')) && m.length > best.length) best = m;
    return best;
  };
  const procFiles = (under: string): string[] => fs.paths().filter((p) => p.startsWith(under + '/') && p.endsWith('/cgroup.procs'));
  const pidsOf = (file: string): number[] => fs.readFile(file).split('\n').filter(Boolean).map(Number);
  const removePid = (pid: number, under = '/'): void => {
    for (const f of procFiles(under === '/' ? '' : under)) fs.seedFile(f, pidsOf(f).filter((p) => p !== pid).map((p) => `${p}\n`).join(''));
  };
  const populate = (dir: string, root: boolean): void => {
    const key = mounts.get(mountOf(dir))!;
    const files: Record<string, string> = { 'cgroup.procs': '' };
    if (key === 'unified') {
      Object.assign(files, { 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.controllers': '', 'cgroup.subtree_control': '' });
      if (!root) files['cgroup.freeze'] = '0';
      if (!root && opts.cgroupKill !== false) files['cgroup.kill'] = '';
    } else {
      Object.assign(files, { tasks: '', notify_on_release: '0' });
      const ctrls = key.split(',');
      if (ctrls.includes('cpuset')) {
        files['cpuset.cpus'] = root ? (opts.rootCpus ?? '0-3') : '';
        files['cpuset.mems'] = root ? (opts.rootMems ?? '0') : '';
      }
      if (ctrls.includes('freezer') && !root) files['freezer.state'] = 'THAWED';
    }
    for (const [n, v] of Object.entries(files)) fs.seedFile(path.posix.join(dir, n), v);
  };
  for (const m of mounts.keys()) populate(m, true);

  fs.hooks = {
    onMkdir: (dir) => populate(dir, false),
    onWrite: (file, data) => {
      const dir = path.posix.dirname(file);
      switch (path.posix.basename(file)) {
        case 'cgroup.procs': {
          const pid = Number(data);
          const cs = path.posix.join(dir, 'cpuset.cpus');
          if (fs.exists(cs) && fs.readFile(cs) === '') throw fsError('ENOSPC', 'write', file);
          removePid(pid, mountOf(dir));
          return fs.readFile(file) + `${pid}\n`;
        }
        case 'cgroup.freeze':
          fs.seedFile(path.posix.join(dir, 'cgroup.events'), `populated 0\nfrozen ${data.trim()}\n`);
          return;
        case 'cgroup.kill':
          for (const f of [path.posix.join(dir, 'cgroup.procs'), ...procFiles(dir)]) {
            for (const pid of pidsOf(f)) if (!k.immortal.has(pid)) removePid(pid);
          }
          return '';
      }
    },
  };

  const k: FakeKernel = {
    fs,
    layout,
    signals: [],
    immortal: new Set(),
    kill(pid, sig) {
      k.signals.push([pid, sig]);
      if (SIGKILL(sig) && !k.immortal.has(pid)) removePid(pid);
    },
    addProc(dir, pid) {
      const f = path.posix.join(dir, 'cgroup.procs');
      fs.seedFile(f, (fs.exists(f) ? fs.readFile(f) : '') + `${pid}\n`);
    },
  };
  return k;
}

/** Deterministic clock: sleep() advances now() instantly. */
export function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

// Sample mountinfo texts (real-looking lines) for the three layouts.

/** This build machine: hybrid, cpu and cpuacct mounted separately. */
export const MOUNTINFO_HYBRID_SPLIT = `22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
23 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw,size=4096k
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** Ubuntu 20.04 style systemd hybrid: co-mounted cpu,cpuacct and net_cls,net_prio. */
export const MOUNTINFO_HYBRID_SYSTEMD = `24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
34 24 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
35 34 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
36 34 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
40 34 0:35 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
41 34 0:36 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
42 34 0:37 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
43 34 0:38 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,freezer
44 34 0:39 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,cpuset
45 34 0:40 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,pids
46 34 0:41 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,devices
47 34 0:42 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:22 - cgroup cgroup rw,blkio
48 34 0:43 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:23 - cgroup cgroup rw,hugetlb
49 34 0:44 / /sys/fs/cgroup/perf_event rw,nosuid,nodev,noexec,relatime shared:24 - cgroup cgroup rw,perf_event
50 34 0:45 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:25 - cgroup cgroup rw,rdma
`;

/** CentOS 7 style legacy: v1 only, no cgroup2. */
export const MOUNTINFO_LEGACY = `18 62 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuacct,cpu
29 24 0:25 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpuset
30 24 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
31 24 0:27 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,freezer
32 24 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
33 24 0:29 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,devices
`;

/** Fedora / Ubuntu 22.04+ style pure cgroup2. */
export const MOUNTINFO_UNIFIED = `22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
24 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
25 24 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
