// Test support: the fake kernel (../fake-kernel.ts) on a pure cgroup2 layout, plus
// controller delegation: cgroup.controllers of a child is its parent's
// cgroup.subtree_control, enabling a controller adds its interface files to the
// children (with the kernel's defaults), and subtree_control refuses what the
// kernel refuses (a controller not in cgroup.controllers: ENOENT; a non-root
// cgroup with processes: EBUSY).
import * as path from 'node:path';
import { FakeKernel, FakeKernelOptions, MOUNTINFO_UNIFIED, fakeKernel } from '../fake-kernel';
import { fsError } from '../fs';
import { V2_CONTROLLERS } from './controllers';

export const ROOT = '/sys/fs/cgroup';

export interface FakeV2Options extends FakeKernelOptions {
  /** Root cgroup.controllers (default: berth's eight). */
  rootControllers?: string[];
  /** Root cgroup.subtree_control, i.e. what the host delegates to /berth (default: all of rootControllers). */
  rootEnabled?: string[];
  /** No swap accounting: no memory.swap.* files. */
  noSwap?: boolean;
  /** No blk-iocost: io.bfq.weight instead of io.weight (false: neither). */
  ioWeight?: 'iocost' | 'bfq' | false;
  /** Kernel < 5.14/5.15: no cpu.max.burst / cpu.idle. */
  noBurst?: boolean;
  noIdle?: boolean;
  hugePageSizes?: string[];
}

export function controllerFiles(ctrl: string, o: FakeV2Options): Record<string, string> {
  switch (ctrl) {
    case 'cpu': {
      const f: Record<string, string> = { 'cpu.weight': '100', 'cpu.weight.nice': '0', 'cpu.max': 'max 100000' };
      if (!o.noBurst) f['cpu.max.burst'] = '0';
      if (!o.noIdle) f['cpu.idle'] = '0';
      return f;
    }
    case 'memory': {
      const f: Record<string, string> = {
        'memory.current': '0', 'memory.max': 'max', 'memory.low': '0', 'memory.min': '0', 'memory.high': 'max', 'memory.peak': '0',
        'memory.oom.group': '0', 'memory.stat': 'anon 0\nfile 0\n', 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
      };
      if (!o.noSwap) Object.assign(f, { 'memory.swap.current': '0', 'memory.swap.max': 'max', 'memory.swap.high': 'max', 'memory.swap.events': 'high 0\nmax 0\nfail 0\n' });
      return f;
    }
    case 'pids':
      return { 'pids.max': 'max', 'pids.current': '0', 'pids.events': 'max 0\n' };
    case 'io': {
      const f: Record<string, string> = { 'io.max': '', 'io.stat': '' };
      const w = o.ioWeight ?? 'iocost';
      if (w === 'iocost') f['io.weight'] = 'default 100\n';
      if (w === 'bfq') f['io.bfq.weight'] = 'default 100\n';
      return f;
    }
    case 'cpuset':
      return { 'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpus.effective': o.rootCpus ?? '0-3', 'cpuset.mems.effective': o.rootMems ?? '0' };
    case 'hugetlb': {
      const f: Record<string, string> = {};
      for (const s of o.hugePageSizes ?? ['2MB', '1GB']) {
        Object.assign(f, { [`hugetlb.${s}.max`]: 'max', [`hugetlb.${s}.current`]: '0', [`hugetlb.${s}.events`]: 'max 0\n', [`hugetlb.${s}.rsvd.max`]: 'max', [`hugetlb.${s}.rsvd.current`]: '0' });
      }
      return f;
    }
    case 'rdma':
      return { 'rdma.max': '', 'rdma.current': '' };
    case 'misc':
      return { 'misc.max': '', 'misc.current': '' };
    default:
      return {};
  }
}

export function fakeV2(o: FakeV2Options = {}): FakeKernel {
  const k = fakeKernel(MOUNTINFO_UNIFIED, o);
  const fs = k.fs;
  const rootCtrls = o.rootControllers ?? [...V2_CONTROLLERS];
  fs.seedFile(`${ROOT}/cgroup.controllers`, rootCtrls.join(' '));
  fs.seedFile(`${ROOT}/cgroup.subtree_control`, (o.rootEnabled ?? rootCtrls).join(' '));
  fs.seedFile(`${ROOT}/cpu.stat`, 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n');

  const words = (f: string): string[] => (fs.exists(f) ? fs.readFile(f).split(/\s+/).filter(Boolean) : []);
  const setControllers = (dir: string, ctrls: string[]): void => {
    const before = words(`${dir}/cgroup.controllers`);
    fs.seedFile(`${dir}/cgroup.controllers`, ctrls.join(' '));
    for (const c of ctrls) {
      if (before.includes(c)) continue;
      for (const [n, v] of Object.entries(controllerFiles(c, o))) fs.seedFile(`${dir}/${n}`, v);
    }
  };
  const children = (dir: string): string[] => fs.readdir(dir).filter((d) => d.isDirectory).map((d) => `${dir}/${d.name}`);

  const base = fs.hooks;
  fs.hooks = {
    onMkdir: (dir, fake) => {
      base.onMkdir?.(dir, fake);
      fs.seedFile(`${dir}/cpu.stat`, 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n');
      fs.seedFile(`${dir}/cgroup.max.descendants`, 'max');
      fs.seedFile(`${dir}/cgroup.max.depth`, 'max');
      setControllers(dir, words(`${path.posix.dirname(dir)}/cgroup.subtree_control`));
    },
    onWrite: (file, data, fake) => {
      if (path.posix.basename(file) === 'cgroup.subtree_control') {
        const dir = path.posix.dirname(file);
        const avail = words(`${dir}/cgroup.controllers`);
        const enabled = new Set(words(file));
        for (const tok of data.split(/\s+/).filter(Boolean)) {
          const name = tok.slice(1);
          if ((tok[0] !== '+' && tok[0] !== '-') || !(V2_CONTROLLERS.includes(name) || name === 'perf_event')) throw fsError('EINVAL', 'write', file);
          if (!avail.includes(name)) throw fsError('ENOENT', 'write', file);
          if (dir !== ROOT && fs.readFile(`${dir}/cgroup.procs`).trim() !== '') throw fsError('EBUSY', 'write', file);
          if (tok[0] === '+') enabled.add(name);
          else enabled.delete(name);
        }
        const list = V2_CONTROLLERS.filter((c) => enabled.has(c));
        for (const ch of children(dir)) setControllers(ch, list);
        return list.join(' ');
      }
      return base.onWrite?.(file, data, fake);
    },
  };
  return k;
}
