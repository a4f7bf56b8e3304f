/**
 * The Docker Engine API server: routes every request through the version prefix and the route
 * table, turns thrown errors into Docker's status codes and `{"message"}` bodies, and never lets
 * a bad request take the daemon down.
 */
import * as http from 'node:http';
import { ApiError, statusOf } from './errors';
import { Router, readUpgradeBody, sendJson, splitVersion, API_VERSION, type Request, type UpgradeHandler } from './http';
import { socketError } from './stream';
import type { Engine } from '../engine/engine';
import type { ExecManager } from '../engine/exec';
import { containerRoutes } from './routes/containers';
import { attachRoutes } from './routes/attach';
import { eventRoutes } from './routes/events';
import { statsRoutes } from './routes/stats';
import type { DaemonContext } from '../daemon/context';
import { systemRoutes } from './routes/system';
import { imageRoutes } from './routes/images';
import { archiveRoutes } from './routes/archive';

export function createApiServer(ctx: DaemonContext, engine: Engine, execs: ExecManager): http.Server {
  const router = new Router();
  const upgrades = new Router<UpgradeHandler>();
  systemRoutes(router, ctx);
  imageRoutes(router, ctx);
  containerRoutes(router, ctx, engine);
  attachRoutes(router, upgrades, ctx, engine, execs);
  eventRoutes(router, ctx, engine);
  statsRoutes(router, engine);
  archiveRoutes(router, ctx, engine);

  const server = http.createServer((raw, res) => {
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

  // Attach and exec start hijack the connection (`Upgrade: tcp`).
  server.on('upgrade', (raw: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const url = new URL(raw.url ?? '/', 'http://berthd');
    const method = raw.method ?? 'POST';
    socket.on('error', () => socket.destroy());
    const fail = (e: unknown): void => {
      const message = e instanceof Error ? e.message : String(e);
      if (statusOf(e) >= 500) ctx.log(`error: ${method} ${url.pathname}: ${message}`);
      if (socket.writable) socketError(socket, statusOf(e), message);
    };
    try {
      const { version, path } = splitVersion(url.pathname);
      const { handler, params } = upgrades.match(method, path);
      readUpgradeBody(raw, socket, head)
        .then((body) => handler({ raw, method, path, version, query: url.searchParams, params, body }, socket, Buffer.alloc(0)))
        .catch(fail);
    } catch (e) {
      fail(e);
    }
  });
  return server;
}
