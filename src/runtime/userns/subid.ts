// Subordinate ID ranges (/etc/subuid, /etc/subgid, as shadow's newuidmap reads them): which host
// IDs a user may map into a user namespace. The engine checks a remapped container's mappings
// against them (userns-remap); berth-runtime itself runs as root and does not require them.
//
// A line is "owner:start:count"; the owner is a user name or a numeric uid. "#" starts a comment
// line; blank lines are skipped.
import * as fs from 'node:fs';
import { RuntimeError, errnoCode } from '../errors';
import type { LinuxIDMapping } from '../spec/types';

export interface SubIdRange {
  owner: string;
  start: number;
  count: number;
}

export interface SubIdFiles {
  subuid?: string;
  subgid?: string;
  /** To tell a user name from its uid (an entry may use either). */
  passwd?: string;
}

const MAX_ID = 0xffffffff;

/** The ranges of a subuid/subgid file; `file` names it in errors. A malformed line is an error. */
export function parseSubIds(text: string, file: string): SubIdRange[] {
  const out: SubIdRange[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(':');
    const bad = (why: string) => new RuntimeError(`${file}:${i + 1}: ${why} (got ${JSON.stringify(raw)})`);
    if (f.length !== 3 || !f[0]) throw bad('expected "name-or-uid:start:count"');
    if (!/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[2]!)) throw bad('start and count must be decimal numbers');
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (count < 1) throw bad('count must be at least 1');
    if (start + count > MAX_ID) throw bad(`the range runs past the largest ID ${MAX_ID - 1}`);
    out.push({ owner: f[0], start, count });
  });
  return out;
}

/** name ↔ uid from a passwd file (name:x:uid:...); a missing file is an empty list. */
function readPasswd(file: string): { name: string; uid: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw new RuntimeError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && f[0] && /^\d+$/.test(f[2] ?? ''))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]) }));
}

function readSubIds(file: string): SubIdRange[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RuntimeError(`cannot read ${file}: ${errnoCode(e) === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
  }
  return parseSubIds(text, file);
}

/** The ranges delegated to `names` (a user's name and uid), merged and sorted. */
function rangesOf(all: SubIdRange[], names: Set<string>): [number, number][] {
  const mine = all.filter((r) => names.has(r.owner)).map((r): [number, number] => [r.start, r.start + r.count]);
  mine.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of mine) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

const show = (ranges: [number, number][]) => ranges.map(([a, b]) => `${a}-${b - 1}`).join(', ');

/**
 * Throws unless every mapping's host range lies inside the ranges /etc/subuid (uidMappings) and
 * /etc/subgid (gidMappings) delegate to `user` (a name or a uid). Adjacent delegated ranges count
 * as one, as newuidmap allows.
 */
export function checkSubordinateRanges(
  user: string | number,
  uidMappings: readonly LinuxIDMapping[] = [],
  gidMappings: readonly LinuxIDMapping[] = [],
  files: SubIdFiles = {},
): void {
  const passwd = readPasswd(files.passwd ?? '/etc/passwd');
  const names = new Set<string>([String(user)]);
  const entry = typeof user === 'number' || /^\d+$/.test(user) ? passwd.find((p) => p.uid === Number(user)) : passwd.find((p) => p.name === user);
  if (entry) {
    names.add(entry.name);
    names.add(String(entry.uid));
  }
  const who = typeof user === 'number' ? `uid ${user}${entry ? ` (${entry.name})` : ''}` : `user ${JSON.stringify(user)}`;
  for (const [kind, maps, file] of [
    ['uid', uidMappings, files.subuid ?? '/etc/subuid'],
    ['gid', gidMappings, files.subgid ?? '/etc/subgid'],
  ] as const) {
    if (!maps.length) continue;
    const ranges = rangesOf(readSubIds(file), names);
    if (!ranges.length) throw new RuntimeError(`${who} has no subordinate ${kind} range in ${file}`);
    maps.forEach((m, i) => {
      const end = m.hostID + m.size;
      if (!ranges.some(([a, b]) => m.hostID >= a && end <= b)) {
        throw new RuntimeError(
          `${kind}Mappings[${i}]: host ${kind}s ${m.hostID}-${end - 1} are not delegated to ${who} in ${file} (its ranges: ${show(ranges)})`,
        );
      }
    });
  }
}
