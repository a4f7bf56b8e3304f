// Stop signals as moby's pkg/signal.ParseSignal reads them: a number, or a name with or
// without "SIG" in any case, including the real-time ones "RTMIN+3" / "RTMAX-2".

import { SpecInputError } from './errors';

/** Linux signal names (without SIG) -> numbers, as moby's SignalMap for linux. */
export const SIGNALS: Readonly<Record<string, number>> = Object.freeze(((): Record<string, number> => {
  const m: Record<string, number> = {
    HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
    USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20,
    TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29,
    PWR: 30, SYS: 31, UNUSED: 31, RTMIN: 34, RTMAX: 64,
  };
  for (let i = 1; i <= 15; i++) m[`RTMIN+${i}`] = 34 + i;
  for (let i = 1; i <= 14; i++) m[`RTMAX-${i}`] = 64 - i;
  return m;
})());

/** The largest signal number on Linux (SIGRTMAX). */
const SIGMAX = 64;

/**
 * "SIGTERM", "term", "TERM", "15" -> 15. Throws SpecInputError ("Invalid signal: X", moby's
 * message, with what is accepted) for anything else, including 0.
 */
export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= SIGMAX) return n;
  } else {
    const name = s.toUpperCase().replace(/^SIG/, '');
    const n = Object.prototype.hasOwnProperty.call(SIGNALS, name) ? SIGNALS[name] : undefined;
    if (n !== undefined) return n;
  }
  throw new SpecInputError(
    `Invalid signal: ${raw} (expected a signal name such as SIGTERM or TERM, or a number from 1 to ${SIGMAX})`,
  );
}
