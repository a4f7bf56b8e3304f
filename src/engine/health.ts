/**
 * Health checks (HEALTHCHECK / --health-cmd): the test runs in the container every interval,
 * as Docker runs it (an exec; CMD-SHELL through /bin/sh -c), with a timeout; the status goes
 * starting → healthy, or unhealthy after `retries` failures in a row (failures during the start
 * period do not count). Changes are recorded in State.Health and sent as health_status events.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execInContainer } from '../runtime/lifecycle/exec';
import type { ContainerRecord } from './container';
import type { Engine } from './engine';

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

/** The argv of a health test, or undefined when there is none (NONE, empty). */
export function healthArgv(test: string[] | undefined): string[] | undefined {
  if (!test || test.length === 0) return undefined;
  switch (test[0]) {
    case 'NONE':
      return undefined;
    case 'CMD':
      return test.length > 1 ? test.slice(1) : undefined;
    case 'CMD-SHELL':
      return test.length > 1 ? ['/bin/sh', '-c', test.slice(1).join(' ')] : undefined;
    default:
      return test; // the API's plain form
  }
}

export class HealthChecker {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly engine: Engine) {}

  start(rec: ContainerRecord): void {
    this.stop(rec.Id);
    const hc = rec.Config.Healthcheck;
    const argv = healthArgv(hc?.Test);
    if (!argv) return;
    const interval = hc?.Interval ? hc.Interval / NS_PER_MS : DEFAULT_INTERVAL_MS;
    const timeout = hc?.Timeout ? hc.Timeout / NS_PER_MS : DEFAULT_TIMEOUT_MS;
    const retries = hc?.Retries || DEFAULT_RETRIES;
    const startPeriod = hc?.StartPeriod ? hc.StartPeriod / NS_PER_MS : 0;
    const startedAt = Date.parse(rec.State.StartedAt);
    if (!rec.State.Health || rec.State.Health.Status === 'unhealthy') rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
    const tick = async (): Promise<void> => {
      const cur = this.engine.store.find(rec.Id);
      if (!cur || !cur.State.Running || !this.timers.has(rec.Id)) return;
      if (!cur.State.Paused) await this.probe(cur, argv, timeout, retries, Date.now() - startedAt < startPeriod);
      if (this.timers.has(rec.Id)) this.timers.set(rec.Id, setTimeout(() => void tick(), interval));
    };
    this.timers.set(rec.Id, setTimeout(() => void tick(), interval));
  }

  stop(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private async probe(rec: ContainerRecord, argv: string[], timeoutMs: number, retries: number, inStartPeriod: boolean): Promise<void> {
    const out = path.join(this.engine.monitorDir(rec.Id), 'health.out');
    const fd = fs.openSync(out, 'w', 0o600);
    const start = new Date();
    let pid = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid) process.kill(pid, 'SIGKILL');
    }, timeoutMs);
    let code: number;
    try {
      code = await execInContainer(this.engine.runtime, { id: rec.Id, args: argv, tty: false, detach: false, env: [], additionalGids: [], caps: [], stdio: ['ignore', fd, fd] }, (p) => (pid = p));
    } catch (e) {
      code = -1;
      fs.writeSync(fd, (e as Error).message);
    } finally {
      clearTimeout(timer);
      fs.closeSync(fd);
    }
    let output = '';
    try {
      output = fs.readFileSync(out, 'utf8').slice(0, MAX_OUTPUT);
      fs.rmSync(out, { force: true });
    } catch {
      /* monitor dir gone: the container ended */
    }
    if (timedOut) {
      code = -1;
      output = `Health check exceeded timeout (${timeoutMs / 1000}s)`;
    }
    const cur = this.engine.store.find(rec.Id);
    if (!cur || !cur.State.Running) return;
    const h = (cur.State.Health ??= { Status: 'starting', FailingStreak: 0, Log: [] });
    h.Log.push({ Start: start.toISOString(), End: new Date().toISOString(), ExitCode: code, Output: output });
    if (h.Log.length > MAX_LOG) h.Log.splice(0, h.Log.length - MAX_LOG);
    const before = h.Status;
    if (code === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else if (!inStartPeriod) {
      h.FailingStreak++;
      if (h.FailingStreak >= retries) h.Status = 'unhealthy';
    }
    this.engine.store.save(cur);
    if (h.Status !== before) {
      this.engine.events.emit('container', `health_status: ${h.Status}`, cur.Id, { name: cur.Name, image: cur.Config.Image ?? '' });
    }
  }
}
