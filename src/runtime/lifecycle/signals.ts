// Signal names as runc accepts them: "KILL", "SIGKILL", "9", "SIGRTMIN+3".
import * as os from 'node:os';
import { RuntimeError } from '../errors';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export function parseSignal(raw: string | undefined, fallback = 'SIGTERM'): number {
  const s = (raw || fallback).trim().toUpperCase(); // runc: an empty signal means the default
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= SIGRTMAX) return n;
  } else {
    const name = s.startsWith('SIG') ? s : `SIG${s}`;
    const sigs = os.constants.signals as Record<string, number>;
    if (name in sigs) return sigs[name];
    const rt = name.match(/^SIGRT(MIN|MAX)([+-]\d+)?$/);
    if (rt) {
      const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
      if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
  }
  throw new RuntimeError(`unknown signal ${JSON.stringify(raw)}: use a name such as KILL or SIGTERM, or a number from 1 to ${SIGRTMAX}`);
}
