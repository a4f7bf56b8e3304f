/**
 * The engine's event stream (`GET /events`, `docker events`): Docker's message shape, a bounded
 * history for `since`, and live subscribers.
 */
export interface EngineEvent {
  Type: 'container' | 'image' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Deprecated fields the docker CLI still reads for containers and images.
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 1024;

export class EventBus {
  private readonly history: EngineEvent[] = [];
  private readonly subscribers = new Set<(e: EngineEvent) => void>();

  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type !== 'daemon') {
      e.status = action;
      e.id = id;
      if (attributes.image) e.from = attributes.image;
    }
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const s of this.subscribers) s(e);
    return e;
  }

  /** Events at or after `sinceNs` still in the history. */
  since(sinceNs: number): EngineEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNs);
  }

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
