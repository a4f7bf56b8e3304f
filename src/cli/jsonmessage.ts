/**
 * Rendering the daemon's JSON progress stream (pull, push, load, import) the way docker's
 * CLI does (moby pkg/jsonmessage DisplayJSONMessagesStream):
 *
 *  - on a terminal, every message with an id and a progressDetail owns one line, redrawn in
 *    place with ANSI cursor movement ("\x1b[2K" erase, "\x1b[nA"/"\x1b[nB" up/down);
 *  - piped, byte-count updates are dropped and every other status is a plain line;
 *  - a message without an id resets the per-id lines;
 *  - an error message ends the stream: render() rejects with its text.
 */
import { humanSize } from './format/units';

export interface JSONProgress {
  current?: number;
  total?: number;
  start?: number;
  hidecounts?: boolean;
  units?: string;
}

export interface JSONMessage {
  stream?: string;
  status?: string;
  progressDetail?: JSONProgress;
  progress?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: unknown;
}

export class JSONMessageError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface RenderOptions {
  isTerminal: boolean;
  /** Terminal width (progress bars need more than 110 columns); 200 when unknown, as docker. */
  width?: number;
  onAux?: (m: JSONMessage) => void;
  now?: () => number;
}

/** Go's time.Duration.String() for a whole number of seconds. */
function goDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.trunc(seconds / 3600);
  const m = Math.trunc((seconds % 3600) / 60);
  const s = seconds % 60;
  return (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${s}s`;
}

/** JSONProgress.String(): "[====>     ]  1.2MB/3.4MB 5s" (bar only on wide terminals). */
export function progressString(p: JSONProgress, width: number, nowMs = Date.now()): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  let percentage = Math.trunc(Math.trunc((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  let numbers = '';
  if (p.hidecounts) numbers = '';
  else if (!p.units) {
    numbers = `${humanSize(current).padStart(8)}/${humanSize(total)}`;
    if (current > total) numbers = humanSize(current).padStart(8);
  } else {
    numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
  }
  let left = '';
  if (width > 50 && current > 0 && p.start && p.start > 0 && percentage < 50) {
    const fromStartNs = (nowMs - p.start * 1000) * 1e6;
    const perEntry = Math.trunc(fromStartNs / current);
    left = ' ' + goDuration(Math.round(((total - current) * perEntry) / 1e9));
  }
  return bar + numbers + left;
}

function rfc3339NanoFixed(ns: number): string {
  const d = new Date(Math.trunc(ns / 1e6));
  const frac = String(Math.trunc(ns % 1e9)).padStart(9, '0');
  return d.toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

export class JSONMessageRenderer {
  private ids = new Map<string, number>();
  private pending = '';
  private readonly width: number;

  constructor(
    private readonly write: (s: string) => void,
    private readonly opts: RenderOptions,
  ) {
    this.width = opts.width ?? 200;
  }

  /** Feed raw stream bytes; throws JSONMessageError at an error message. */
  feed(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      this.line(line);
    }
  }

  /** End of stream: a last message without a trailing newline still counts. */
  end(): void {
    const rest = this.pending;
    this.pending = '';
    this.line(rest);
  }

  private line(text: string): void {
    if (text.trim() === '') return;
    let jm: JSONMessage;
    try {
      jm = JSON.parse(text) as JSONMessage;
    } catch {
      throw new JSONMessageError(`invalid character in progress stream: ${JSON.stringify(text.slice(0, 80))}`);
    }
    this.message(jm);
  }

  message(jm: JSONMessage): void {
    if (jm.aux !== undefined && jm.aux !== null) {
      this.opts.onAux?.(jm);
      return;
    }
    const term = this.opts.isTerminal;
    let diff = 0;
    const hasProgress = jm.progressDetail !== undefined && jm.progressDetail !== null;
    if (jm.id && (hasProgress || jm.progress)) {
      let line = this.ids.get(jm.id);
      if (line === undefined) {
        line = this.ids.size;
        this.ids.set(jm.id, line);
        if (term) this.write('\n');
      }
      diff = this.ids.size - line;
      if (term && diff > 0) this.write(`\x1b[${diff}A`);
    } else {
      this.ids = new Map();
    }
    const err = this.display(jm, hasProgress);
    if (jm.id && term && diff > 0) this.write(`\x1b[${diff}B`);
    if (err) throw err;
  }

  private display(jm: JSONMessage, hasProgress: boolean): JSONMessageError | undefined {
    if (jm.errorDetail || jm.error) {
      return new JSONMessageError(jm.errorDetail?.message ?? jm.error ?? '', jm.errorDetail?.code);
    }
    const term = this.opts.isTerminal;
    const now = this.opts.now?.() ?? Date.now();
    let endl = '';
    const progress = hasProgress ? progressString(jm.progressDetail!, this.width, now) : '';
    if (term && !jm.stream && hasProgress) {
      endl = '\r';
      this.write('\x1b[2K\r');
    } else if (hasProgress && progress !== '') {
      return undefined; // no progress bars when piped
    }
    let s = '';
    if (jm.timeNano) s += rfc3339NanoFixed(jm.timeNano) + ' ';
    else if (jm.time) s += rfc3339NanoFixed(jm.time * 1e9) + ' ';
    if (jm.id) s += `${jm.id}: `;
    if (jm.from) s += `(from ${jm.from}) `;
    const status = jm.status ?? '';
    if (hasProgress && term) s += `${status} ${progress}${endl}`;
    else if (jm.progress) s += `${status} ${jm.progress}${endl}`;
    else if (jm.stream) s += `${jm.stream}${endl}`;
    else s += `${status}${endl}\n`;
    this.write(s);
    return undefined;
  }
}
