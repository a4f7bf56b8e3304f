/** The image endpoints: list, inspect, history, pull/import, push, tag, remove, prune, save, load. */
import type { DaemonContext } from '../../daemon/context';
import { ApiError, badRequest } from '../errors';
import { boolParam, filtersParam, jsonStream, labelsMatch, sendJson, untilCutoffMs, type Request, type Router } from '../http';
import { imageInspect, imageSummary } from '../wire/images';
import { parseNormalizedNamed, ReferenceError } from '../../image/reference';
import { pruneImages, removeImage } from '../../image/remove';
import { errorMessage, type JsonMessage } from '../../image/progress';
import type { Credentials } from '../../image/registry/auth';
import type { Image } from '../../image/service';

/** X-Registry-Auth: base64url JSON {username, password, serveraddress}; "" or "{}" means none. */
export function registryAuth(req: Request): Credentials | undefined {
  const h = req.raw.headers['x-registry-auth'];
  if (typeof h !== 'string' || h === '') return undefined;
  let data: { username?: string; password?: string; identitytoken?: string };
  try {
    data = JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw badRequest('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  if (!data || !data.username || !data.password) return undefined;
  return { username: data.username, password: data.password };
}

/** `name` + optional `tag` (a tag or a digest) as one reference string. */
function withTag(name: string, tag: string | null): string {
  if (!tag) return name;
  return tag.includes(':') ? `${name}@${tag}` : `${name}:${tag}`;
}

function matchesReference(img: Image, patterns: string[]): boolean {
  // Docker matches the familiar name (and name:tag) against shell-style patterns.
  const toRe = (p: string): RegExp => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  return img.repoTags.some((t) => {
    const name = t.slice(0, t.lastIndexOf(':'));
    return patterns.some((p) => toRe(p).test(t) || toRe(p).test(name));
  });
}

/**
 * Runs `work` streaming Docker JSON messages. The 200 is sent with the first message, so a
 * failure before any (an unknown tag, an unreachable registry) is a plain HTTP error as in
 * dockerd; after that, it becomes the stream's last message.
 */
async function streamed(res: Parameters<Parameters<Router['add']>[2]>[1], work: (send: (m: JsonMessage) => void) => Promise<void>): Promise<void> {
  let out: ReturnType<typeof jsonStream> | undefined;
  const send = (m: JsonMessage): void => {
    out ??= jsonStream(res);
    out.send(m);
  };
  try {
    await work(send);
  } catch (e) {
    if (!out) throw e;
    out.send(errorMessage(e));
  }
  (out ?? jsonStream(res)).end();
}

export function imageRoutes(r: Router, ctx: DaemonContext): void {
  const svc = ctx.images;
  const driverInfo = (img: Image) => ({ name: ctx.storage.driver === 'overlay' ? 'overlay2' : ctx.storage.driver, data: { ImageId: img.id } });

  r.add('GET', '/images/json', async (req, res) => {
    const f = filtersParam(req.query, ['dangling', 'reference', 'label', 'before', 'since', 'until']);
    let list = await svc.list();
    // `all` shows intermediate images in Docker; berth's images have no parent chain, so it changes nothing.
    const dangling = f.get('dangling')?.[0];
    if (dangling !== undefined) {
      if (!['true', 'false', '1', '0'].includes(dangling)) throw badRequest(`invalid filter 'dangling=${dangling}'`);
      const want = dangling === 'true' || dangling === '1';
      list = list.filter((i) => (i.repoTags.length === 0) === want);
    }
    const refs = f.get('reference');
    if (refs?.length) {
      // moby lists only the matching names of a matching image.
      list = list.filter((i) => matchesReference(i, refs)).map((i) => ({ ...i, repoTags: i.repoTags.filter((t) => matchesReference({ ...i, repoTags: [t] }, refs)) }));
    }
    const labels = f.get('label');
    if (labels?.length) list = list.filter((i) => labelsMatch(i.config.config?.Labels, labels));
    for (const key of ['before', 'since'] as const) {
      const v = f.get(key)?.[0];
      if (v === undefined) continue;
      const pivot = await svc.get(v);
      list = list.filter((i) => (key === 'before' ? i.created < pivot.created : i.created > pivot.created));
    }
    const usage = await ctx.imageUsage();
    sendJson(res, 200, list.map((i) => imageSummary(i, usage.byImage.get(i.id)?.length ?? 0)));
  });

  r.add('POST', '/images/create', async (req, res) => {
    const q = req.query;
    const fromImage = q.get('fromImage');
    const fromSrc = q.get('fromSrc');
    if (fromImage) {
      const ref = withTag(fromImage, q.get('tag'));
      const platform = q.get('platform');
      const [os, architecture, variant] = (platform ?? '').split('/');
      const auth = registryAuth(req);
      await streamed(res, async (send) => {
        const img = await svc.pull(ref, {
          onProgress: send,
          ...(platform ? { platform: { os: os || 'linux', architecture: architecture || 'amd64', ...(variant ? { variant } : {}) } } : {}),
          ...(auth ? { auth } : {}),
        });
        ctx.events.emit('image', 'pull', ref, { name: ref, id: img.id });
      });
      return;
    }
    if (fromSrc === '-') {
      const repo = q.get('repo');
      const ref = repo ? withTag(repo, q.get('tag')) : undefined;
      if (ref !== undefined) parseNormalizedNamed(ref); // a bad name is a 400 before the body is read
      const changes = q.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim() !== '');
      await streamed(res, async (send) => {
        const img = await svc.import(req.raw, { ...(ref ? { ref } : {}), changes, ...(q.get('message') ? { message: q.get('message')! } : {}) });
        send({ status: img.id });
        ctx.events.emit('image', 'import', img.id, { name: ref ?? '' });
      });
      return;
    }
    if (fromSrc) throw badRequest('importing from a URL is not supported: pass the tarball in the request body (fromSrc=-)');
    throw badRequest('fromImage or fromSrc is required');
  });

  r.add('GET', '/images/get', async (req, res) => {
    const names = req.query.getAll('names');
    if (names.length === 0) throw badRequest('names is required');
    for (const n of names) await svc.get(n); // 404 before the 200 starts
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await svc.save(names, res);
  });

  r.add('POST', '/images/load', async (req, res) => {
    // `quiet` only silences progress bars in dockerd; "Loaded image: …" lines are always sent.
    await streamed(res, async (send) => {
      for (const img of await svc.load(req.raw, send)) ctx.events.emit('image', 'load', img.id, { name: img.repoTags[0] ?? '' });
    });
  });

  r.add('POST', '/images/prune', async (req, res) => {
    const f = filtersParam(req.query, ['dangling', 'label', 'label!', 'until']);
    const dangling = f.get('dangling')?.[0] ?? 'true';
    const labels = f.get('label') ?? [];
    const notLabels = f.get('label!') ?? [];
    const cutoff = untilCutoffMs(f.get('until')?.[0]);
    const result = await pruneImages(svc, {
      all: dangling === 'false' || dangling === '0',
      usage: await ctx.imageUsage(),
      filter: (img) => labelsMatch(img.config.config?.Labels, labels, notLabels) && (cutoff === undefined || Date.parse(img.created) < cutoff),
    });
    sendJson(res, 200, { ImagesDeleted: result.ImagesDeleted.length ? result.ImagesDeleted : null, SpaceReclaimed: result.SpaceReclaimed });
  });

  r.add('GET', '/images/{name*}/json', async (req, res) => {
    const img = await svc.get(req.params.name!);
    sendJson(res, 200, imageInspect(img, driverInfo(img)));
  });

  r.add('GET', '/images/{name*}/history', async (req, res) => {
    const rows = await svc.history(req.params.name!);
    sendJson(res, 200, rows.map((h) => ({ Id: h.id, Created: h.created, CreatedBy: h.createdBy, Tags: h.tags.length ? h.tags : null, Size: h.size, Comment: h.comment })));
  });

  r.add('GET', '/images/{name*}/get', async (req, res) => {
    await svc.get(req.params.name!);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await svc.save([req.params.name!], res);
  });

  r.add('POST', '/images/{name*}/tag', async (req, res) => {
    const repo = req.query.get('repo');
    if (!repo) throw badRequest('repo is required');
    const tag = req.query.get('tag');
    if (tag && tag.includes(':')) throw badRequest(`invalid tag format: ${tag}`);
    try {
      const img = await svc.tag(req.params.name!, tag ? `${repo}:${tag}` : repo);
      ctx.events.emit('image', 'tag', img.id, { name: tag ? `${repo}:${tag}` : repo });
    } catch (e) {
      if (e instanceof ReferenceError) throw badRequest(e.message);
      throw e;
    }
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  });

  r.add('POST', '/images/{name*}/push', async (req, res) => {
    const name = withTag(req.params.name!, req.query.get('tag'));
    await svc.get(name); // 404 before streaming
    const auth = registryAuth(req);
    await streamed(res, async (send) => {
      await svc.push(name, { onProgress: send, ...(auth ? { auth } : {}) });
      ctx.events.emit('image', 'push', name, { name });
    });
  });

  r.add('DELETE', '/images/{name*}', async (req, res) => {
    const items = await removeImage(svc, req.params.name!, {
      force: boolParam(req.query, 'force'),
      prune: !boolParam(req.query, 'noprune'),
      usage: await ctx.imageUsage(),
    });
    for (const it of items) {
      if ('Untagged' in it) ctx.events.emit('image', 'untag', it.Untagged, { name: it.Untagged });
      else ctx.events.emit('image', 'delete', it.Deleted, { name: it.Deleted });
    }
    sendJson(res, 200, items);
  });

  // Unknown image operations still get Docker's error shape.
  r.add('GET', '/images/search', () => {
    throw new ApiError(501, 'image search is not supported by berth');
  });
}
