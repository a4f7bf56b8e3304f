// v1 pids controller: pids.max caps the number of tasks (threads included).
// Only fork/clone is refused at the limit: a task moved in can push
// pids.current above pids.max.
import { joinPath } from '../fs';
import type { LinuxPids } from '../../spec/types';
import type { PidsStats } from '../stats';
import { parseCounter } from '../units';
import { V1Context, readOptional, requireDir, writeField } from './util';

/** OCI limit → pids.max text: ≤ 0 (including -1) is "max". */
export function pidsMaxValue(limit: number | bigint): string {
  const b = BigInt(limit);
  return b <= 0n ? 'max' : b.toString();
}

export function applyPids(ctx: V1Context, p: LinuxPids | undefined): void {
  if (!p || p.limit === undefined) return;
  const dir = requireDir(ctx, 'pids', 'pids.limit');
  writeField(ctx.o, 'pids.limit', joinPath(dir, 'pids.max'), pidsMaxValue(p.limit));
}

export function pidsStats(ctx: V1Context): PidsStats {
  const dir = ctx.dirOf('pids');
  if (dir === undefined) return {};
  const s: PidsStats = {};
  const cur = readOptional(ctx.o, joinPath(dir, 'pids.current'));
  if (cur !== undefined) s.current = parseCounter(cur);
  const max = readOptional(ctx.o, joinPath(dir, 'pids.max'))?.trim();
  if (max !== undefined) s.limit = max === 'max' ? 0 : parseCounter(max);
  return s;
}
