// Test support: fakeKernel() plus the v1 controller files a new cgroup gets,
// with their default contents, and the kernel rules the drivers must respect
// (memsw ≥ limit, EBUSY below usage, CFS ratio within the parent's, burst ≤
// quota, cpu.shares clamping, rt runtime within the parent's, devices list
// semantics, ENODEV for unknown block devices, EOPNOTSUPP for BFQ per-device
// weights on a non-BFQ device). Every write is still logged by FakeCgroupFs.
import * as path from 'node:path';
import { FakeKernel, FakeKernelOptions, fakeClock, fakeKernel } from '../fake-kernel';
import { createCgroupManager } from '../index';
import { V1CgroupManager } from './manager';
import { fsError } from '../fs';
import { v1Hierarchies } from '../layout';
import { parseCpuList } from '../units';

export const V1_UNLIMITED = '9223372036854771712';
const UNL = BigInt(V1_UNLIMITED);

export interface FakeV1Options extends FakeKernelOptions {
  /** Control file names to leave out everywhere (e.g. "memory.memsw.limit_in_bytes"). */
  missing?: string[];
  /** Block devices ("maj:min") that exist; default 7:0 and 8:0. */
  blockDevices?: string[];
  /** Block devices using BFQ (per-device weights work); default 8:0. */
  bfqDevices?: string[];
  /** Page sizes of hugetlb files; default 2MB and 1GB. */
  hugepageSizes?: string[];
  /** Controllers in the cgroup2 root's cgroup.controllers (hybrid); default "hugetlb". */
  unifiedControllers?: string;
}

function files(ctrls: string[], root: boolean, sizes: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  if (ctrls.includes('memory')) {
    Object.assign(f, {
      'memory.limit_in_bytes': V1_UNLIMITED,
      'memory.soft_limit_in_bytes': V1_UNLIMITED,
      'memory.memsw.limit_in_bytes': V1_UNLIMITED,
      'memory.usage_in_bytes': '0',
      'memory.max_usage_in_bytes': '0',
      'memory.failcnt': '0',
      'memory.memsw.usage_in_bytes': '0',
      'memory.memsw.max_usage_in_bytes': '0',
      'memory.memsw.failcnt': '0',
      'memory.kmem.limit_in_bytes': V1_UNLIMITED,
      'memory.kmem.usage_in_bytes': '0',
      'memory.kmem.max_usage_in_bytes': '0',
      'memory.kmem.failcnt': '0',
      'memory.kmem.tcp.limit_in_bytes': V1_UNLIMITED,
      'memory.kmem.tcp.usage_in_bytes': '0',
      'memory.kmem.tcp.max_usage_in_bytes': '0',
      'memory.kmem.tcp.failcnt': '0',
      'memory.swappiness': '60',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      'memory.stat': 'cache 0\nrss 0\n',
    });
  }
  if (ctrls.includes('cpu')) {
    Object.assign(f, {
      'cpu.shares': '1024',
      'cpu.cfs_period_us': '100000',
      'cpu.cfs_quota_us': '-1',
      'cpu.cfs_burst_us': '0',
      'cpu.rt_period_us': '1000000',
      'cpu.rt_runtime_us': root ? '950000' : '0',
      'cpu.idle': '0',
      'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n',
    });
  }
  if (ctrls.includes('cpuacct')) {
    Object.assign(f, {
      'cpuacct.usage': '0',
      'cpuacct.usage_percpu': '0 0 ',
      'cpuacct.usage_all': 'cpu user system\n0 0 0\n1 0 0\n',
      'cpuacct.stat': 'user 0\nsystem 0\n',
    });
  }
  if (ctrls.includes('pids') && !root) Object.assign(f, { 'pids.max': 'max', 'pids.current': '0' });
  if (ctrls.includes('blkio')) {
    for (const n of ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device']) f[`blkio.throttle.${n}`] = '';
    Object.assign(f, { 'blkio.throttle.io_service_bytes_recursive': 'Total 0\n', 'blkio.throttle.io_serviced_recursive': 'Total 0\n' });
    if (!root) Object.assign(f, { 'blkio.bfq.weight': '100', 'blkio.bfq.weight_device': 'default 100\n' });
  }
  if (ctrls.includes('devices')) Object.assign(f, { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' });
  if (ctrls.includes('hugetlb')) {
    for (const s of sizes) {
      Object.assign(f, { [`hugetlb.${s}.limit_in_bytes`]: V1_UNLIMITED, [`hugetlb.${s}.usage_in_bytes`]: '0', [`hugetlb.${s}.max_usage_in_bytes`]: '0', [`hugetlb.${s}.failcnt`]: '0' });
      Object.assign(f, { [`hugetlb.${s}.rsvd.limit_in_bytes`]: V1_UNLIMITED });
    }
  }
  if (ctrls.includes('net_cls')) f['net_cls.classid'] = '0';
  if (ctrls.includes('net_prio')) f['net_prio.ifpriomap'] = 'lo 0\neth0 0\n';
  if (ctrls.includes('rdma') && !root) f['rdma.max'] = '';
  return f;
}

type DevState = { allow: boolean; ex: Map<string, string> };

export function fakeV1Kernel(mountinfo: string, opts: FakeV1Options = {}): FakeKernel {
  const k = fakeKernel(mountinfo, opts);
  const fs = k.fs;
  const missing = new Set(opts.missing ?? []);
  const sizes = opts.hugepageSizes ?? ['2MB', '1GB'];
  const blockDevs = new Set(opts.blockDevices ?? ['7:0', '8:0']);
  const bfqDevs = new Set(opts.bfqDevices ?? ['8:0']);
  const mounts = new Map<string, string[]>();
  for (const h of v1Hierarchies(k.layout)) mounts.set(h.mountpoint, h.controllers);
  const unified = k.layout.unified;
  const devState = new Map<string, DevState>();

  const mountOf = (p: string): string | undefined => {
    let best: string | undefined;
    for (const m of [...mounts.keys(), ...(unified ? [unified] : [])]) if ((p === m || p.startsWith(m + '/')) && (best === undefined || m.length > best.length)) best = m;
    return best;
  };
  const seed = (dir: string, root: boolean): void => {
    const m = mountOf(dir);
    if (m === undefined) return;
    if (m === unified) {
      if (root) fs.seedFile(path.posix.join(dir, 'cgroup.controllers'), `${opts.unifiedControllers ?? 'hugetlb'}\n`);
      return;
    }
    for (const [n, v] of Object.entries(files(mounts.get(m)!, root, sizes))) if (!missing.has(n)) fs.seedFile(path.posix.join(dir, n), v);
    if (mounts.get(m)!.includes('devices')) devState.set(dir, { allow: true, ex: new Map() });
  };
  for (const m of mounts.keys()) seed(m, true);
  if (unified) seed(unified, true);

  const read = (dir: string, name: string): string => fs.readFile(path.posix.join(dir, name)).trim();
  const big = (s: string): bigint => (s.trim() === '-1' ? -1n : BigInt(s.trim()));
  const einval = (file: string): never => {
    throw fsError('EINVAL', 'write', file);
  };
  const unifiedControllers = (dir: string): string => {
    // cgroup2: a child's cgroup.controllers is its parent's cgroup.subtree_control.
    const parent = path.posix.dirname(dir);
    return fs.exists(path.posix.join(parent, 'cgroup.subtree_control')) ? fs.readFile(path.posix.join(parent, 'cgroup.subtree_control')) : '';
  };

  const seedUnifiedHugetlb = (dir: string): void => {
    for (const sz of sizes) for (const [n, v] of [['max', 'max'], ['current', '0'], ['events', 'max 0\n']]) if (!fs.exists(path.posix.join(dir, `hugetlb.${sz}.${n}`))) fs.seedFile(path.posix.join(dir, `hugetlb.${sz}.${n}`), v);
  };

  const base = fs.hooks;
  fs.hooks = {
    onMkdir: (dir, f) => {
      base.onMkdir?.(dir, f);
      seed(dir, false);
      if (unified && dir.startsWith(unified + '/')) {
        const ctrls = unifiedControllers(dir).trim();
        fs.seedFile(path.posix.join(dir, 'cgroup.controllers'), ctrls ? `${ctrls}\n` : '');
        if (ctrls.split(/\s+/).includes('hugetlb')) seedUnifiedHugetlb(dir);
      }
    },
    onWrite: (file, data, f) => {
      const dir = path.posix.dirname(file);
      const parent = path.posix.dirname(dir);
      const name = path.posix.basename(file);
      switch (name) {
        case 'memory.limit_in_bytes': {
          const v = big(data) === -1n || big(data) > UNL ? UNL : big(data);
          const memsw = path.posix.join(dir, 'memory.memsw.limit_in_bytes');
          if (fs.exists(memsw) && v > big(fs.readFile(memsw))) einval(file);
          if (v < big(read(dir, 'memory.usage_in_bytes'))) throw fsError('EBUSY', 'write', file);
          return v.toString();
        }
        case 'memory.memsw.limit_in_bytes': {
          const v = big(data) === -1n ? UNL : big(data);
          if (v < big(read(dir, 'memory.limit_in_bytes'))) einval(file);
          return v.toString();
        }
        case 'memory.soft_limit_in_bytes':
          return big(data) === -1n ? V1_UNLIMITED : data;
        case 'memory.oom_control': {
          const cur = read(dir, 'memory.oom_control');
          return cur.replace(/oom_kill_disable \d/, `oom_kill_disable ${data.trim()}`) + '\n';
        }
        case 'cpuset.cpus':
        case 'cpuset.mems': {
          // Must be a subset of the parent's (the fake-kernel root has 0-3 / 0 unless told otherwise).
          const pf = path.posix.join(parent, name);
          if (fs.exists(pf) && fs.readFile(pf).trim() !== '') {
            const have = new Set(parseCpuList(fs.readFile(pf)));
            let want: number[];
            try {
              want = parseCpuList(data);
            } catch {
              return einval(file);
            }
            if (want.some((x) => !have.has(x))) einval(file);
          }
          return base.onWrite?.(file, data, f);
        }
        case 'cpu.shares': {
          const v = big(data);
          return (v < 2n ? 2n : v > 262144n ? 262144n : v).toString();
        }
        case 'cpu.cfs_period_us':
        case 'cpu.cfs_quota_us':
        case 'cpu.cfs_burst_us': {
          const cur = { period: big(read(dir, 'cpu.cfs_period_us')), quota: big(read(dir, 'cpu.cfs_quota_us')), burst: fs.exists(path.posix.join(dir, 'cpu.cfs_burst_us')) ? big(read(dir, 'cpu.cfs_burst_us')) : 0n };
          const v = big(data);
          if (name === 'cpu.cfs_period_us') cur.period = v;
          if (name === 'cpu.cfs_quota_us') cur.quota = v;
          if (name === 'cpu.cfs_burst_us') cur.burst = v;
          if (cur.period < 1000n || cur.period > 1000000n) einval(file);
          if (cur.quota !== -1n && cur.quota < 1000n) einval(file);
          if (cur.quota !== -1n && cur.burst > cur.quota) einval(file);
          // The parent's ratio bounds the child's (__cfs_schedulable).
          if (cur.quota !== -1n && fs.exists(path.posix.join(parent, 'cpu.cfs_quota_us'))) {
            const pq = big(read(parent, 'cpu.cfs_quota_us'));
            const pp = big(read(parent, 'cpu.cfs_period_us'));
            if (pq !== -1n && cur.quota * pp > pq * cur.period) einval(file);
          }
          return v.toString();
        }
        case 'cpu.rt_runtime_us': {
          const v = big(data);
          const pr = fs.exists(path.posix.join(parent, 'cpu.rt_runtime_us')) ? big(read(parent, 'cpu.rt_runtime_us')) : 950000n;
          if (v > pr || v > big(read(dir, 'cpu.rt_period_us'))) einval(file);
          return;
        }
        case 'cpu.rt_period_us': {
          if (big(data) < big(read(dir, 'cpu.rt_runtime_us'))) einval(file);
          return;
        }
        case 'cpu.idle':
          if (data !== '0' && data !== '1') einval(file);
          return;
        case 'pids.max':
          if (data !== 'max' && !/^\d+$/.test(data)) einval(file);
          return;
        case 'blkio.bfq.weight_device':
        case 'blkio.throttle.read_bps_device':
        case 'blkio.throttle.write_bps_device':
        case 'blkio.throttle.read_iops_device':
        case 'blkio.throttle.write_iops_device': {
          const [dev, v] = data.split(' ');
          if (!blockDevs.has(dev)) throw fsError('ENODEV', 'write', file);
          if (name === 'blkio.bfq.weight_device' && !bfqDevs.has(dev)) throw fsError('EOPNOTSUPP', 'write', file);
          const lines = fs.readFile(file).split('\n').filter((l) => l && !l.startsWith(`${dev} `));
          if (v !== '0') lines.push(`${dev} ${v}`);
          return lines.map((l) => `${l}\n`).join('');
        }
        case 'devices.allow':
        case 'devices.deny': {
          const st = devState.get(dir)!;
          const allow = name === 'devices.allow';
          if (data.startsWith('a')) {
            // The kernel looks at the first letter only: any "a..." switches the default and clears the list.
            st.allow = allow;
            st.ex.clear();
          } else {
            const m = /^([bc]) (\d+|\*):(\d+|\*) ([rwm]+)$/.exec(data);
            if (!m) einval(file);
            const key = `${m![1]} ${m![2]}:${m![3]}`;
            const acc = m![4];
            if (allow !== st.allow) {
              const merged = ['r', 'w', 'm'].filter((c) => (st.ex.get(key) ?? '').includes(c) || acc.includes(c)).join('');
              st.ex.set(key, merged);
            } else if (st.ex.has(key)) {
              const left = ['r', 'w', 'm'].filter((c) => st.ex.get(key)!.includes(c) && !acc.includes(c)).join('');
              if (left) st.ex.set(key, left);
              else st.ex.delete(key);
            }
          }
          fs.seedFile(path.posix.join(dir, 'devices.list'), st.allow ? 'a *:* rwm\n' : [...st.ex].map(([kk, a]) => `${kk} ${a}\n`).join(''));
          return '';
        }
        case 'cgroup.subtree_control': {
          const cur = new Set(fs.readFile(file).split(/\s+/).filter(Boolean));
          const own = fs.exists(path.posix.join(dir, 'cgroup.controllers')) ? fs.readFile(path.posix.join(dir, 'cgroup.controllers')).split(/\s+/) : [];
          for (const tok of data.split(/\s+/).filter(Boolean)) {
            if (!own.includes(tok.slice(1))) throw fsError('ENOENT', 'write', file);
            if (tok[0] === '+') cur.add(tok.slice(1));
            else cur.delete(tok.slice(1));
          }
          const text = [...cur].join(' ') + '\n';
          // Children see the new set in their cgroup.controllers, with the controller's files.
          for (const d of fs.readdir(dir).filter((e) => e.isDirectory)) {
            const child = path.posix.join(dir, d.name);
            fs.seedFile(path.posix.join(child, 'cgroup.controllers'), text);
            if (cur.has('hugetlb')) seedUnifiedHugetlb(child);
          }
          return text;
        }
      }
      return base.onWrite?.(file, data, f);
    },
  };
  return k;
}

/** Set a file's content as the kernel would (not logged as a write). */
export function kernelSets(k: FakeKernel, file: string, content: string): void {
  k.fs.seedFile(file, content);
}

/** A created /berth/c1 container cgroup on a fake v1 kernel, with the write log cleared. */
export function setupV1(mountinfo: string, opts: FakeV1Options = {}, rel = '/berth/c1'): { k: FakeKernel; m: V1CgroupManager; dir: (key: string) => string } {
  const k = fakeV1Kernel(mountinfo, opts);
  const clock = fakeClock();
  const m = createCgroupManager(k.layout, rel, k.fs, { kill: k.kill, sleep: clock.sleep, now: clock.now }) as V1CgroupManager;
  m.create();
  k.fs.log.length = 0;
  return { k, m, dir: (key) => m.dirs[key] };
}
