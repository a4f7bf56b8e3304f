// In-memory CgroupFs for unit tests: records every mutation, supports error
// injection, and lets tests emulate kernel behaviour through hooks (e.g. a
// new cgroup dir gets its control files; writing cgroup.freeze updates cgroup.events).
import { CgroupFs, DirEntry, fsError } from './fs';
import * as path from 'node:path';

export type FakeOp = { op: 'write'; path: string; data: string } | { op: 'mkdir' | 'rmdir'; path: string };

export interface FakeHooks {
  onMkdir?(dir: string, fake: FakeCgroupFs): void;
  /** Runs before the data is stored; may throw (kernel refusal) or return the content to store. */
  onWrite?(file: string, data: string, fake: FakeCgroupFs): string | void;
}

type Node = { dir: true } | { dir: false; data: string };

export class FakeCgroupFs implements CgroupFs {
  readonly log: FakeOp[] = [];
  private readonly nodes = new Map<string, Node>([['/', { dir: true }]]);
  private readonly faults: { op: string; path: string; code: string; times: number }[] = [];

  constructor(public hooks: FakeHooks = {}) {}

  // --- test helpers (not part of CgroupFs; do not log) ---
  seedDir(dir: string): this {
    const parts = dir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) this.nodes.set('/' + parts.slice(0, i).join('/'), { dir: true });
    return this;
  }
  seedFile(file: string, data = ''): this {
    this.seedDir(path.posix.dirname(file));
    this.nodes.set(file, { dir: false, data });
    return this;
  }
  /** Make the next `times` calls of `op` on `p` fail with `code`. */
  fail(op: 'read' | 'write' | 'mkdir' | 'rmdir' | 'readdir', p: string, code: string, times = 1): this {
    this.faults.push({ op, path: p, code, times });
    return this;
  }
  /** Mutations only, optionally filtered by op. */
  ops(op?: FakeOp['op']): FakeOp[] {
    return op ? this.log.filter((o) => o.op === op) : [...this.log];
  }
  writes(): [string, string][] {
    return this.log.flatMap((o) => (o.op === 'write' ? [[o.path, o.data] as [string, string]] : []));
  }
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  // --- CgroupFs ---
  readFile(file: string): string {
    this.fault('read', file);
    const n = this.nodes.get(file);
    if (!n) throw fsError('ENOENT', 'read', file);
    if (n.dir) throw fsError('EISDIR', 'read', file);
    return n.data;
  }
  writeFile(file: string, data: string): void {
    this.fault('write', file);
    const n = this.nodes.get(file);
    if (!n) throw fsError('ENOENT', 'open', file); // cgroupfs cannot create files
    if (n.dir) throw fsError('EISDIR', 'open', file);
    this.log.push({ op: 'write', path: file, data });
    const stored = this.hooks.onWrite?.(file, data, this);
    // the hook may have replaced nodes (seedFile), so store by path
    this.nodes.set(file, { dir: false, data: typeof stored === 'string' ? stored : data });
  }
  mkdir(dir: string): void {
    this.fault('mkdir', dir);
    if (this.nodes.has(dir)) throw fsError('EEXIST', 'mkdir', dir);
    if (!this.nodes.get(path.posix.dirname(dir))?.dir) throw fsError('ENOENT', 'mkdir', dir);
    this.log.push({ op: 'mkdir', path: dir });
    this.nodes.set(dir, { dir: true });
    this.hooks.onMkdir?.(dir, this);
  }
  rmdir(dir: string): void {
    this.fault('rmdir', dir);
    const n = this.nodes.get(dir);
    if (!n) throw fsError('ENOENT', 'rmdir', dir);
    if (!n.dir) throw fsError('ENOTDIR', 'rmdir', dir);
    const kids = this.children(dir);
    // Like cgroupfs: busy while it has child cgroups or member processes.
    if (kids.some((k) => k.isDirectory)) throw fsError('EBUSY', 'rmdir', dir);
    const procs = this.nodes.get(dir + '/cgroup.procs');
    if (procs && !procs.dir && procs.data.trim() !== '') throw fsError('EBUSY', 'rmdir', dir);
    this.log.push({ op: 'rmdir', path: dir });
    for (const k of kids) this.nodes.delete(dir + '/' + k.name);
    this.nodes.delete(dir);
  }
  exists(p: string): boolean {
    return this.nodes.has(p);
  }
  readdir(dir: string): DirEntry[] {
    this.fault('readdir', dir);
    if (!this.nodes.get(dir)?.dir) throw fsError('ENOENT', 'readdir', dir);
    return this.children(dir);
  }

  private children(dir: string): DirEntry[] {
    const prefix = dir === '/' ? '/' : dir + '/';
    const out: DirEntry[] = [];
    for (const [p, n] of this.nodes) {
      if (p.startsWith(prefix) && p !== dir && !p.slice(prefix.length).includes('/')) {
        out.push({ name: p.slice(prefix.length), isDirectory: n.dir });
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
  private fault(op: string, p: string): void {
    const f = this.faults.find((x) => x.op === op && x.path === p && x.times > 0);
    if (f) {
      f.times--;
      throw fsError(f.code, op, p);
    }
  }
}
