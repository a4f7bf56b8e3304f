/** `docker cp`: HEAD|GET|PUT /containers/{id}/archive?path= (see src/engine/archive.ts). */
import { pipeline } from 'node:stream/promises';
import type { DaemonContext } from '../../daemon/context';
import { ArchiveInputError } from '../../engine/archive-extract';
import { ContainerArchive, encodePathStat } from '../../engine/archive';
import type { Engine } from '../../engine/engine';
import { ApiError, badRequest } from '../errors';
import { boolParam, sendEmpty, type Request, type Router } from '../http';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathParam(req: Request): string {
  const p = req.query.get('path');
  if (p === null || p === '') throw badRequest('path is required (the ?path= query parameter)');
  if (p.includes('\0')) throw badRequest('path contains a NUL byte');
  return p;
}

export function archiveRoutes(r: Router, ctx: DaemonContext, engine: Engine): void {
  void ctx;
  const archive = new ContainerArchive(engine);

  r.add('HEAD', '/containers/{id}/archive', async (req, res) => {
    const stat = await archive.stat(req.params.id!, pathParam(req));
    res.setHeader(STAT_HEADER, encodePathStat(stat));
    sendEmpty(res, 200);
  });

  r.add('GET', '/containers/{id}/archive', async (req, res) => {
    const { stat, tar } = await archive.get(req.params.id!, pathParam(req));
    res.writeHead(200, { [STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/x-tar' });
    try {
      await pipeline(tar, res);
    } catch {
      // the client went away, or reading failed mid-way: the tar is cut short
      res.destroy();
    }
  });

  r.add('PUT', '/containers/{id}/archive', async (req, res) => {
    const p = pathParam(req);
    try {
      await archive.put(req.params.id!, p, req.raw, {
        noOverwriteDirNonDir: boolParam(req.query, 'noOverwriteDirNonDir'),
        copyUIDGID: boolParam(req.query, 'copyUIDGID'),
      });
    } catch (e) {
      req.raw.resume(); // drain what is left of the body so the answer reaches the client
      if (e instanceof ArchiveInputError) throw new ApiError(400, e.message);
      throw e;
    }
    sendEmpty(res, 200);
  });
}
