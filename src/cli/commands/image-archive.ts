/**
 * Image commands moving tarballs or many images: import, save, load (image prune is in prune.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandSpec, Ctx } from '../command';
import type { ParsedFlags } from '../flags';
import { copyBody, displayStream, PLATFORM_FLAG } from './common';

export const importCmd = (p = 'import'): CommandSpec => ({
  path: p,
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  short: 'Import the contents from a tarball to create a filesystem image',
  aliases: 'berth image import, berth import',
  args: { min: 1 },
  flags: [
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Set commit message for imported image' },
    { ...PLATFORM_FLAG },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const [source, reference] = f.args as [string, string | undefined];
    let body: NodeJS.ReadableStream;
    if (source === '-') body = ctx.stdin;
    else if (/^https?:\/\//.test(source)) throw new Error('importing from a URL is not supported by berth: download the tarball and import the file');
    else {
      // Open first so a missing file fails like docker's os.Open before any request.
      const fd = await fs.promises.open(source, 'r');
      body = fd.createReadStream();
    }
    let repo: string | undefined;
    let tag: string | undefined;
    if (reference) {
      const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
      const ref = parseNormalizedNamed(reference);
      repo = ref.name();
      tag = ref.digest ?? ref.tag;
    }
    const platform = f.values.platform as string;
    const res = await ctx.client().call('POST', '/images/create', {
      query: {
        fromSrc: '-',
        repo,
        tag,
        message: (f.values.message as string) || undefined,
        changes: (f.values.change as string[]).length ? (f.values.change as string[]) : undefined,
        platform: platform || undefined,
      },
      body,
      contentType: 'application/x-tar',
    });
    await displayStream(ctx, res);
  },
});

export const save = (p = 'save'): CommandSpec => ({
  path: p,
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliases: 'berth image save, berth save',
  args: { min: 1 },
  flags: [
    { name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' },
    { name: 'platform', kind: 'string', usage: 'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const output = f.values.output as string;
    if (output === '' && ctx.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const platform = f.values.platform as string;
    let tmp: string | undefined;
    let dest: NodeJS.WritableStream = ctx.stdout;
    if (output !== '') {
      // docker's atomicwriter: a temp file beside the target, renamed over it at the end.
      const dir = path.dirname(path.resolve(output));
      try {
        const st = await fs.promises.stat(output);
        if (!st.isFile()) throw new Error(`failed to save image: cannot write to a non-regular file: ${output}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      tmp = path.join(dir, `.${path.basename(output)}.${process.pid}.tmp`);
      dest = fs.createWriteStream(tmp, { mode: 0o600 });
    }
    try {
      const res = await ctx.client().call('GET', '/images/get', {
        query: { names: f.args, platform: platform ? JSON.stringify(platformObject(platform)) : undefined },
      });
      await copyBody(res.body, dest, tmp !== undefined);
      if (tmp) {
        await fs.promises.rename(tmp, output);
        tmp = undefined;
      }
    } finally {
      if (tmp) {
        (dest as fs.WriteStream).destroy();
        await fs.promises.rm(tmp, { force: true });
      }
    }
  },
});

function platformObject(p: string): Record<string, string> {
  const [os, architecture, variant] = p.toLowerCase().split('/');
  return { os: os ?? '', architecture: architecture ?? '', ...(variant ? { variant } : {}) };
}

export const load = (p = 'load'): CommandSpec => ({
  path: p,
  usage: '[OPTIONS]',
  short: 'Load an image from a tar archive or STDIN',
  aliases: 'berth image load, berth load',
  args: { none: true },
  flags: [
    { name: 'input', short: 'i', kind: 'string', usage: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the load output' },
    { name: 'platform', kind: 'string', usage: 'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const input = f.values.input as string;
    let body: NodeJS.ReadableStream;
    if (input === '') {
      if (ctx.stdin.isTTY) throw new Error('requested load from stdin, but stdin is empty');
      body = ctx.stdin;
    } else {
      const fd = await fs.promises.open(input, 'r');
      body = fd.createReadStream();
    }
    const quiet = (f.values.quiet as boolean) || !ctx.stdout.isTTY;
    const platform = f.values.platform as string;
    const res = await ctx.client().call('POST', '/images/load', {
      query: { quiet: quiet ? true : undefined, platforms: platform ? [JSON.stringify(platformObject(platform))] : undefined },
      body,
      contentType: 'application/x-tar',
    });
    if (String(res.headers['content-type'] ?? '').includes('application/json')) {
      await displayStream(ctx, res);
    } else {
      for await (const chunk of res.body) ctx.out(chunk.toString());
    }
  },
});
