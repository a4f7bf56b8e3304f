import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { DOCKER_HUB_AUTH_KEY, loadCredentials, parseWWWAuthenticate } from './auth';
import { RegistryClient } from './client';
import { normalizeReference } from '../reference';

describe('parseWWWAuthenticate', () => {
  it('parses Bearer with quoted, comma-containing params', () => {
    assert.deepEqual(
      parseWWWAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"'),
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:a/b:pull,push' } }],
    );
  });
  it('parses Basic and escapes', () => {
    assert.deepEqual(parseWWWAuthenticate('Basic realm="a \\"b\\""'), [{ scheme: 'basic', params: { realm: 'a "b"' } }]);
  });
});

describe('loadCredentials', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-auth-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('reads auth and username/password entries, Docker Hub key, missing file', async () => {
    const p = path.join(dir, 'config.json');
    fs.writeFileSync(
      p,
      JSON.stringify({
        auths: {
          'reg.example:5000': { auth: Buffer.from('u:p:with:colons').toString('base64') },
          'https://other.example': { username: 'x', password: 'y' },
          [DOCKER_HUB_AUTH_KEY]: { auth: Buffer.from('hub:pw').toString('base64') },
        },
      }),
    );
    assert.deepEqual(await loadCredentials(p, 'reg.example:5000'), { username: 'u', password: 'p:with:colons' });
    assert.deepEqual(await loadCredentials(p, 'other.example'), { username: 'x', password: 'y' });
    assert.deepEqual(await loadCredentials(p, 'docker.io'), { username: 'hub', password: 'pw' });
    assert.equal(await loadCredentials(p, 'nope.example'), undefined);
    assert.equal(await loadCredentials(path.join(dir, 'missing.json'), 'x'), undefined);
  });
});

describe('Bearer token flow (local fake registry + token server)', () => {
  let server: http.Server;
  let host: string;
  const tokenRequests: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/token') {
        tokenRequests.push(`${url.searchParams.get('service')} ${url.searchParams.getAll('scope').join(' ')} ${req.headers.authorization ?? '-'}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token: 'tok-' + url.searchParams.get('scope'), expires_in: 300 }));
        return;
      }
      const scope = `repository:${url.pathname.split('/').slice(2, 4).join('/')}:pull`;
      if (req.headers.authorization !== `Bearer tok-${scope}`) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://${host}/token",service="fake",scope="${scope}"`);
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    host = `127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches a token with Basic credentials, retries, and caches it per scope', async () => {
    const client = new RegistryClient({ credentials: { [host]: { username: 'u', password: 'p' } } });
    const ref = normalizeReference(`${host}/a/b:1`);
    await assert.rejects(client.resolveManifest(ref), { message: `manifest for ${host}/a/b:1 not found: manifest unknown` });
    await assert.rejects(client.resolveManifest(ref.withTag('2')), /not found/);
    assert.deepEqual(tokenRequests, [`fake repository:a/b:pull Basic ${Buffer.from('u:p').toString('base64')}`]);
    await assert.rejects(client.resolveManifest(normalizeReference(`${host}/c/d:1`)), /not found/);
    assert.equal(tokenRequests.length, 2);
  });
});
