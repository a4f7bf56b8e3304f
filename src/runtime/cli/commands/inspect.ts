// state, list, ps: what is there and how it is doing.
import { spawnSync } from 'node:child_process';
import { loadCgroupManager } from '../../cgroups';
import { RuntimeError } from '../../errors';
import type { RuntimeContext } from '../../lifecycle/context';
import { ociState } from '../../lifecycle/status';
import { bool, parseArgs, str, oneId } from '../args';

export async function cmdState(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, {});
  process.stdout.write(JSON.stringify(ociState(ctx.store, ctx.store.read(oneId(p, 'state'))), null, '  ') + '\n');
  return 0;
}

/** Go's text/tabwriter as runc configures it: minwidth 12, padding 3. */
export function table(rows: string[][]): string {
  // Width in code points, as Go counts runes.
  const len = (s: string | undefined) => [...(s ?? '')].length;
  const widths = rows[0].map((_, c) => Math.max(12, ...rows.map((r) => len(r[c]) + 3)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[c] - len(cell))))).join('')).join('\n') + '\n';
}

export async function cmdList(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { format: { kind: 'string', alias: ['f'] }, quiet: { kind: 'bool', alias: ['q'] } });
  const states = [];
  for (const id of ctx.store.ids()) {
    try {
      states.push(ociState(ctx.store, ctx.store.read(id)));
    } catch {
      /* a create in progress, or a half-made one: not a container yet */
    }
  }
  if (bool(p, 'quiet')) {
    process.stdout.write(states.map((s) => s.id + '\n').join(''));
    return 0;
  }
  const format = str(p, 'format') ?? 'table';
  if (format === 'json') {
    process.stdout.write(JSON.stringify(states) + '\n');
  } else if (format === 'table') {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, 'root'])];
    process.stdout.write(table(rows));
  } else {
    throw new RuntimeError(`list: invalid --format ${JSON.stringify(format)} (table or json)`);
  }
  return 0;
}

export async function cmdPs(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { format: { kind: 'string', alias: ['f'] } }, { stopAfterPositionals: 1 });
  const [id, ...psArgs] = p.positional;
  if (!id) throw new RuntimeError('ps: usage: berth-runtime ps [--format table|json] <container-id> [ps options]');
  const state = ctx.store.read(id);
  const pids = loadCgroupManager(state.cgroup).pids().sort((a, b) => a - b);
  const format = str(p, 'format') ?? 'table';
  if (format === 'json') {
    process.stdout.write(JSON.stringify(pids) + '\n');
    return 0;
  }
  if (format !== 'table') throw new RuntimeError(`ps: invalid --format ${JSON.stringify(format)} (table or json)`);
  // As runc does: the host's ps, filtered to the container's pids.
  const r = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (r.status !== 0) throw new RuntimeError(`ps failed: ${r.stderr || r.error?.message}`);
  const lines = r.stdout.split('\n');
  const col = lines[0].trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new RuntimeError('ps: the ps output has no PID column');
  const wanted = new Set(pids.map(String));
  process.stdout.write([lines[0], ...lines.slice(1).filter((l) => wanted.has(l.trim().split(/\s+/)[col]))].join('\n') + '\n');
  return 0;
}
