/**
 * Container commands acting on one or more containers by name: stop, restart, kill, rm, pause,
 * unpause, wait, rename, diff, export, commit (container prune is in prune.ts). Per-container
 * errors are printed after the successes and exit 1, as docker does.
 */
import * as fs from 'node:fs';
import type { CommandSpec, Ctx } from '../command';
import { StatusError } from '../command';
import { copyBody } from './common';

const enc = encodeURIComponent;

async function each(ctx: Ctx, names: string[], fn: (name: string) => Promise<string | void>): Promise<void> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      const out = await fn(name);
      ctx.out((out ?? name) + '\n');
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
}

function stopLike(path: string, action: 'stop' | 'restart', short: string): CommandSpec {
  return {
    path,
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    short,
    aliases: `berth container ${action}, berth ${action}`,
    args: { min: 1 },
    flags: [
      { name: 'signal', short: 's', kind: 'string', usage: `Signal to send to the container` },
      { name: 'timeout', short: 't', kind: 'int', usage: 'Seconds to wait before killing the container' },
      { name: 'time', kind: 'int', usage: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true },
    ],
    async run(ctx, f) {
      const t = f.changed.has('timeout') ? (f.values.timeout as number) : f.changed.has('time') ? (f.values.time as number) : undefined;
      const signal = (f.values.signal as string) || undefined;
      await each(ctx, f.args, async (n) => {
        await ctx.client().call('POST', `/containers/${enc(n)}/${action}`, { query: { t, signal } });
      });
    },
  };
}

export const stop = (path = 'stop') => stopLike(path, 'stop', 'Stop one or more running containers');
export const restart = (path = 'restart') => stopLike(path, 'restart', 'Restart one or more containers');

export const kill = (path = 'kill'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Kill one or more running containers',
  aliases: 'berth container kill, berth kill',
  args: { min: 1 },
  flags: [{ name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' }],
  async run(ctx, f) {
    const signal = (f.values.signal as string) || undefined;
    await each(ctx, f.args, async (n) => {
      await ctx.client().call('POST', `/containers/${enc(n)}/kill`, { query: { signal } });
    });
  },
});

export const rm = (path = 'rm'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  aliases: 'berth container rm, berth container remove, berth rm',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'link', short: 'l', kind: 'bool', usage: 'Remove the specified link' },
    { name: 'volumes', short: 'v', kind: 'bool', usage: 'Remove anonymous volumes associated with the container' },
  ],
  async run(ctx, f) {
    await each(ctx, f.args, async (n) => {
      const name = n.replace(/^\/+/, '');
      if (name === '') throw new Error('Container name cannot be empty');
      await ctx.client().call('DELETE', `/containers/${enc(name)}`, {
        query: { force: f.values.force ? true : undefined, v: f.values.volumes ? true : undefined, link: f.values.link ? true : undefined },
      });
    });
  },
});

function simple(path: string, action: string, short: string, verb: string): CommandSpec {
  return {
    path,
    usage: 'CONTAINER [CONTAINER...]',
    short,
    aliases: `berth container ${verb}, berth ${verb}`,
    args: { min: 1 },
    flags: [],
    async run(ctx, f) {
      await each(ctx, f.args, async (n) => {
        await ctx.client().call('POST', `/containers/${enc(n)}/${action}`);
      });
    },
  };
}

export const pause = (path = 'pause') => simple(path, 'pause', 'Pause all processes within one or more containers', 'pause');
export const unpause = (path = 'unpause') => simple(path, 'unpause', 'Unpause all processes within one or more containers', 'unpause');

export const wait = (path = 'wait'): CommandSpec => ({
  path,
  usage: 'CONTAINER [CONTAINER...]',
  short: 'Block until one or more containers stop, then print their exit codes',
  aliases: 'berth container wait, berth wait',
  args: { min: 1 },
  flags: [],
  async run(ctx, f) {
    await each(ctx, f.args, async (n) => {
      const r = await ctx.client().json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${enc(n)}/wait`);
      if (r.Error?.Message) throw new Error(r.Error.Message);
      return String(r.StatusCode);
    });
  },
});

export const rename = (path = 'rename'): CommandSpec => ({
  path,
  usage: 'CONTAINER NEW_NAME',
  short: 'Rename a container',
  aliases: 'berth container rename, berth rename',
  args: { exact: 2 },
  flags: [],
  async run(ctx, f) {
    const [old, name] = f.args as [string, string];
    if (old.trim() === '' || name.trim() === '') throw new Error('Error: Neither old nor new names may be empty');
    try {
      await ctx.client().call('POST', `/containers/${enc(old)}/rename`, { query: { name } });
    } catch (e) {
      throw new StatusError(`${(e as Error).message}\nError: failed to rename container named ${old}`, 1);
    }
  },
});

export const diff = (path = 'diff'): CommandSpec => ({
  path,
  usage: 'CONTAINER',
  short: "Inspect changes to files or directories on a container's filesystem",
  aliases: 'berth container diff, berth diff',
  args: { exact: 1 },
  flags: [],
  async run(ctx, f) {
    const changes = await ctx.client().json<Array<{ Kind: number; Path: string }> | null>('GET', `/containers/${enc(f.args[0]!)}/changes`);
    for (const c of changes ?? []) ctx.out(`${['C', 'A', 'D'][c.Kind] ?? '?'} ${c.Path}\n`);
  },
});

export const exportCmd = (path = 'export'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER',
  short: "Export a container's filesystem as a tar archive",
  aliases: 'berth container export, berth export',
  args: { exact: 1 },
  flags: [{ name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  async run(ctx, f) {
    const output = f.values.output as string;
    if (!output && (ctx.stdout as NodeJS.WriteStream).isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await ctx.client().call('GET', `/containers/${enc(f.args[0]!)}/export`);
    await copyBody(res.body, output ? fs.createWriteStream(output) : ctx.stdout, Boolean(output));
  },
});

export const commit = (path = 'commit'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  short: "Create a new image from a container's changes",
  aliases: 'berth container commit, berth commit',
  args: { range: [1, 2] },
  interspersed: false,
  flags: [
    { name: 'author', short: 'a', kind: 'string', usage: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Commit message' },
    { name: 'pause', short: 'p', kind: 'bool', usage: 'Pause container during commit', default: true },
  ],
  async run(ctx, f) {
    const [container, ref] = f.args as [string, string | undefined];
    let repo: string | undefined;
    let tag: string | undefined;
    if (ref) {
      const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
      const r = parseNormalizedNamed(ref);
      if (r.digest) throw new Error('refusing to create a tag with a digest reference');
      repo = r.name();
      tag = r.tag ?? 'latest';
    }
    const r = await ctx.client().json<{ Id: string }>('POST', '/commit', {
      query: {
        container,
        repo,
        tag,
        comment: (f.values.message as string) || undefined,
        author: (f.values.author as string) || undefined,
        pause: f.values.pause as boolean,
        changes: (f.values.change as string[]).length ? (f.values.change as string[]) : undefined,
      },
      body: {},
    });
    ctx.out(r.Id + '\n');
  },
});
