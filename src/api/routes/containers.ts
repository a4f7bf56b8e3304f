/** Container endpoints: create, start/stop/restart/kill, wait, remove, inspect, list, pause, rename, prune, changes, export. */
import type { DaemonContext } from '../../daemon/context';
import type { Engine } from '../../engine/engine';
import type { ChangeKind } from '../../storage/snapshotter';
import { commitImage } from '../../image/commit';
import { updateResources } from '../../engine/update';
import { badRequest } from '../errors';
import { boolParam, filtersParam, intParam, jsonBody, labelsMatch, sendEmpty, sendJson, untilCutoffMs, type Router } from '../http';
import { containerInspect, containerSummary } from '../wire/containers';
import type { ContainerConfig, HostConfig } from '../../engine/spec/docker-types';

type CreateBody = ContainerConfig & { HostConfig?: HostConfig; NetworkingConfig?: unknown };

/** The fields of a container's config that an image config keeps (what `docker commit` records). */
function imageConfigOf(c: ContainerConfig): Record<string, unknown> {
  const keep = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keep) if (c[k] !== undefined && c[k] !== null && c[k] !== '') out[k] = c[k];
  return out;
}

function timeoutParam(q: URLSearchParams): number | undefined {
  const t = q.get('t') ?? q.get('timeout');
  if (t === null || t === '') return undefined;
  if (!/^-?\d+$/.test(t)) throw badRequest(`invalid value for t: ${JSON.stringify(t)}`);
  return Number(t);
}

export function containerRoutes(r: Router, ctx: DaemonContext, engine: Engine): void {
  r.add('POST', '/containers/create', async (req, res) => {
    const body = await jsonBody<CreateBody>(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid JSON body: expected an object');
    const { HostConfig: hostConfig = {}, NetworkingConfig: _n, ...config } = body;
    void _n;
    const name = req.query.get('name') || undefined;
    const result = await engine.create(name, config, hostConfig);
    sendJson(res, 201, result);
  });

  r.add('GET', '/containers/json', async (req, res) => {
    const f = filtersParam(req.query, ['status', 'name', 'id', 'label', 'exited', 'ancestor', 'before', 'since', 'network', 'health', 'volume', 'publish', 'expose', 'is-task']);
    const all = boolParam(req.query, 'all');
    const limit = intParam(req.query, 'limit', -1);
    let list = engine.store.all().sort((a, b) => (a.Created < b.Created ? 1 : -1));
    if (!all && !f.has('status') && !f.has('exited')) list = list.filter((c) => c.State.Running);
    const statuses = f.get('status');
    if (statuses?.length) {
      const allowed = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
      for (const s of statuses) if (!allowed.includes(s)) throw badRequest(`invalid filter 'status=${s}'`);
      list = list.filter((c) => statuses.includes(c.State.Status));
    }
    const exited = f.get('exited');
    if (exited?.length) list = list.filter((c) => c.State.Status === 'exited' && exited.includes(String(c.State.ExitCode)));
    const names = f.get('name');
    if (names?.length) list = list.filter((c) => names.some((n) => new RegExp(n.replace(/^\//, '')).test(c.Name)));
    const ids = f.get('id');
    if (ids?.length) list = list.filter((c) => ids.some((i) => c.Id.startsWith(i)));
    const labels = f.get('label');
    if (labels?.length) list = list.filter((c) => labelsMatch(c.Config.Labels, labels));
    const ancestors = f.get('ancestor');
    if (ancestors?.length) {
      const ids2 = new Set<string>();
      for (const a of ancestors) {
        try {
          ids2.add((await ctx.images.get(a)).id);
        } catch {
          /* unknown image: matches nothing */
        }
      }
      list = list.filter((c) => ids2.has(c.Image));
    }
    for (const key of ['before', 'since'] as const) {
      const v = f.get(key)?.[0];
      if (v === undefined) continue;
      const pivot = engine.get(v);
      list = list.filter((c) => (key === 'before' ? c.Created < pivot.Created : c.Created > pivot.Created));
    }
    if (limit > 0) list = list.slice(0, limit);
    const withSize = boolParam(req.query, 'size');
    const out = [];
    for (const c of list) out.push(containerSummary(c, withSize ? { sizeRw: await ctx.snapshotter.usage(c.Id).catch(() => 0) } : {}));
    sendJson(res, 200, out);
  });

  r.add('GET', '/containers/{id}/json', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const out = containerInspect(rec, { execIds: ctx.execIdsOf(rec.Id), graphDriver: {} });
    if (boolParam(req.query, 'size')) {
      const size = await ctx.snapshotter.usage(rec.Id).catch(() => 0);
      Object.assign(out, { SizeRw: size, SizeRootFs: size });
    }
    sendJson(res, 200, out);
  });

  r.add('POST', '/containers/{id}/start', async (req, res) => {
    await engine.start(req.params.id!);
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/stop', async (req, res) => {
    const t = timeoutParam(req.query);
    await engine.stop(req.params.id!, { ...(req.query.get('signal') ? { signal: req.query.get('signal')! } : {}), ...(t !== undefined ? { timeout: t } : {}) });
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/restart', async (req, res) => {
    const t = timeoutParam(req.query);
    await engine.restart(req.params.id!, { ...(req.query.get('signal') ? { signal: req.query.get('signal')! } : {}), ...(t !== undefined ? { timeout: t } : {}) });
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/kill', async (req, res) => {
    await engine.kill(req.params.id!, req.query.get('signal') || 'SIGKILL');
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/wait', async (req, res) => {
    const condition = (req.query.get('condition') || 'not-running') as 'not-running' | 'next-exit' | 'removed';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw badRequest(`invalid condition: ${JSON.stringify(condition)}`);
    const waiting = engine.wait(req.params.id!, condition);
    // Headers now, so a client can tell the wait is registered before it starts the container.
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const result = await waiting;
    res.end(JSON.stringify(result) + '\n');
  });

  r.add('DELETE', '/containers/{id}', async (req, res) => {
    if (boolParam(req.query, 'link')) throw badRequest('links are not supported by berth');
    await engine.remove(req.params.id!, { force: boolParam(req.query, 'force') });
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/pause', async (req, res) => {
    await engine.pause(req.params.id!);
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/unpause', async (req, res) => {
    await engine.unpause(req.params.id!);
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/{id}/update', async (req, res) => {
    const body = await jsonBody<Parameters<typeof updateResources>[2]>(req);
    sendJson(res, 200, await updateResources(engine, req.params.id!, body));
  });

  r.add('POST', '/containers/{id}/rename', async (req, res) => {
    const name = req.query.get('name');
    if (!name) throw badRequest('name is required');
    engine.rename(req.params.id!, name);
    sendEmpty(res, 204);
  });

  r.add('POST', '/containers/prune', async (req, res) => {
    const f = filtersParam(req.query, ['until', 'label', 'label!']);
    const labels = f.get('label') ?? [];
    const notLabels = f.get('label!') ?? [];
    const cutoff = untilCutoffMs(f.get('until')?.[0]) ?? Infinity;
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of engine.store.all()) {
      if (c.State.Running || c.State.Paused || c.State.Restarting) continue;
      if (!labelsMatch(c.Config.Labels, labels, notLabels) || Date.parse(c.Created) >= cutoff) continue;
      reclaimed += await ctx.snapshotter.usage(c.Id).catch(() => 0);
      await engine.remove(c.Id);
      deleted.push(c.Id);
    }
    sendJson(res, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  r.add('POST', '/commit', async (req, res) => {
    const q = req.query;
    const ref = q.get('container');
    if (!ref) throw badRequest('container is required');
    const rec = engine.get(ref);
    const body = await jsonBody<ContainerConfig>(req);
    const repo = q.get('repo');
    const tag = q.get('tag');
    const pause = q.get('pause') === null ? true : boolParam(q, 'pause');
    const base = await ctx.images.get(rec.Image).catch(() => undefined);
    const paused = pause && rec.State.Running && !rec.State.Paused;
    if (paused) await engine.pause(rec.Id);
    try {
      const img = await commitImage(ctx.images, base, await ctx.snapshotter.diffTar(rec.Id), {
        ...(repo ? { ref: tag ? `${repo}:${tag}` : repo } : {}),
        ...(q.get('author') ? { author: q.get('author')! } : {}),
        ...(q.get('comment') ? { comment: q.get('comment')! } : {}),
        changes: q.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim() !== ''),
        config: imageConfigOf({ ...rec.Config, ...(Object.keys(body).length ? body : {}) }),
        createdBy: [rec.Path, ...rec.Args].join(' '),
      });
      engine.events.emit('container', 'commit', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '', imageID: img.id });
      sendJson(res, 201, { Id: img.id });
    } finally {
      if (paused) await engine.unpause(rec.Id).catch(() => undefined);
    }
  });

  r.add('GET', '/containers/{id}/changes', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const changes = await ctx.snapshotter.changes(rec.Id);
    sendJson(res, 200, changes.map((c) => ({ Path: c.Path, Kind: c.Kind as ChangeKind })));
  });

  r.add('GET', '/containers/{id}/export', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const tar = await ctx.snapshotter.exportTar(rec.Id);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    tar.pipe(res);
    await new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      res.on('finish', resolve);
      res.on('close', resolve);
    });
    engine.events.emit('container', 'export', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '' });
  });

}
