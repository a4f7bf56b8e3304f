/**
 * Docker's JSON progress messages (moby `pkg/jsonmessage`): what `POST /images/create`,
 * `/images/{name}/push` and `/images/load` stream, one JSON object per line, and what the
 * docker CLI redraws per layer id. Registry and unpack events are translated here.
 */
import { humanSize } from '../format/go-units';

export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: ProgressDetail;
  /** The rendered bar, e.g. "[=====>     ]  1.2MB/3.4MB", for clients that don't draw their own. */
  progress?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message: string; code?: number };
  aux?: Record<string, unknown>;
}

export type ProgressSink = (m: JsonMessage) => void;

/** The bar moby renders for a progress detail (50 columns wide). */
export function progressBar(current: number, total?: number): string {
  if (total === undefined || total <= 0) return `${humanSize(current).padStart(8)}`;
  const width = 50;
  const pct = Math.min(1, Math.max(0, current / total));
  const filled = Math.floor(pct * width);
  const bar = '='.repeat(filled) + (filled < width ? '>' + ' '.repeat(width - filled - 1) : '');
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** A message for a layer `id` in state `status`, with a bar when there are byte counts. */
export function layerMessage(id: string, status: string, current?: number, total?: number): JsonMessage {
  const m: JsonMessage = { status, id, progressDetail: {} };
  if (current !== undefined) {
    m.progressDetail = total !== undefined ? { current, total } : { current };
    m.progress = progressBar(current, total);
  }
  return m;
}

/** The error message that ends a stream (the CLI prints `errorDetail.message` and exits 1). */
export function errorMessage(e: unknown): JsonMessage {
  const message = e instanceof Error ? e.message : String(e);
  return { error: message, errorDetail: { message } };
}

/**
 * Throttles per-layer byte-count messages (at most one per layer per `intervalMs`, plus the
 * last), so a fast local pull doesn't send thousands of lines. Other messages pass at once.
 */
export function throttled(sink: ProgressSink, intervalMs = 100): ProgressSink {
  const last = new Map<string, number>();
  return (m) => {
    const d = m.progressDetail;
    if (m.id !== undefined && d?.current !== undefined && d.total !== undefined && d.current < d.total) {
      const key = `${m.id}\0${m.status}`;
      const now = Date.now();
      if (now - (last.get(key) ?? 0) < intervalMs) return;
      last.set(key, now);
    }
    sink(m);
  };
}
