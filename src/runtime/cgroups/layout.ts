// Which cgroup hierarchies exist and where they are mounted, from mountinfo.
import * as fs from 'node:fs';

export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

export interface CgroupLayout {
  mode: CgroupMode;
  /** v1 controller name → mountpoint. Co-mounted controllers each map to the shared
   *  mount, and the combination (e.g. "cpu,cpuacct") is listed too. Named (name=...)
   *  hierarchies are skipped: they carry no resource controllers. */
  v1: Map<string, string>;
  /** cgroup2 mountpoint, if one is mounted. */
  unified?: string;
}

/** One mounted v1 hierarchy; key is its controllers joined with ',' (e.g. "cpu,cpuacct"). */
export interface V1Hierarchy {
  key: string;
  controllers: string[];
  mountpoint: string;
}

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  root: string;
  mountpoint: string;
  fstype: string;
  source: string;
  superOptions: string[];
}

// Super options of a v1 cgroup mount that are not controller names.
const NON_CONTROLLER_OPTS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods', 'none', 'all']);

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse /proc/<pid>/mountinfo (see proc(5)); the optional-fields list ends at a lone "-". */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue; // malformed: skip rather than guess
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      root: unescapeOctal(f[3]),
      mountpoint: unescapeOctal(f[4]),
      fstype: f[sep + 1],
      source: unescapeOctal(f[sep + 2]),
      superOptions: f[sep + 3].split(','),
    });
  }
  return out;
}

/** Controllers named in a v1 mount's super options (empty for a pure name= hierarchy). */
export function v1Controllers(superOptions: string[]): string[] {
  return superOptions.filter((o) => o !== '' && !o.includes('=') && !NON_CONTROLLER_OPTS.has(o));
}

export function detectLayout(mountinfoText?: string): CgroupLayout {
  const text = mountinfoText ?? fs.readFileSync('/proc/self/mountinfo', 'utf8');
  // A bind mount of a sub-directory (root != "/") is only used when the
  // hierarchy's root is not mounted anywhere; v1Root/unifiedRoot track that.
  const v1 = new Map<string, string>();
  const v1Root = new Map<string, boolean>();
  let unified: string | undefined;
  let unifiedRoot = false;

  for (const m of parseMountInfo(text)) {
    const isRoot = m.root === '/';
    if (m.fstype === 'cgroup2') {
      if (unified === undefined || (isRoot && !unifiedRoot)) {
        unified = m.mountpoint;
        unifiedRoot = isRoot;
      }
    } else if (m.fstype === 'cgroup') {
      const ctrls = v1Controllers(m.superOptions).sort(); // sorted: stable combo keys whatever the kernel's order
      if (ctrls.length === 0) continue; // named hierarchy, e.g. name=systemd
      const keys = ctrls.length > 1 ? [...ctrls, ctrls.join(',')] : ctrls;
      for (const k of keys) {
        if (!v1.has(k) || (isRoot && !v1Root.get(k))) {
          v1.set(k, m.mountpoint);
          v1Root.set(k, isRoot);
        }
      }
    }
  }

  if (v1.size === 0 && unified === undefined) {
    throw new Error('cgroups: no cgroup or cgroup2 filesystem is mounted (checked mountinfo)');
  }
  const mode: CgroupMode = v1.size === 0 ? 'unified' : unified !== undefined ? 'hybrid' : 'legacy';
  const layout: CgroupLayout = { mode, v1 };
  if (unified !== undefined) layout.unified = unified;
  return layout;
}

/** Distinct v1 hierarchies (one per mount), in mountinfo order. */
export function v1Hierarchies(layout: CgroupLayout): V1Hierarchy[] {
  const byMount = new Map<string, string[]>();
  for (const [name, mp] of layout.v1) {
    if (name.includes(',')) continue; // combination keys are derivable
    const list = byMount.get(mp) ?? [];
    list.push(name);
    byMount.set(mp, list);
  }
  return [...byMount].map(([mountpoint, controllers]) => ({ key: controllers.join(','), controllers, mountpoint }));
}

export interface ProcCgroup {
  /** v1 hierarchy entries: each controller (and "name=..." for named hierarchies) → path. */
  v1: Map<string, string>;
  /** cgroup2 path ("0::<path>" line), if present. */
  unified?: string;
}

/** Parse /proc/<pid>/cgroup lines "hierarchy-id:controller-list:path". */
export function parseProcCgroup(text: string): ProcCgroup {
  const res: ProcCgroup = { v1: new Map() };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const id = line.slice(0, a);
    const ctrls = line.slice(a + 1, b);
    const p = line.slice(b + 1); // path may itself contain ':'
    if (id === '0' && ctrls === '') res.unified = p;
    else for (const c of ctrls.split(',')) if (c) res.v1.set(c, p);
  }
  return res;
}

export function ownCgroup(pid: number | 'self' = 'self'): ProcCgroup {
  return parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
}
