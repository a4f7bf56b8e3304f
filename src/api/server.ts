/**
 * The Docker Engine API server: routes every request through the version prefix and the route
 * table, turns thrown errors into Docker's status codes and `{"message"}` bodies, and never lets
 * a bad request take the daemon down.
 */
import * as http from 'node:http';
import { ApiError, statusOf } from './errors';
import { Router, sendJson, splitVersion, API_VERSION, type Request } from './http';
import type { DaemonContext } from '../daemon/context';
import { systemRoutes } from './routes/system';
import { imageRoutes } from './routes/images';

export function createApiServer(ctx: DaemonContext): http.Server {
  const router = new Router();
  systemRoutes(router, ctx);
  imageRoutes(router, ctx);

  return http.createServer((raw, res) => {
    const started = Date.now();
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', `berth/${ctx.version} (linux)`);
    res.setHeader('Ostype', 'linux');
    const url = new URL(raw.url ?? '/', 'http://berthd');
    const method = raw.method ?? 'GET';
    const fail = (e: unknown): void => {
      const status = statusOf(e);
      const message = e instanceof Error ? e.message : String(e);
      if (status >= 500 && !(e instanceof ApiError)) ctx.log(`error: ${method} ${url.pathname}: ${e instanceof Error ? (e.stack ?? message) : message}`);
      if (res.headersSent) {
        // Streaming already began: the message goes in-band (jsonmessage error).
        if (!res.writableEnded) res.end(JSON.stringify({ error: message, errorDetail: { message } }) + '\n');
        return;
      }
      sendJson(res, status, { message });
    };
    try {
      const { version, path } = splitVersion(url.pathname);
      const { handler, params } = router.match(method, path);
      const req: Request = { raw, method, path, version, query: url.searchParams, params };
      Promise.resolve(handler(req, res))
        .catch(fail)
        .finally(() => {
          if (ctx.config.debug) ctx.log(`${method} ${url.pathname}${url.search} ${res.statusCode} ${Date.now() - started}ms`);
        });
    } catch (e) {
      fail(e);
    }
  });
}
