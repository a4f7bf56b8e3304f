/**
 * Streams between a Docker client and a monitor: `attach` (hijacked with `Upgrade: tcp`, or a
 * plain streaming response without stdin), `exec start`, `logs`, and tty resizes. Non-tty
 * output keeps the monitor's stdcopy framing; tty output is sent raw.
 */
import type { Duplex } from 'node:stream';
import type { DaemonContext } from '../../daemon/context';
import type { Engine } from '../../engine/engine';
import type { ExecManager } from '../../engine/exec';
import { AttachClient } from '../../engine/monitor';
import { readJsonLog } from '../../engine/json-log';
import { badRequest } from '../errors';
import { boolParam, intParam, jsonBody, sendEmpty, sendJson, type Router, type UpgradeHandler } from '../http';
import { mark } from '../../kernel/trace';
import { detachMatcher, parseDetachKeys, stdcopyFrame, stdcopyReader, upgradeResponse } from '../stream';

interface Pipe {
  client: AttachClient;
  tty: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Where output goes. */
  out: { write(b: Buffer): unknown; end(): void };
  /** Client input (stdin) and whether a half-close closes the container's stdin. */
  input?: Duplex;
  stdinOnce?: boolean;
  detachKeys?: number[];
  /** Keep the monitor connection (output discarded) when the client leaves: its end is the exit. */
  keepClient?: boolean;
}

/** Joins a monitor connection to a client; resolves when either side ends. */
function pipe(p: Pipe): Promise<'exited' | 'detached' | 'client-gone'> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (why: 'exited' | 'detached' | 'client-gone'): void => {
      if (done) return;
      done = true;
      p.client.frames!.off('data', read);
      if (why !== 'exited') {
        if (p.keepClient) p.client.frames!.resume();
        else p.client.close();
      }
      p.out.end();
      resolve(why);
    };
    const read = stdcopyReader((stream, payload, frame) => {
      if (stream === 2 ? !p.stderr : !p.stdout) return;
      p.out.write(p.tty ? Buffer.from(payload) : Buffer.from(frame));
    });
    const frames = p.client.frames!;
    frames.on('data', read);
    // Output that arrived before this pipe began is buffered in `frames` and flows on a later
    // tick; a process that has already ended must not cut it off: deliver it, then finish.
    p.client.closed.then(() =>
      setImmediate(() => {
        while (!done && frames.read() !== null); // in flowing mode, read() emits to `read`
        finish('exited');
      }),
    );
    if (p.input) {
      const match = detachMatcher(p.detachKeys ?? [0x10, 0x11]);
      p.input.on('data', (chunk: Buffer) => {
        if (done) return;
        const { pass, detach } = match(chunk);
        if (pass.length) p.client.writeStdin(pass);
        if (detach) finish('detached');
      });
      p.input.on('end', () => {
        if (p.stdinOnce) p.client.closeStdin();
      });
      p.input.on('close', () => finish('client-gone'));
      p.input.on('error', () => finish('client-gone'));
      p.input.resume(); // paused if the request body had to be read off it
    }
  });
}

function streamFlags(q: URLSearchParams): { stdin: boolean; stdout: boolean; stderr: boolean } {
  return { stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr') };
}

export function attachRoutes(r: Router, upgrades: Router<UpgradeHandler>, ctx: DaemonContext, engine: Engine, execs: ExecManager): void {
  /** Connects to the container's monitor now, or (created, not started) once start brings it up. */
  const connect = async (id: string): Promise<AttachClient | undefined> => {
    const rec = engine.get(id);
    if (rec.State.Running) return AttachClient.connect(engine.monitorDir(rec.Id), { raw: true });
    if (rec.State.Status === 'created' || rec.State.Status === 'exited') {
      const ready = engine.monitorReady(rec.Id).then(() => AttachClient.connect(engine.monitorDir(rec.Id), { raw: true }));
      engine.addPendingAttach(rec.Id, ready.catch(() => undefined));
      return ready;
    }
    return undefined;
  };

  const writeLogs = async (rec: { LogPath: string }, tty: boolean, flags: { stdout: boolean; stderr: boolean }, out: { write(b: Buffer): unknown }): Promise<void> => {
    for await (const e of readJsonLog(rec.LogPath)) {
      if (e.stream === 'stderr' ? !flags.stderr : !flags.stdout) continue;
      const b = Buffer.from(e.line);
      out.write(tty ? b : stdcopyFrame(e.stream === 'stderr' ? 2 : 1, b));
    }
  };

  upgrades.add('POST', '/containers/{id}/attach', async (req, socket) => {
    const rec = engine.get(req.params.id!);
    const q = req.query;
    const flags = streamFlags(q);
    const keys = parseDetachKeys(q.get('detachKeys') || 'ctrl-p,ctrl-q');
    const tty = !!rec.Config.Tty;
    upgradeResponse(socket, tty);
    if (boolParam(q, 'logs')) await writeLogs(rec, tty, flags, socket);
    if (!boolParam(q, 'stream')) {
      socket.end();
      return;
    }
    const client = await connect(rec.Id);
    if (!client) {
      socket.end();
      return;
    }
    engine.events.emit('container', 'attach', rec.Id, { name: rec.Name, image: rec.Config.Image ?? '' });
    await pipe({ client, tty, stdout: flags.stdout, stderr: flags.stderr, out: socket, ...(flags.stdin ? { input: socket, stdinOnce: !!rec.Config.StdinOnce, detachKeys: keys } : {}) });
  });

  // Without an upgrade (e.g. an HTTP client that cannot hijack): output only.
  r.add('POST', '/containers/{id}/attach', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const flags = streamFlags(req.query);
    const tty = !!rec.Config.Tty;
    res.writeHead(200, { 'Content-Type': `application/vnd.docker.${tty ? 'raw-stream' : 'multiplexed-stream'}` });
    if (boolParam(req.query, 'logs')) await writeLogs(rec, tty, flags, res);
    const client = boolParam(req.query, 'stream') ? await connect(rec.Id) : undefined;
    if (!client) {
      res.end();
      return;
    }
    res.on('close', () => client.close());
    await pipe({ client, tty, stdout: flags.stdout, stderr: flags.stderr, out: res });
  });

  r.add('GET', '/containers/{id}/logs', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const q = req.query;
    const flags = streamFlags(q);
    if (!flags.stdout && !flags.stderr) throw badRequest('you must choose at least one stream');
    const tty = !!rec.Config.Tty;
    const tail = q.get('tail');
    const timestamps = boolParam(q, 'timestamps');
    const since = q.get('since');
    const until = q.get('until');
    const follow = boolParam(q, 'follow') && rec.State.Running;
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': `application/vnd.docker.${tty ? 'raw-stream' : 'multiplexed-stream'}` });
    res.flushHeaders();
    const entries = readJsonLog(rec.LogPath, {
      ...(since && since !== '0' ? { since } : {}),
      ...(until && until !== '0' ? { until } : {}),
      ...(tail && tail !== 'all' ? { tail: intParam(q, 'tail', -1) } : {}),
      follow,
      signal: abort.signal,
      exitFile: `${engine.monitorDir(rec.Id)}/exit.json`,
    });
    for await (const e of entries) {
      if (e.stream === 'stderr' ? !flags.stderr : !flags.stdout) continue;
      const text = timestamps ? `${e.time} ${e.line}` : e.line;
      const b = Buffer.from(text);
      res.write(tty ? b : stdcopyFrame(e.stream === 'stderr' ? 2 : 1, b));
    }
    res.end();
  });

  r.add('POST', '/containers/{id}/resize', async (req, res) => {
    const rec = engine.get(req.params.id!);
    const h = intParam(req.query, 'h', 0);
    const w = intParam(req.query, 'w', 0);
    if (rec.State.Running && rec.Config.Tty) {
      const c = await AttachClient.connect(engine.monitorDir(rec.Id), { raw: true });
      c.resize(h, w);
      await c.finish(); // answered once the monitor has applied it
    }
    sendEmpty(res, 200);
  });

  // ---- exec ------------------------------------------------------------------------------------

  r.add('POST', '/containers/{id}/exec', async (req, res) => {
    const body = await jsonBody<Parameters<ExecManager['create']>[1]>(req);
    sendJson(res, 201, { Id: execs.create(req.params.id!, body) });
  });

  r.add('GET', '/exec/{id}/json', (req, res) => {
    sendJson(res, 200, execs.inspect(req.params.id!));
  });

  r.add('POST', '/exec/{id}/resize', async (req, res) => {
    const s = execs.get(req.params.id!);
    if (s.running && s.config.Tty) {
      const c = await AttachClient.connect(s.dir, { raw: true }).catch(() => undefined);
      c?.resize(intParam(req.query, 'h', 0), intParam(req.query, 'w', 0));
      await c?.finish();
    }
    sendEmpty(res, 200);
  });

  // The exec manager records the exit when the monitor connection ends, whoever else is there.
  const runExec = async (id: string, detach: boolean, out: Pipe['out'] | undefined, input: Duplex | undefined, consoleSize?: [number, number] | null): Promise<void> => {
    const { session: s, client } = await execs.start(id, !detach, consoleSize);
    if (detach) return;
    const why = await pipe({
      client, tty: !!s.config.Tty, stdout: !!s.config.AttachStdout, stderr: !!s.config.AttachStderr, out: out!, keepClient: true,
      ...(input && s.config.AttachStdin ? { input, stdinOnce: true, detachKeys: parseDetachKeys(s.config.DetachKeys || 'ctrl-p,ctrl-q') } : {}),
    });
    mark(`api exec start: stream ended (${why})`);
  };

  upgrades.add('POST', '/exec/{id}/start', async (req, socket) => {
    mark('api exec start: request');
    const s = execs.get(req.params.id!);
    const body = await jsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null }>(req);
    upgradeResponse(socket, !!s.config.Tty);
    try {
      await runExec(s.id, !!body.Detach, socket, socket, body.ConsoleSize);
    } catch (e) {
      // After the upgrade the error can only travel in the stream, as dockerd writes it.
      const text = Buffer.from(`${(e as Error).message}\r\n`);
      if (socket.writable) socket.end(s.config.Tty ? text : stdcopyFrame(1, text));
      return;
    }
    if (body.Detach) socket.end();
  });

  r.add('POST', '/exec/{id}/start', async (req, res) => {
    const s = execs.get(req.params.id!);
    const body = await jsonBody<{ Detach?: boolean }>(req);
    if (body.Detach) {
      await runExec(s.id, true, undefined, undefined);
      sendEmpty(res, 200);
      return;
    }
    res.writeHead(200, { 'Content-Type': `application/vnd.docker.${s.config.Tty ? 'raw-stream' : 'multiplexed-stream'}` });
    await runExec(s.id, false, res, undefined);
  });

  void ctx;
}

