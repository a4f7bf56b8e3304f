/** `GET /events` (history since/until, then live, filtered) and `GET /system/df`. */
import type { DaemonContext } from '../../daemon/context';
import type { Engine } from '../../engine/engine';
import type { EngineEvent } from '../../engine/events';
import { badRequest } from '../errors';
import { parseTimestampNs } from '../../format/timestamp';
import { filtersParam, labelsMatch, sendJson, type Router } from '../http';
import { imageSummary } from '../wire/images';
import { containerSummary } from '../wire/containers';

/** Docker's time arguments: unix seconds (with fraction), RFC 3339, or a duration like "10m" before now. */
export function parseTimeArg(v: string, now = Date.now()): number {
  try {
    return Number(parseTimestampNs(v, now));
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

function matches(e: EngineEvent, f: Map<string, string[]>): boolean {
  const want = (k: string, v: string | undefined): boolean => {
    const vals = f.get(k);
    return !vals?.length || (v !== undefined && vals.includes(v));
  };
  if (!want('type', e.Type) || !want('event', e.Action.split(':')[0])) return false;
  const containers = f.get('container');
  if (containers?.length && !(e.Type === 'container' && containers.some((c) => e.Actor.ID.startsWith(c) || e.Actor.Attributes.name === c))) return false;
  const images = f.get('image');
  if (images?.length && !images.some((i) => e.Actor.Attributes.image === i || (e.Type === 'image' && (e.Actor.ID === i || e.Actor.Attributes.name === i)))) return false;
  return labelsMatch(e.Actor.Attributes, f.get('label') ?? []);
}

export function eventRoutes(r: Router, ctx: DaemonContext, engine: Engine): void {
  r.add('GET', '/events', async (req, res) => {
    const f = filtersParam(req.query, ['container', 'event', 'image', 'label', 'type', 'daemon', 'network', 'volume', 'plugin', 'node', 'service', 'secret', 'config', 'scope']);
    const since = req.query.get('since');
    const until = req.query.get('until');
    const sinceNs = since ? parseTimeArg(since) : undefined;
    const untilNs = until ? parseTimeArg(until) : undefined;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const send = (e: EngineEvent): boolean => {
      if (untilNs !== undefined && e.timeNano > untilNs) return false;
      if (matches(e, f)) res.write(JSON.stringify(e) + '\n');
      return true;
    };
    if (sinceNs !== undefined) for (const e of engine.events.since(sinceNs)) send(e);
    if (untilNs !== undefined && untilNs <= Date.now() * 1e6) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const unsubscribe = engine.events.subscribe((e) => {
        if (!send(e)) finish();
      });
      const finish = (): void => {
        unsubscribe();
        if (timer) clearTimeout(timer);
        res.end();
        resolve();
      };
      if (untilNs !== undefined) timer = setTimeout(finish, Math.max(0, untilNs / 1e6 - Date.now()));
      res.on('close', finish);
    });
  });

  r.add('GET', '/system/df', async (_req, res) => {
    const usage = engine.imageUsage();
    const images = (await ctx.images.list()).map((i) => imageSummary(i, usage.byImage.get(i.id)?.length ?? 0));
    const containers = [];
    for (const c of engine.store.all()) containers.push(containerSummary(c, { sizeRw: await ctx.snapshotter.usage(c.Id).catch(() => 0) }));
    sendJson(res, 200, {
      LayersSize: images.reduce((n, i) => n + i.Size, 0),
      Images: images,
      Containers: containers,
      Volumes: [],
      BuildCache: [],
    });
  });
}
