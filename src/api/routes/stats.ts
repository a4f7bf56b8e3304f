/** `GET /containers/{id}/top` and `GET /containers/{id}/stats` (stream, or one object). */
import type { Engine } from '../../engine/engine';
import { loadCgroupManager } from '../../runtime/cgroups';
import { dockerStats, takeSample, type StatsSample } from '../../engine/stats';
import { topProcesses, topWithPs } from '../../engine/top';
import { NotRunningError } from '../../engine/errors';
import { boolParam, sendJson, type Router } from '../http';

export function statsRoutes(r: Router, engine: Engine): void {
  const cgroupOf = (id: string) => {
    const rec = engine.get(id);
    if (!rec.State.Running || !engine.runtime.store.hasStateFile(rec.Id)) throw new NotRunningError(rec.Id);
    return { rec, cg: loadCgroupManager(engine.runtime.store.read(rec.Id).cgroup) };
  };

  r.add('GET', '/containers/{id}/top', async (req, res) => {
    const psArgs = (req.query.get('ps_args') ?? '').trim();
    const { cg } = cgroupOf(req.params.id!);
    // The default columns come from /proc directly; other ps_args from the host's ps, as dockerd.
    sendJson(res, 200, psArgs === '' || psArgs === '-ef' ? topProcesses(cg.pids()) : await topWithPs(cg.pids(), psArgs));
  });

  r.add('GET', '/containers/{id}/stats', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const stream = req.query.get('stream') === null ? true : boolParam(req.query, 'stream');
    const oneShot = boolParam(req.query, 'one-shot');
    const sample = (): StatsSample | undefined => {
      try {
        return takeSample(cgroupOf(rec.Id).cg.stats());
      } catch {
        return undefined;
      }
    };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    let prev = sample();
    if (!prev) {
      // A stopped container: Docker sends zeroed stats.
      res.end(JSON.stringify({ name: `/${rec.Name}`, id: rec.Id, read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {}, blkio_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, precpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, memory_stats: {}, networks: {} }) + '\n');
      return;
    }
    if (!stream) {
      if (!oneShot) await new Promise((r2) => setTimeout(r2, 1000));
      const now = oneShot ? prev : (sample() ?? prev);
      res.end(JSON.stringify(dockerStats({ id: rec.Id, name: rec.Name }, now, oneShot ? undefined : prev)) + '\n');
      return;
    }
    let closed = false;
    res.on('close', () => (closed = true));
    res.write(JSON.stringify(dockerStats({ id: rec.Id, name: rec.Name }, prev, undefined)) + '\n');
    while (!closed) {
      await new Promise((r2) => setTimeout(r2, 1000));
      const now = sample();
      if (!now || closed) break;
      res.write(JSON.stringify(dockerStats({ id: rec.Id, name: rec.Name }, now, prev)) + '\n');
      prev = now;
    }
    res.end();
  });
}
