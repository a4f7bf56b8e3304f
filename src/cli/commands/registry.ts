/**
 * `berth login` / `berth logout`: credentials are checked by the daemon (POST /auth) and kept
 * in a Docker-style config.json at $BERTH_CONFIG/config.json (default ~/.berth/config.json),
 * where pull and push find them for X-Registry-Auth.
 */
import type { CommandSpec, Ctx } from '../command';
import type { ParsedFlags } from '../flags';
import { configPath, readLine } from './common';

const INDEX_SERVER = 'https://index.docker.io/v1/';

/** credentials.ConvertToHostname: "https://host:5000/v2/" → "host:5000". */
export function hostnameOf(server: string): string {
  let s = server.replace(/^https?:\/\//, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  return s;
}

async function readAllStdin(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const c of stream) s += c.toString();
  return s;
}

async function promptHidden(ctx: Ctx, prompt: string): Promise<string> {
  ctx.out(prompt);
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const raw = typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode(true);
  try {
    let s = '';
    for await (const chunk of stdin) {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') {
          ctx.out('\n');
          return s;
        }
        if (ch === '\u0003') throw new Error('interrupted');
        if (ch === '\u007f') s = s.slice(0, -1);
        else s += ch;
      }
    }
    return s;
  } finally {
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  }
}

export const login = (): CommandSpec => ({
  path: 'login',
  usage: '[OPTIONS] [SERVER]',
  short: 'Authenticate to a registry',
  long: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
  args: { max: 1 },
  flags: [
    { name: 'username', short: 'u', kind: 'string', usage: 'Username' },
    { name: 'password', short: 'p', kind: 'string', usage: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', kind: 'bool', usage: 'Take the Password or Personal Access Token (PAT) from stdin' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    let user = f.values.username as string;
    let password = f.values.password as string;
    if (password !== '') {
      ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      if (f.values['password-stdin']) throw new Error('--password and --password-stdin are mutually exclusive');
    }
    if (f.values['password-stdin']) {
      if (user === '') throw new Error('Must provide --username with --password-stdin');
      password = (await readAllStdin(ctx.stdin)).replace(/\r?\n$/, '');
    }
    const given = f.args[0] ?? '';
    const server = given !== '' && given !== 'docker.io' ? given : INDEX_SERVER;
    const host = server === INDEX_SERVER ? 'docker.io' : hostnameOf(server);
    if (user === '' || password === '') {
      if (!ctx.stdin.isTTY) throw new Error('Error: Cannot perform an interactive login from a non TTY device');
      if (user === '') {
        ctx.out('Username: ');
        user = ((await readLine(ctx.stdin)) ?? '').trim();
        if (user === '') throw new Error('Error: Non-null Username Required');
      }
      if (password === '') {
        password = await promptHidden(ctx, 'Password: ');
        if (password === '') throw new Error('Error: Password Required');
      }
    }
    const res = await ctx.client().json<{ Status?: string; IdentityToken?: string }>('POST', '/auth', {
      body: { username: user, password, serveraddress: server },
    });
    const { saveCredentials } = require('../../image/registry/credentials') as typeof import('../../image/registry/credentials');
    try {
      await saveCredentials(configPath(ctx), host, user, password);
    } catch (e) {
      throw new Error(`Error saving credentials: ${(e as Error).message}`);
    }
    ctx.out(`${res?.Status || 'Login Succeeded'}\n`);
  },
});

export const logout = (): CommandSpec => ({
  path: 'logout',
  usage: '[SERVER]',
  short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  args: { max: 1 },
  flags: [],
  async run(ctx: Ctx, f: ParsedFlags) {
    const given = f.args[0] ?? '';
    const isDefault = given === '';
    const shown = isDefault ? INDEX_SERVER : hostnameOf(given);
    const host = isDefault ? 'docker.io' : hostnameOf(given);
    ctx.out(`Removing login credentials for ${shown}\n`);
    const { removeCredentials } = require('../../image/registry/credentials') as typeof import('../../image/registry/credentials');
    try {
      await removeCredentials(configPath(ctx), host);
    } catch (e) {
      ctx.err(`WARNING: could not erase credentials:\n${shown}: ${(e as Error).message}\n`);
    }
  },
});
