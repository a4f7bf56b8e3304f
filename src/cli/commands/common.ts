/**
 * Pieces shared by the image and system commands: docker's flag help texts, the progress
 * stream display, registry credentials for X-Registry-Auth, and the inspect printer.
 */
import * as path from 'node:path';
import type { FlagDef } from '../flags';
import type { Ctx } from '../command';
import { StatusError } from '../command';
import type { Response } from '../client';
import { JSONMessageError, JSONMessageRenderer, type JSONMessage } from '../jsonmessage';
import { jsonCompact, jsonIndent } from '../format/json-indent';
import { compile, TemplateError, type Template } from '../template';

export const FORMAT_HELP = `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export const INSPECT_FORMAT_HELP = `Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export const PLATFORM_FLAG: FlagDef = {
  name: 'platform',
  kind: 'string',
  usage: 'Set platform if server is multi-platform capable',
  default: process.env.DOCKER_DEFAULT_PLATFORM ?? '',
};

export function configPath(ctx: Ctx): string {
  return path.join(ctx.configDir, 'config.json');
}

/** Render a JSON progress stream to stdout (or nowhere when quiet); an error message → exit 1. */
export async function displayStream(ctx: Ctx, res: Response, quiet = false, onAux?: (m: JSONMessage) => void): Promise<void> {
  const isTerminal = !quiet && Boolean(ctx.stdout.isTTY);
  const renderer = new JSONMessageRenderer(quiet ? () => {} : (s) => ctx.out(s), {
    isTerminal,
    width: isTerminal ? (ctx.stdout.columns ?? 200) : 200,
    ...(onAux ? { onAux } : {}),
  });
  res.body.setEncoding('utf8');
  try {
    for await (const chunk of res.body) renderer.feed(chunk as string);
    renderer.end();
  } catch (e) {
    res.body.destroy();
    if (e instanceof JSONMessageError) throw new StatusError(e.message, 1);
    throw e;
  }
}

/** base64url(JSON) as docker's registry.EncodeAuthConfig (URL alphabet, with padding). */
export function encodeAuth(auth: Record<string, string>): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The registry host of an image reference as docker resolves it ("docker.io" for Hub). */
export function registryHostOf(ref: string): string {
  // Lazily loaded: reference parsing is only needed by pull/push/login.
  const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
  return parseNormalizedNamed(ref).domain;
}

/** X-Registry-Auth for `host` from the credentials file ({} when none, as docker sends). */
export async function registryAuthHeader(ctx: Ctx, host: string): Promise<string> {
  const { loadCredentials } = require('../../image/registry/auth') as typeof import('../../image/registry/auth');
  const creds = await loadCredentials(configPath(ctx), host).catch(() => undefined);
  if (!creds) return encodeAuth({});
  const serveraddress = host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
  return encodeAuth({ username: creds.username, password: creds.password, serveraddress });
}

/**
 * docker's inspect.Inspect: with no format the daemon's raw objects as one JSON array indented
 * by four spaces ("[]" when none), "json" the same compact, otherwise one rendered template per
 * object. Errors for single references are printed after the output (exit 1); a template that
 * does not parse exits 64.
 */
export async function inspectAll(ctx: Ctx, refs: string[], format: string, get: (ref: string) => Promise<string>): Promise<number> {
  let tmpl: Template | undefined;
  if (format !== '' && format !== 'json') {
    try {
      tmpl = compile(format);
    } catch (e) {
      if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
      throw e;
    }
  }
  const errors: string[] = [];
  const raws: string[] = [];
  let rendered = '';
  for (const ref of refs) {
    let raw: string;
    try {
      raw = await get(ref);
    } catch (e) {
      errors.push((e as Error).message);
      continue;
    }
    if (!tmpl) {
      raws.push(raw.trim());
      continue;
    }
    try {
      rendered += tmpl.execute(JSON.parse(raw), undefined, true) + '\n';
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      errors.push(`template parsing error: ${e.message}`);
    }
  }
  if (tmpl) ctx.out(rendered === '' ? '\n' : rendered);
  else if (raws.length === 0) ctx.out('[]\n');
  else {
    const arr = `[${raws.join(',')}]`;
    ctx.out((format === 'json' ? jsonCompact(arr) : jsonIndent(arr)) + '\n');
  }
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

/** Read a whole response as JSON. */
/**
 * Copies a response body (a tar) to `dest`: a file is ended and waited for; the CLI's stdout is
 * left open (the body's end is the end). `save` and `export` write this way.
 */
export function copyBody(body: NodeJS.ReadableStream, dest: NodeJS.WritableStream, toFile: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    body.on('error', reject);
    dest.on('error', reject);
    if (toFile) dest.on('finish', () => resolve());
    else body.on('end', () => resolve());
    body.pipe(dest, { end: toFile });
  });
}

export async function responseJSON<T>(res: Response): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/** Ask a yes/no question on stdin (docker's prompt.Confirm); false on EOF. */
export async function confirm(ctx: Ctx, message: string): Promise<boolean> {
  ctx.out(`${message} [y/N] `);
  const answer = await readLine(ctx.stdin);
  return (answer ?? '').trim().toLowerCase() === 'y';
}

export function readLine(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer | string) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        done();
        resolve(buf.slice(0, nl).replace(/\r$/, ''));
      }
    };
    const onEnd = () => {
      done();
      resolve(buf === '' ? undefined : buf);
    };
    const done = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.pause();
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.resume();
  });
}
