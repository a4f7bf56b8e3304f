/**
 * berthd starting again: containers kept running under their monitors while it was away.
 * Running ones are re-adopted (watched through their monitor again); the ones that ended
 * meanwhile get their exit status from the monitor's exit file and then --rm and restart
 * policies as if berthd had seen them end; half-made leftovers are removed.
 */
import * as fs from 'node:fs';
import { deleteContainer } from '../runtime/lifecycle/delete';
import type { Engine } from './engine';
import { monitorPid } from './monitor';

export async function reconcile(engine: Engine, log: (line: string) => void): Promise<void> {
  const bad = engine.store.load();
  for (const id of bad) log(`warning: container ${id} has no readable record; left in place`);
  const known = new Set(engine.store.all().map((c) => c.Id));
  for (const rec of engine.store.all()) {
    const dir = engine.monitorDir(rec.Id);
    if (rec.State.Running || rec.State.Paused) {
      if (monitorPid(dir)) {
        engine.watch(rec);
        engine.health.start(rec);
        log(`re-adopted running container ${rec.Id.slice(0, 12)} (${rec.Name})`);
      } else {
        await engine.onExit(rec.Id);
        log(`container ${rec.Id.slice(0, 12)} (${rec.Name}) ended while berthd was down: exit code ${rec.State.ExitCode}`);
      }
    } else if (rec.State.Restarting || (rec.hasBeenStarted && !rec.manuallyStopped && ['always', 'unless-stopped'].includes(rec.HostConfig.RestartPolicy?.Name ?? ''))) {
      engine.start(rec.Id).catch((e) => log(`restarting ${rec.Id.slice(0, 12)} failed: ${(e as Error).message}`));
    } else if (rec.HostConfig.AutoRemove && rec.hasBeenStarted) {
      await engine.remove(rec.Id, { force: true }).catch(() => undefined);
    }
  }
  // Runtime state of containers berthd has no record of (a create killed half-way).
  let runtimeIds: string[] = [];
  try {
    runtimeIds = fs.readdirSync(engine.runtime.store.root).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    runtimeIds = [];
  }
  for (const id of runtimeIds) {
    if (known.has(id)) continue;
    await deleteContainer(engine.runtime, id, true).catch((e) => log(`warning: removing leftover runtime state ${id}: ${(e as Error).message}`));
    log(`removed leftover runtime state of unknown container ${id.slice(0, 12)}`);
  }
}
