/**
 * Container commands that stream or inspect: logs, exec, attach, inspect (generic: container,
 * then image), events. Output follows docker CLI 28.
 */
import type { CommandSpec, Ctx } from '../command';
import { StatusError } from '../command';
import type { ParsedFlags } from '../flags';
import { DaemonError, encodeFilters } from '../errors';
import { compile, preFormat, TemplateError } from '../template';
import { INSPECT_FORMAT_HELP } from './common';
import { inspectAll } from './common';
import { EscapeError, holdHijacked, monitorTtySize, parseDetachKeys, rawTerminal, stdcopyDemux } from './container-stream';
import { DEFAULT_DETACH_KEYS, attachContainer, proxySignals, waitExit } from './container-run';

const enc = encodeURIComponent;

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** timetypes.GetTimestamp: a Go duration before now, a unix time, or an RFC 3339 date → "sec.nanos". */
export function apiTimestamp(value: string, nowMs = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const dur = /^([0-9.]+(ns|us|µs|ms|s|m|h))+$/.test(value);
  if (dur) {
    let ms = 0;
    for (const m of value.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * GO_UNITS[m[2]!]!;
    const t = (nowMs - ms) / 1000;
    return t.toFixed(9);
  }
  const d = Date.parse(value);
  if (Number.isNaN(d)) throw new Error(`failed to parse value as time or duration: "${value}"`);
  return (d / 1000).toFixed(9);
}

interface InspectLite {
  Id: string;
  Config: { Tty: boolean; OpenStdin: boolean };
  State: { Running: boolean; Paused: boolean; Restarting: boolean };
}

export const logs = (path = 'logs'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER',
  short: 'Fetch the logs of a container',
  aliases: 'berth container logs, berth logs',
  args: { exact: 1 },
  flags: [
    { name: 'details', kind: 'bool', usage: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    { name: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', kind: 'string', usage: 'Number of lines to show from the end of the logs', default: 'all' },
    { name: 'timestamps', short: 't', kind: 'bool', usage: 'Show timestamps' },
    { name: 'until', kind: 'string', usage: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  async run(ctx, f) {
    const client = ctx.client();
    const c = await client.json<InspectLite>('GET', `/containers/${enc(f.args[0]!)}/json`);
    const since = f.values.since as string;
    const until = f.values.until as string;
    const res = await client.call('GET', `/containers/${enc(f.args[0]!)}/logs`, {
      query: {
        stdout: true,
        stderr: true,
        follow: f.values.follow ? true : undefined,
        timestamps: f.values.timestamps ? true : undefined,
        details: f.values.details ? true : undefined,
        tail: f.values.tail as string,
        since: since ? apiTimestamp(since) : undefined,
        until: until ? apiTimestamp(until) : undefined,
      },
    });
    const out = c.Config.Tty
      ? (b: Buffer) => ctx.stdout.write(b)
      : stdcopyDemux((stream, payload) => (stream === 2 ? ctx.stderr : ctx.stdout).write(payload));
    for await (const chunk of res.body) out(chunk as Buffer);
  },
});

export const exec = (path = 'exec'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  short: 'Execute a command in a running container',
  aliases: 'berth container exec, berth exec',
  args: { min: 2 },
  interspersed: false,
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', usage: 'Detached mode: run command in the background' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables' },
    { name: 'env-file', kind: 'list', usage: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
    { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  ],
  async run(ctx, f) {
    const client = ctx.client();
    const [container, ...cmd] = f.args as [string, ...string[]];
    const detach = f.values.detach as boolean;
    const tty = f.values.tty as boolean;
    const interactive = f.values.interactive as boolean;
    const stdinTTY = Boolean((ctx.stdin as NodeJS.ReadStream).isTTY);
    // docker checks the terminal only for an exec it attaches to (exec -dit needs none).
    if (tty && interactive && !detach && !stdinTTY) throw new StatusError('the input device is not a TTY', 1);
    const env: string[] = [];
    const fs = require('node:fs') as typeof import('node:fs');
    for (const file of f.values['env-file'] as string[]) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const t = line.trim();
        if (t && !t.startsWith('#')) env.push(t.includes('=') ? t : process.env[t] !== undefined ? `${t}=${process.env[t]}` : '');
      }
    }
    for (const e of f.values.env as string[]) {
      if (e.includes('=')) env.push(e);
      else if (process.env[e] !== undefined) env.push(`${e}=${process.env[e]}`);
    }
    const detachKeys = f.values['detach-keys'] as string;
    const body = {
      User: f.values.user,
      Privileged: f.values.privileged,
      Tty: tty,
      AttachStdin: interactive && !detach,
      AttachStderr: !detach,
      AttachStdout: !detach,
      Detach: detach,
      DetachKeys: detachKeys,
      Env: env.filter((x) => x !== ''),
      WorkingDir: f.values.workdir,
      Cmd: cmd,
      ...(tty && (ctx.stdout as NodeJS.WriteStream).isTTY ? { ConsoleSize: [(ctx.stdout as NodeJS.WriteStream).rows ?? 0, (ctx.stdout as NodeJS.WriteStream).columns ?? 0] } : {}),
    };
    const { Id: execId } = await client.json<{ Id: string }>('POST', `/containers/${enc(container)}/exec`, { body });
    if (detach) {
      await client.call('POST', `/exec/${execId}/start`, { body: { Detach: true, Tty: tty } });
      return 0;
    }
    const restore = rawTerminal(ctx, tty && interactive);
    try {
      const { socket, head } = await client.hijack('POST', `/exec/${execId}/start`, { body: { Detach: false, Tty: tty } });
      const done = holdHijacked(ctx, socket, head, {
        stdin: interactive,
        stdout: true,
        stderr: true,
        tty,
        ...(interactive && tty && stdinTTY ? { detachKeys: parseDetachKeys(detachKeys || DEFAULT_DETACH_KEYS) } : {}),
      });
      const stopResize = tty ? monitorTtySize(ctx, (h, w) => client.call('POST', `/exec/${execId}/resize`, { query: { h, w } })) : () => {};
      try {
        await done;
      } catch (e) {
        // docker exec returns the escape error: "read escape sequence", exit 1.
        if (e instanceof EscapeError) throw new StatusError(e.message, 1);
        throw e;
      } finally {
        stopResize();
      }
    } finally {
      restore();
    }
    const r = await client.json<{ ExitCode: number | null; Running: boolean }>('GET', `/exec/${execId}/json`);
    return r.ExitCode ?? 0;
  },
});

export const attach = (path = 'attach'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER',
  short: 'Attach local standard input, output, and error streams to a running container',
  aliases: 'berth container attach, berth attach',
  args: { exact: 1 },
  flags: [
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'no-stdin', kind: 'bool', usage: 'Do not attach STDIN' },
    { name: 'sig-proxy', kind: 'bool', usage: 'Proxy all received signals to the process', default: true },
  ],
  async run(ctx, f) {
    const client = ctx.client();
    const c = await client.json<InspectLite>('GET', `/containers/${enc(f.args[0]!)}/json`);
    if (!c.State.Running) throw new Error('You cannot attach to a stopped container, start it first');
    if (c.State.Paused) throw new Error('You cannot attach to a paused container, unpause it first');
    const tty = c.Config.Tty;
    // docker's CheckTty(!--no-stdin, tty): a tty container needs a terminal unless stdin stays out.
    if (tty && !f.values['no-stdin'] && !(ctx.stdin as NodeJS.ReadStream).isTTY) throw new StatusError('the input device is not a TTY', 1);
    const stdin = !f.values['no-stdin'] && c.Config.OpenStdin;
    const restore = rawTerminal(ctx, tty && stdin);
    const unproxy = !tty && f.values['sig-proxy'] ? proxySignals(client, c.Id) : () => {};
    try {
      const a = await attachContainer(ctx, c.Id, { stdin, stdout: true, stderr: true, tty, detachKeys: f.values['detach-keys'] as string });
      const stopResize = tty ? monitorTtySize(ctx, (h, w) => client.call('POST', `/containers/${c.Id}/resize`, { query: { h, w } }), true) : () => {};
      try {
        await a.done;
      } catch (e) {
        // docker attach returns the escape error: "read escape sequence", exit 1.
        if (e instanceof EscapeError) throw new StatusError(e.message, 1);
        throw e;
      } finally {
        stopResize();
      }
      const w = await waitExit(client, c.Id, 'not-running');
      return await w.status;
    } finally {
      unproxy();
      restore();
    }
  },
});

export const inspect = (): CommandSpec => ({
  path: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  short: 'Return low-level information on Berth objects',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes if the type is container' },
    { name: 'type', kind: 'string', usage: 'Only inspect objects of the given type' },
  ],
  async run(ctx, f) {
    const client = ctx.client();
    const type = f.values.type as string;
    const valid = ['', 'container', 'image', 'config', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];
    if (!valid.includes(type)) throw new Error(`"${type}" is not a valid value for --type`);
    const size = f.values.size ? true : undefined;
    const getContainer = (ref: string) => client.text('GET', `/containers/${enc(ref)}/json`, { query: { size } });
    const getImage = (ref: string) => client.text('GET', `/images/${enc(ref)}/json`);
    const get = async (ref: string): Promise<string> => {
      if (type === 'container') return getContainer(ref);
      if (type === 'image') return getImage(ref);
      if (type !== '') throw new Error(`Error response from daemon: berth has no ${type} objects`);
      for (const g of [getContainer, getImage]) {
        try {
          return await g(ref);
        } catch (e) {
          if (!(e instanceof DaemonError && e.statusCode === 404)) throw e;
        }
      }
      throw new Error(`Error: No such object: ${ref}`);
    };
    return inspectAll(ctx, f.args, f.values.format as string, get);
  },
});

export const containerInspect = (): CommandSpec => ({
  path: 'container inspect',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Display detailed information on one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  async run(ctx, f) {
    const client = ctx.client();
    return inspectAll(ctx, f.args, f.values.format as string, (ref) =>
      client.text('GET', `/containers/${enc(ref)}/json`, { query: { size: f.values.size ? true : undefined } }),
    );
  },
});

interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> | null };
  time?: number;
  timeNano?: number;
}

/** jsonmessage.RFC3339NanoFixed in local time. */
function rfc3339NanoFixed(timeNano: bigint): string {
  const ms = Number(timeNano / 1_000_000n);
  const nanos = String(timeNano % 1_000_000_000n).padStart(9, '0');
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${nanos}${zone}`;
}

export const events = (path = 'events'): CommandSpec => ({
  path,
  usage: '[OPTIONS]',
  short: 'Get real time events from the server',
  aliases: 'berth system events, berth events',
  args: { none: true },
  flags: [
    { name: 'filter', short: 'f', kind: 'list', typeName: 'filter', usage: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'since', kind: 'string', usage: 'Show all events created since timestamp' },
    { name: 'until', kind: 'string', usage: 'Stream events until this timestamp' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const format = f.values.format as string;
    let tmpl;
    if (format) {
      try {
        tmpl = compile(preFormat(format));
      } catch (e) {
        if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
        throw e;
      }
    }
    const since = f.values.since as string;
    const until = f.values.until as string;
    const res = await ctx.client().call('GET', '/events', {
      query: { since: since ? apiTimestamp(since) : undefined, until: until ? apiTimestamp(until) : undefined, filters: encodeFilters(f.values.filter as string[]) },
    });
    res.body.setEncoding('utf8');
    let buf = '';
    for await (const chunk of res.body) {
      buf += chunk as string;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const raw = JSON.parse(line) as EventMessage;
        if (tmpl) {
          ctx.out(tmpl.execute(raw, undefined, true) + '\n');
          continue;
        }
        const tn = /"timeNano":(\d+)/.exec(line)?.[1];
        let s = '';
        if (tn && tn !== '0') s += rfc3339NanoFixed(BigInt(tn)) + ' ';
        else if (raw.time) s += rfc3339NanoFixed(BigInt(raw.time) * 1_000_000_000n) + ' ';
        s += `${raw.Type} ${raw.Action} ${raw.Actor.ID}`;
        const attrs = raw.Actor.Attributes ?? {};
        const keys = Object.keys(attrs).sort();
        if (keys.length) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
        ctx.out(s + '\n');
      }
    }
  },
});
