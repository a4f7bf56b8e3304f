/**
 * The container engine: creates containers from images, starts them under their monitor,
 * records how they end, and keeps Docker's semantics for stop/kill/wait/remove/restart.
 * Containers outlive berthd: on start the engine re-adopts running ones through their monitor
 * and reconciles the ones that ended meanwhile (see `reconcile.ts`).
 *
 * Paths: records in `<data-root>/containers/<id>/` (container.json, the json log, the bundle),
 * runtime state in `<exec-root>/runtime`, monitor dirs in `<exec-root>/m/<id[:24]>` (short, so
 * socket paths stay under the 108-byte limit).
 */
import * as fs from 'node:fs';
import { mark } from '../kernel/trace';
import { fromHumanSize } from '../format/go-units';
import type { StageChannel } from '../kernel/stage';
import * as path from 'node:path';
import { createContainer } from '../runtime/lifecycle/create';
import { startContainer } from '../runtime/lifecycle/start';
import { deleteContainer } from '../runtime/lifecycle/delete';
import { killContainer } from '../runtime/lifecycle/kill';
import { pauseContainer, resumeContainer } from '../runtime/lifecycle/pause';
import { StateStore } from '../runtime/state/store';
import type { RuntimeContext } from '../runtime/lifecycle/context';
import { loadCgroupManager } from '../runtime/cgroups';
import type { ImageService } from '../image/service';
import type { ImageUsage } from '../image/remove';
import { parseDigest } from '../image/digest';
import type { Snapshotter } from '../storage/snapshotter';
import { EventBus } from './events';
import { ContainerStore } from './store';
import { initialState, setExited, setRunning, type ContainerRecord } from './container';
import { generateName, newContainerId, validateName } from './names';
import { commandOf, mergeImageConfig } from './config-merge';
import { buildContainerSpec } from './spec/build';
import { parseSignal } from './spec/signal';
import type { ContainerConfig, HostConfig } from './spec/docker-types';
import { AttachClient, consoleSocketPath, monitorLauncher, monitorPid, readExitFile } from './monitor';
import { initFiles } from './init-files';
import { commandFailureCode, EngineConflictError, NotModifiedError, NotRunningError } from './errors';
import { restartDelay, shouldRestart } from './restart-policy';
import { HealthChecker } from './health';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  images: ImageService;
  snapshotter: Snapshotter;
  events: EventBus;
  initBinary?: string;
  log(line: string): void;
}

type WaitCondition = 'not-running' | 'next-exit' | 'removed';
interface Waiter {
  condition: WaitCondition;
  resolve(r: { StatusCode: number; Error?: { Message: string } }): void;
}

export class Engine {
  readonly store: ContainerStore;
  readonly runtime: RuntimeContext;
  readonly events: EventBus;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly watchers = new Map<string, AttachClient>();
  /** Attach requests waiting for a created container's monitor (docker run attaches before start). */
  private readonly monitorUp = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private readonly pendingAttach = new Map<string, Promise<unknown>[]>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  /** Containers between createContainer and "running" recorded; an exit seen then waits here. */
  private readonly starting = new Map<string, { exited: boolean }>();
  shuttingDown = false;
  readonly health: HealthChecker;

  constructor(readonly opts: EngineOptions) {
    this.health = new HealthChecker(this);
    this.store = new ContainerStore(path.join(opts.dataRoot, 'containers'));
    this.runtime = { store: new StateStore(path.join(opts.execRoot, 'runtime')), warn: (m) => opts.log(`warning: ${m}`) };
    this.events = opts.events;
  }

  monitorDir(id: string): string {
    return path.join(this.opts.execRoot, 'm', id.slice(0, 24));
  }

  get(ref: string): ContainerRecord {
    return this.store.get(ref);
  }

  private attrs(rec: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(rec.Config.Labels ?? {}), image: rec.Config.Image ?? '', name: rec.Name, ...extra };
  }

  // ---- create ----------------------------------------------------------------------------

  async create(name: string | undefined, config: ContainerConfig, hostConfig: HostConfig): Promise<{ Id: string; Warnings: string[] }> {
    if (!config.Image) throw new EngineConflictError(400, 'No image specified: the request needs "Image"');
    mark('engine.create: begin');
    const image = await this.opts.images.get(config.Image);
    mark('engine.create: image found');
    const id = newContainerId();
    const cname = name ? validateName(name) : generateName((n) => this.store.nameTaken(n));
    this.store.reserveName(cname, id);
    let prepared = false;
    try {
      const merged = mergeImageConfig({ ...config, Hostname: config.Hostname || id.slice(0, 12) }, image.config.config);
      const layers = await this.opts.snapshotter.unpack(this.opts.images.content, image.manifest, image.config);
      mark('engine.create: unpacked');
      const rootfs = await this.opts.snapshotter.prepare(id, layers, initFiles(merged, hostConfig));
      mark('engine.create: prepared');
      prepared = true;
      const rec: ContainerRecord = {
        Id: id,
        Name: cname,
        Created: new Date().toISOString(),
        ...(() => {
          const c = commandOf(merged);
          return { Path: c.path, Args: c.args };
        })(),
        Config: merged,
        HostConfig: { ...hostConfig, NetworkMode: hostConfig.NetworkMode || 'none' },
        Image: image.id,
        State: initialState(),
        RestartCount: 0,
        LogPath: path.join(this.store.dir(id), `${id}-json.log`),
        Driver: this.opts.snapshotter.driver === 'overlay' ? 'overlay2' : 'vfs',
        layers,
        manuallyStopped: false,
        hasBeenStarted: false,
      };
      // Every HostConfig problem is a 400 now, not a failed start later.
      const { warnings } = this.buildSpec(rec, rootfs.path, rootfs.annotations);
      mark('engine.create: spec built');
      this.store.save(rec);
      mark('engine.create: saved');
      this.events.emit('container', 'create', id, this.attrs(rec));
      // With no --network given, running without a bridge is berth's documented default (see
      // `docker info`); only an explicit bridge request gets the warning.
      const implicit = !hostConfig.NetworkMode || hostConfig.NetworkMode === 'default';
      const shown = warnings.filter((w) => !(implicit && /NetworkMode "(default|)"/.test(w)));
      return { Id: id, Warnings: [...shown, ...rootfs.warnings] };
    } catch (e) {
      this.store.releaseName(cname, id);
      if (prepared) await this.opts.snapshotter.remove(id).catch(() => undefined);
      fs.rmSync(this.store.dir(id), { recursive: true, force: true });
      throw e;
    }
  }

  private buildSpec(rec: ContainerRecord, rootfs: string, annotations: Record<string, string>) {
    const layerRoot = rootfs;
    return buildContainerSpec({
      id: rec.Id,
      image: {},
      config: rec.Config,
      hostConfig: rec.HostConfig,
      rootfs,
      annotations,
      readFile: (p) => this.readRootfsFile(rec, layerRoot, p),
      resolveContainer: (ref) => {
        const other = this.store.find(ref);
        return other && other.State.Running ? { id: other.Id, pid: other.State.Pid } : undefined;
      },
      ...(this.opts.initBinary ? { initPath: this.opts.initBinary } : {}),
      cgroupParent: '/berth',
      hostname: rec.Config.Hostname || rec.Id.slice(0, 12),
    });
  }


  /** Image files (/etc/passwd, /etc/group) for the user lookup: the top-most layer that has it. */
  private readRootfsFile(rec: ContainerRecord, rootfs: string, p: string): string | undefined {
    const rel = p.replace(/^\/+/, '');
    const candidates = [path.join(rootfs, rel)];
    const layersDir = path.join(this.opts.snapshotter.root, 'overlay');
    for (const l of [...rec.layers].reverse()) candidates.push(path.join(layersDir, l, 'diff', rel));
    for (const c of candidates) {
      try {
        const st = fs.lstatSync(c);
        if (st.isFile() && st.size < 1 << 20) return fs.readFileSync(c, 'utf8');
      } catch {
        /* next */
      }
    }
    return undefined;
  }

  // ---- start -------------------------------------------------------------------------------

  /** Resolves when a created container's monitor is up (attach waits for this). */
  monitorReady(id: string): Promise<void> {
    let m = this.monitorUp.get(id);
    if (!m) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      m = { promise, resolve };
      this.monitorUp.set(id, m);
    }
    return m.promise;
  }

  /** An attach that must be connected before the container's process starts. */
  addPendingAttach(id: string, connected: Promise<unknown>): void {
    const list = this.pendingAttach.get(id) ?? [];
    list.push(connected);
    this.pendingAttach.set(id, list);
  }

  async start(ref: string): Promise<void> {
    const rec = this.get(ref);
    if (rec.State.Paused) throw new EngineConflictError(409, 'cannot start a paused container, try unpause instead');
    if (rec.State.Running) throw new NotModifiedError();
    const timer = this.restartTimers.get(rec.Id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(rec.Id);
    const id = rec.Id;
    mark('engine.start: begin');
    const rootfs = await this.opts.snapshotter.rootfs(id);
    const { spec, hostDirs } = this.buildSpec(rec, rootfs.path, rootfs.annotations);
    // dockerd creates missing bind sources at start (-v /new/dir:/x).
    for (const d of hostDirs ?? []) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    const bundle = path.join(this.store.dir(id), 'bundle');
    fs.mkdirSync(bundle, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const dir = this.monitorDir(id);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (this.runtime.store.hasDir(id)) await deleteContainer(this.runtime, id, true).catch(() => undefined);
    const tty = !!rec.Config.Tty;
    const maxSize = parseLogMaxSize(rec.HostConfig.LogConfig?.Config?.['max-size']);
    const maxFiles = Number(rec.HostConfig.LogConfig?.Config?.['max-file'] ?? 1) || 1;
    const launcher = monitorLauncher({ dir, logPath: rec.LogPath, tty, openStdin: !!rec.Config.OpenStdin, ...(maxSize ? { logMaxSize: maxSize, logMaxFiles: maxFiles } : {}) });
    mark('engine.start: bundle written');
    const startMark = { exited: false };
    this.starting.set(id, startMark);
    let channel: StageChannel | undefined;
    try {
      const created = await createContainer(this.runtime, {
        id,
        bundle,
        launcher,
        stdio: 'ignore',
        ...(tty ? { consoleSocket: consoleSocketPath(dir) } : {}),
      });
      mark('engine.start: created');
      channel = created.channel;
      this.monitorReady(id);
      this.monitorUp.get(id)!.resolve();
      await Promise.allSettled(this.pendingAttach.get(id) ?? []);
      this.pendingAttach.delete(id);
      this.watch(rec);
      mark('engine.start: attached+watching');
      await startContainer(this.runtime, id, { execed: channel.closed() });
      channel.release();
      mark('engine.start: started');
      setRunning(rec.State, created.state.pid);
      rec.hasBeenStarted = true;
      rec.manuallyStopped = false;
      this.store.saveState(rec);
      this.events.emit('container', 'start', id, this.attrs(rec));
      this.starting.delete(id);
      this.health.start(rec);
      mark('engine.start: done');
      // A process that ended before it was recorded as running (`true`, `echo hi`).
      if (startMark.exited) void this.onExit(id);
    } catch (e) {
      channel?.release();
      this.starting.delete(id);
      this.unwatch(id);
      const mpid = monitorPid(dir);
      if (mpid) process.kill(mpid, 'SIGTERM');
      await deleteContainer(this.runtime, id, true).catch(() => undefined);
      const msg = (e as Error).message;
      const code = commandFailureCode(msg) ?? 128;
      setExited(rec.State, code, new Date().toISOString(), false, msg);
      this.store.saveState(rec);
      this.monitorUp.delete(id);
      this.wake(rec);
      if (rec.HostConfig.AutoRemove) await this.remove(id, { force: true }).catch(() => undefined);
      // What the process could not do is the request's problem (Docker: 400 with exit code 126/127 in the CLI).
      if (code !== 128) throw new EngineConflictError(400, msg);
      throw e;
    } finally {
      this.monitorUp.delete(id);
    }
  }

  /** Watches the monitor: it closes our connection when the container has ended. */
  watch(rec: ContainerRecord): void {
    const id = rec.Id;
    AttachClient.connect(this.monitorDir(id))
      .then((client) => {
        this.watchers.set(id, client);
        client.closed.then(() => this.onExit(id));
      })
      .catch(() => this.onExit(id));
  }

  private unwatch(id: string): void {
    this.watchers.get(id)?.close();
    this.watchers.delete(id);
  }

  /** The container's process ended: record how, clean the runtime state, apply --rm and restart. */
  async onExit(id: string): Promise<void> {
    this.watchers.delete(id);
    if (this.shuttingDown) return;
    const starting = this.starting.get(id);
    if (starting) {
      starting.exited = true;
      return;
    }
    const rec = this.store.find(id);
    if (!rec || !rec.State.Running) return;
    mark('engine.onExit: begin');
    this.health.stop(id);
    const dir = this.monitorDir(id);
    for (let i = 0; i < 50 && !readExitFile(dir) && monitorPid(dir); i++) await new Promise((r) => setTimeout(r, 20));
    const exit = readExitFile(dir);
    mark('engine.onExit: exit file read');
    let oom = false;
    try {
      if (this.runtime.store.hasStateFile(id)) oom = loadCgroupManager(this.runtime.store.read(id).cgroup).oomKillCount() > 0;
    } catch {
      /* cgroup already gone */
    }
    await deleteContainer(this.runtime, id, true).catch((e) => this.opts.log(`warning: cleaning up container ${id}: ${(e as Error).message}`));
    mark('engine.onExit: deleted');
    setExited(rec.State, exit?.exitCode ?? 255, exit?.finishedAt ?? new Date().toISOString(), oom, exit ? '' : 'the container monitor exited without recording a status');
    this.store.saveState(rec);
    if (oom) this.events.emit('container', 'oom', id, this.attrs(rec));
    this.events.emit('container', 'die', id, this.attrs(rec, { exitCode: String(rec.State.ExitCode) }));
    this.wake(rec);
    if (rec.HostConfig.AutoRemove) {
      await this.remove(id, { force: true }).catch((e) => this.opts.log(`warning: --rm of ${id}: ${(e as Error).message}`));
      return;
    }
    if (shouldRestart(rec)) {
      const delay = restartDelay(rec);
      rec.State.Restarting = true;
      rec.State.Status = 'restarting';
      this.store.saveState(rec);
      this.restartTimers.set(
        id,
        setTimeout(() => {
          this.restartTimers.delete(id);
          const cur = this.store.find(id);
          if (!cur || !cur.State.Restarting) return;
          cur.RestartCount++;
          this.start(id)
            .then(() => this.events.emit('container', 'restart', id, this.attrs(cur)))
            .catch((e) => this.opts.log(`restart of ${id} failed: ${(e as Error).message}`));
        }, delay),
      );
    }
  }

  private wake(rec: ContainerRecord, removed = false): void {
    const list = this.waiters.get(rec.Id) ?? [];
    const keep: Waiter[] = [];
    for (const w of list) {
      if (w.condition === 'removed' && !removed) keep.push(w);
      else w.resolve({ StatusCode: rec.State.ExitCode, ...(rec.State.Error ? { Error: { Message: rec.State.Error } } : {}) });
    }
    if (keep.length) this.waiters.set(rec.Id, keep);
    else this.waiters.delete(rec.Id);
  }

  /** `POST /containers/{id}/wait`. */
  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error?: { Message: string } }> {
    const rec = this.get(ref);
    if (condition === 'not-running' && !rec.State.Running && !rec.State.Restarting) {
      return Promise.resolve({ StatusCode: rec.State.ExitCode });
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(rec.Id) ?? [];
      list.push({ condition, resolve });
      this.waiters.set(rec.Id, list);
    });
  }

  // ---- signals, stop, pause --------------------------------------------------------------

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.get(ref);
    if (!rec.State.Running) throw new NotRunningError(rec.Id);
    const sig = parseSignal(signal);
    rec.manuallyStopped = true;
    this.store.save(rec);
    if (rec.State.Paused && sig === 9) await resumeContainer(this.runtime, rec.Id).catch(() => undefined);
    await killContainer(this.runtime, rec.Id, sig, sig === 9);
    this.events.emit('container', 'kill', rec.Id, this.attrs(rec, { signal: String(sig) }));
  }

  /** `docker stop`: the stop signal, `timeout` s, then SIGKILL. Not running: 304. */
  async stop(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const rec = this.get(ref);
    if (!rec.State.Running) {
      if (rec.State.Restarting) {
        rec.State.Restarting = false;
        rec.State.Status = 'exited';
        rec.manuallyStopped = true;
        this.store.save(rec);
        return;
      }
      throw new NotModifiedError();
    }
    const timeout = opts.timeout ?? rec.Config.StopTimeout ?? 10;
    const exited = this.wait(rec.Id, 'not-running');
    await this.kill(rec.Id, opts.signal ?? rec.Config.StopSignal ?? 'SIGTERM');
    const done = timeout < 0 ? await exited : await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), timeout * 1000))]);
    if (!done && rec.State.Running) {
      await this.kill(rec.Id, 'SIGKILL').catch(() => undefined);
      await exited;
    }
    this.events.emit('container', 'stop', rec.Id, this.attrs(rec));
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const rec = this.get(ref);
    if (rec.State.Running) await this.stop(rec.Id, opts);
    await this.start(rec.Id);
    this.events.emit('container', 'restart', rec.Id, this.attrs(rec));
  }

  async pause(ref: string): Promise<void> {
    const rec = this.get(ref);
    if (!rec.State.Running) throw new NotRunningError(rec.Id);
    if (rec.State.Paused) throw new EngineConflictError(409, `Container ${rec.Id} is already paused`);
    await pauseContainer(this.runtime, rec.Id);
    Object.assign(rec.State, { Paused: true, Status: 'paused' });
    this.store.save(rec);
    this.events.emit('container', 'pause', rec.Id, this.attrs(rec));
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.get(ref);
    if (!rec.State.Paused) throw new EngineConflictError(409, `Container ${rec.Id} is not paused`);
    await resumeContainer(this.runtime, rec.Id);
    Object.assign(rec.State, { Paused: false, Status: 'running' });
    this.store.save(rec);
    this.events.emit('container', 'unpause', rec.Id, this.attrs(rec));
  }

  // ---- remove, rename ------------------------------------------------------------------------

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = this.get(ref);
    if ((rec.State.Running || rec.State.Paused) && !opts.force) {
      const what = rec.State.Paused ? 'paused' : 'running';
      throw new EngineConflictError(409, `cannot remove container "/${rec.Name}": container is ${what}: stop the container before removing or force remove`);
    }
    const timer = this.restartTimers.get(rec.Id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(rec.Id);
    if (rec.State.Running) {
      const exited = this.wait(rec.Id, 'not-running');
      await this.kill(rec.Id, 'SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    mark('engine.remove: begin');
    rec.State.Status = 'removing';
    this.unwatch(rec.Id);
    if (this.runtime.store.hasDir(rec.Id)) await deleteContainer(this.runtime, rec.Id, true).catch(() => undefined);
    mark('engine.remove: runtime deleted');
    await this.opts.snapshotter.remove(rec.Id);
    mark('engine.remove: snapshot removed');
    fs.rmSync(this.monitorDir(rec.Id), { recursive: true, force: true });
    this.store.delete(rec);
    this.events.emit('container', 'destroy', rec.Id, this.attrs(rec));
    mark('engine.remove: done');
    this.wake(rec, true);
  }

  rename(ref: string, newName: string): void {
    const rec = this.get(ref);
    const name = validateName(newName);
    const old = rec.Name;
    this.store.rename(rec, name);
    this.events.emit('container', 'rename', rec.Id, this.attrs(rec, { oldName: `/${old}` }));
  }

  /** Containers per image and the layers they are built on (image rmi/prune conflicts). */
  imageUsage(): ImageUsage {
    const byImage: ImageUsage['byImage'] = new Map();
    const layers = new Set<string>();
    for (const c of this.store.all()) {
      const image = parseDigest(c.Image);
      const list = byImage.get(image) ?? [];
      list.push({ containerId: c.Id, running: c.State.Running });
      byImage.set(image, list);
      for (const l of c.layers) layers.add(l);
    }
    return { byImage, layers };
  }
}

/** docker's log-opt max-size ("10m", "1g"): go-units FromHumanSize (decimal), as moby's json-file driver reads it. */
export function parseLogMaxSize(v: string | undefined): number {
  if (!v) return 0;
  try {
    return fromHumanSize(v);
  } catch (e) {
    throw new EngineConflictError(400, `invalid log-opt max-size ${JSON.stringify(v)}: ${(e as Error).message} (expected a size like 10m)`);
  }
}
