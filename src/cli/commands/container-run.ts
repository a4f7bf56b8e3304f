/**
 * `berth run`, `berth create`, `berth start`: docker CLI 28's flow (cli/command/container/run.go):
 * create (pull on "No such image", then create again), attach before start, wait
 * (next-exit, or removed with --rm) before start, start, stream, exit with the wait's status.
 */
import * as fs from 'node:fs';
import type { CommandSpec, Ctx } from '../command';
import { StatusError, BIN } from '../command';
import type { ParsedFlags } from '../flags';
import { DaemonError } from '../errors';
import type { Client } from '../client';
import { CREATE_FLAGS, buildCreate } from './container-opts';
import { EscapeError, holdHijacked, monitorTtySize, parseDetachKeys, rawTerminal } from './container-stream';
import { displayStream, registryAuthHeader } from './common';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** docker's toStatusError: 127 for a missing executable, 126 for permission, else 125. */
export function runError(err: unknown, cmd: string): StatusError {
  if (err instanceof StatusError) return err;
  const msg = (err as Error).message ?? String(err);
  const text = `${BIN}: ${msg}\n\nRun '${BIN} ${cmd} --help' for more information`;
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg)) return new StatusError(text, 127);
  if (/permission denied|is a directory/.test(msg)) return new StatusError(text, 126);
  return new StatusError(text, 125);
}

async function pullImage(ctx: Ctx, image: string, quiet: boolean): Promise<void> {
  const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
  let ref = parseNormalizedNamed(image);
  if (ref.isNameOnly()) ref = ref.withTag('latest');
  const res = await ctx.client().call('POST', '/images/create', {
    query: { fromImage: ref.name(), tag: ref.digest ?? ref.tag ?? '' },
    headers: { 'X-Registry-Auth': await registryAuthHeader(ctx, ref.domain) },
  });
  const errCtx: Ctx = { ...ctx, out: (s) => ctx.err(s), stdout: ctx.stderr as Ctx['stdout'] };
  try {
    await displayStream(errCtx, res, quiet);
  } catch (e) {
    throw new Error((e as Error).message);
  }
}

function familiar(image: string): string {
  try {
    const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
    let ref = parseNormalizedNamed(image);
    if (ref.isNameOnly()) ref = ref.withTag('latest');
    return ref.familiarString();
  } catch {
    return image;
  }
}

/** POST /containers/create, pulling a missing image as docker does; the new container's id. */
export async function createContainer(ctx: Ctx, f: ParsedFlags, detach: boolean): Promise<string> {
  const req = buildCreate(f, detach);
  const client = ctx.client();
  const pull = f.values.pull as string;
  const quiet = f.values.quiet as boolean;
  const stdoutTTY = Boolean((ctx.stdout as NodeJS.WriteStream).isTTY);
  const hc = req.body.HostConfig as Record<string, unknown>;
  if (req.body.Tty && stdoutTTY) hc.ConsoleSize = [(ctx.stdout as NodeJS.WriteStream).rows ?? 0, (ctx.stdout as NodeJS.WriteStream).columns ?? 0];
  if (!['always', 'missing', 'never'].includes(pull)) throw new Error(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  if (pull === 'always') await pullImage(ctx, req.image, quiet);
  const create = () =>
    client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', {
      query: { name: req.name || undefined },
      body: req.body,
    });
  let res;
  try {
    res = await create();
  } catch (e) {
    if (!(e instanceof DaemonError && e.statusCode === 404 && /No such image/i.test(e.daemonMessage)) || pull === 'never') throw e;
    ctx.err(`Unable to find image '${familiar(req.image)}' locally\n`);
    await pullImage(ctx, req.image, quiet);
    res = await create();
  }
  for (const w of res.Warnings ?? []) ctx.err(`WARNING: ${w}\n`);
  const cidfile = f.values.cidfile as string;
  if (cidfile) fs.writeFileSync(cidfile, res.Id, { flag: 'wx' });
  return res.Id;
}

/** Start waiting (headers received) before the container starts; resolves to the exit status. */
export async function waitExit(client: Client, id: string, condition: string): Promise<{ status: Promise<number>; cancel: () => void }> {
  const res = await client.call('POST', `/containers/${id}/wait`, { query: { condition } });
  const status = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (!text) return 125;
    const r = JSON.parse(text) as { StatusCode: number; Error?: { Message?: string } | null };
    if (r.Error?.Message) throw new Error(r.Error.Message);
    return r.StatusCode;
  })();
  status.catch(() => {});
  return { status, cancel: () => res.body.destroy() };
}

export interface AttachPlan {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys: string;
}

/** Hijack POST /containers/{id}/attach; returns the running copy promise. */
export async function attachContainer(ctx: Ctx, id: string, p: AttachPlan): Promise<{ done: Promise<void>; close: () => void }> {
  const { socket, head } = await ctx.client().hijack('POST', `/containers/${id}/attach`, {
    query: { stream: true, stdin: p.stdin || undefined, stdout: p.stdout || undefined, stderr: p.stderr || undefined, detachKeys: p.detachKeys || undefined },
  });
  const stdinTTY = Boolean((ctx.stdin as NodeJS.ReadStream).isTTY);
  const done = holdHijacked(ctx, socket, head, {
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    tty: p.tty,
    ...(p.stdin && p.tty && stdinTTY ? { detachKeys: parseDetachKeys(p.detachKeys || DEFAULT_DETACH_KEYS) } : {}),
  });
  done.catch(() => {});
  return { done, close: () => socket.destroy() };
}

/** Forward SIGINT/SIGTERM to the container (docker's ForwardAllSignals, the common ones). */
export function proxySignals(client: Client, id: string): () => void {
  const handlers: Array<[NodeJS.Signals, () => void]> = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as NodeJS.Signals[]).map((sig) => [
    sig,
    () => {
      client.call('POST', `/containers/${id}/kill`, { query: { signal: sig } }).catch(() => {});
    },
  ]);
  for (const [s, h] of handlers) process.on(s, h);
  return () => {
    for (const [s, h] of handlers) process.removeListener(s, h);
  };
}

const RUN_ONLY_FLAGS = [
  { name: 'detach', short: 'd', kind: 'bool' as const, usage: 'Run container in background and print container ID' },
  { name: 'detach-keys', kind: 'string' as const, usage: 'Override the key sequence for detaching a container' },
  { name: 'sig-proxy', kind: 'bool' as const, usage: 'Proxy received signals to the process', default: true },
];

export const run = (path = 'run'): CommandSpec => ({
  path,
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  aliases: 'berth container run, berth run',
  args: { min: 1 },
  interspersed: false,
  // Not localeCompare: ICU's first use costs ~14 ms of every `berth run` (flag names are ASCII).
  flags: [...CREATE_FLAGS, ...RUN_ONLY_FLAGS].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  async run(ctx, f) {
    const detach = f.values.detach as boolean;
    const tty = f.values.tty as boolean;
    const interactive = f.values.interactive as boolean;
    const autoRemove = f.values.rm as boolean;
    const stdinTTY = Boolean((ctx.stdin as NodeJS.ReadStream).isTTY);
    // docker checks the terminal only for a run it attaches to (run -dit needs none).
    if (tty && interactive && !detach && !stdinTTY) throw new StatusError(`${BIN}: the input device is not a TTY\n\nRun '${BIN} ${path} --help' for more information`, 1);
    const client = ctx.client();
    let id: string;
    try {
      id = await createContainer(ctx, f, detach);
    } catch (e) {
      throw runError(e, path);
    }
    const attach = f.values.attach as string[];
    const plan: AttachPlan = {
      stdin: interactive && !detach && (attach.length === 0 || attach.some((a) => a.toLowerCase() === 'stdin')),
      stdout: !detach && (attach.length === 0 || attach.some((a) => a.toLowerCase() === 'stdout')),
      stderr: !detach && (attach.length === 0 || attach.some((a) => a.toLowerCase() === 'stderr')),
      tty,
      detachKeys: f.values['detach-keys'] as string,
    };
    let copying: Promise<void> | undefined;
    let closeAttach = () => {};
    let restore = () => {};
    if (plan.stdin || plan.stdout || plan.stderr) {
      restore = rawTerminal(ctx, tty && plan.stdin);
      try {
        const a = await attachContainer(ctx, id, plan);
        copying = a.done;
        closeAttach = a.close;
      } catch (e) {
        restore();
        throw runError(e, path);
      }
    }
    let status: Promise<number> | undefined;
    let cancelWait = () => {};
    if (!detach) {
      const w = await waitExit(client, id, autoRemove ? 'removed' : 'next-exit');
      status = w.status;
      cancelWait = w.cancel;
    }
    // docker run proxies with a tty too (attach and start -a do not): a SIGHUP from a closed
    // terminal or a kill of the client reaches the container's process.
    const unproxy = !detach && (f.values['sig-proxy'] as boolean) ? proxySignals(client, id) : () => {};
    try {
      await client.call('POST', `/containers/${id}/start`);
    } catch (e) {
      restore();
      unproxy();
      closeAttach();
      // With --rm the daemon removes the container; docker waits for that before exiting.
      if (autoRemove && status) await Promise.race([status.catch(() => 0), new Promise((r) => setTimeout(r, 5000).unref())]);
      cancelWait();
      (ctx.stdin as NodeJS.ReadStream).pause();
      throw runError(e, path);
    }
    if (detach) {
      ctx.out(id + '\n');
      return 0;
    }
    const stopResize = tty ? monitorTtySize(ctx, (h, w) => client.call('POST', `/containers/${id}/resize`, { query: { h, w } })) : () => {};
    try {
      if (copying) {
        try {
          await copying;
        } catch (e) {
          if (e instanceof EscapeError) {
            cancelWait();
            return 0;
          }
          throw e;
        }
      }
      const code = await status!;
      return code;
    } finally {
      stopResize();
      unproxy();
      restore();
    }
  },
});

export const create = (path = 'create'): CommandSpec => ({
  path,
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new container',
  aliases: 'berth container create, berth create',
  args: { min: 1 },
  interspersed: false,
  flags: CREATE_FLAGS,
  async run(ctx, f) {
    let id: string;
    try {
      id = await createContainer(ctx, f, false);
    } catch (e) {
      throw runError(e, path);
    }
    ctx.out(id + '\n');
  },
});

interface InspectLite {
  Id: string;
  Config: { Tty: boolean; OpenStdin: boolean };
}

export const start = (path = 'start'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Start one or more stopped containers',
  aliases: 'berth container start, berth start',
  args: { min: 1 },
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', usage: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: "Attach container's STDIN" },
  ],
  async run(ctx, f) {
    const client = ctx.client();
    const attach = f.values.attach as boolean;
    const interactive = f.values.interactive as boolean;
    if (attach || interactive) {
      if (f.args.length > 1) throw new Error('you cannot start and attach multiple containers at once');
      const c = await client.json<InspectLite>('GET', `/containers/${encodeURIComponent(f.args[0]!)}/json`);
      const tty = c.Config.Tty;
      const plan: AttachPlan = { stdin: interactive && c.Config.OpenStdin, stdout: true, stderr: true, tty, detachKeys: f.values['detach-keys'] as string };
      const restore = rawTerminal(ctx, tty && plan.stdin);
      const unproxy = !tty ? proxySignals(client, c.Id) : () => {};
      try {
        const copying = (await attachContainer(ctx, c.Id, plan)).done;
        const status = (await waitExit(client, c.Id, 'next-exit')).status;
        await client.call('POST', `/containers/${c.Id}/start`);
        const stopResize = tty ? monitorTtySize(ctx, (h, w) => client.call('POST', `/containers/${c.Id}/resize`, { query: { h, w } })) : () => {};
        try {
          await copying;
        } catch (e) {
          if (e instanceof EscapeError) return 0;
          throw e;
        } finally {
          stopResize();
        }
        return await status;
      } finally {
        unproxy();
        restore();
      }
    }
    const errors: string[] = [];
    for (const name of f.args) {
      try {
        await client.call('POST', `/containers/${encodeURIComponent(name)}/start`);
        ctx.out(name + '\n');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) throw new StatusError(errors.join('\n'), 1);
  },
});
