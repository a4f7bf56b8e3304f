import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RuntimeError } from '../errors';
import { checkSubordinateRanges, parseSubIds } from './subid';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-subid-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

const SUBUID = write('subuid', '# delegated uids\n\ndockremap:100000:65536\n1001:300000:1000\nalice:500000:10\nalice:500010:10\n  \n');
const SUBGID = write('subgid', 'dockremap:200000:65536\nbob:300000:1000\n');
const PASSWD = write('passwd', 'root:x:0:0:root:/root:/bin/sh\ndockremap:x:999:999::/:/usr/sbin/nologin\nbob:x:1001:1001::/home/bob:/bin/sh\n');
const FILES = { subuid: SUBUID, subgid: SUBGID, passwd: PASSWD };

const map = (hostID: number, size: number, containerID = 0) => [{ containerID, hostID, size }];

function throwsRuntimeError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('parseSubIds', () => {
  test('name or uid, start, count; comments and blank lines skipped', () => {
    assert.deepEqual(parseSubIds(fs.readFileSync(SUBUID, 'utf8'), SUBUID), [
      { owner: 'dockremap', start: 100000, count: 65536 },
      { owner: '1001', start: 300000, count: 1000 },
      { owner: 'alice', start: 500000, count: 10 },
      { owner: 'alice', start: 500010, count: 10 },
    ]);
  });

  test('a malformed line is an error naming file and line', () => {
    throwsRuntimeError(() => parseSubIds('ok:1:2\nbad:1\n', '/etc/subuid'), '/etc/subuid:2: expected "name-or-uid:start:count" (got "bad:1")');
    throwsRuntimeError(() => parseSubIds('u:x:2', 'f'), /^f:1: start and count must be decimal numbers/);
    throwsRuntimeError(() => parseSubIds('u:-1:2', 'f'), /start and count must be decimal numbers/);
    throwsRuntimeError(() => parseSubIds('u:1:0', 'f'), /count must be at least 1/);
    throwsRuntimeError(() => parseSubIds('u:4294967290:10', 'f'), /runs past the largest ID 4294967294/);
    throwsRuntimeError(() => parseSubIds(':1:2', 'f'), /expected "name-or-uid:start:count"/);
  });
});

describe('checkSubordinateRanges', () => {
  test('mappings inside the delegated ranges pass (by name, and by uid for a name entry)', () => {
    checkSubordinateRanges('dockremap', map(100000, 65536), map(200000, 65536), FILES);
    checkSubordinateRanges(999, map(100000, 10, 0).concat(map(100010, 10, 10)), map(265535, 1), FILES);
  });

  test('a numeric entry matches the user by name too', () => {
    checkSubordinateRanges('bob', map(300000, 1000), map(300000, 1000), FILES);
    checkSubordinateRanges(1001, map(300500, 500), [], FILES);
  });

  test('adjacent ranges count as one', () => {
    checkSubordinateRanges('alice', map(500005, 10), [], FILES);
    throwsRuntimeError(() => checkSubordinateRanges('alice', map(500005, 16), [], FILES),
      `uidMappings[0]: host uids 500005-500020 are not delegated to user "alice" in ${SUBUID} (its ranges: 500000-500019)`);
  });

  test('a host range outside, or running past, the delegation is a clear error', () => {
    throwsRuntimeError(() => checkSubordinateRanges('dockremap', map(100000, 65537), map(200000, 1), FILES),
      `uidMappings[0]: host uids 100000-165536 are not delegated to user "dockremap" in ${SUBUID} (its ranges: 100000-165535)`);
    throwsRuntimeError(() => checkSubordinateRanges(999, map(100000, 1), map(200000, 1).concat(map(0, 1, 1)), FILES),
      `gidMappings[1]: host gids 0-0 are not delegated to uid 999 (dockremap) in ${SUBGID} (its ranges: 200000-265535)`);
  });

  test('another user\'s range is not yours; a user without ranges is told so', () => {
    throwsRuntimeError(() => checkSubordinateRanges('bob', map(100000, 1), [], FILES), 
      `uidMappings[0]: host uids 100000-100000 are not delegated to user "bob" in ${SUBUID} (its ranges: 300000-300999)`);
    throwsRuntimeError(() => checkSubordinateRanges('carol', map(100000, 1), [], FILES), `user "carol" has no subordinate uid range in ${SUBUID}`);
    throwsRuntimeError(() => checkSubordinateRanges('alice', [], map(1, 1), FILES), `user "alice" has no subordinate gid range in ${SUBGID}`);
  });

  test('no mappings need no files; a missing file is an error when needed', () => {
    checkSubordinateRanges('x', [], [], { subuid: path.join(dir, 'none'), subgid: path.join(dir, 'none'), passwd: path.join(dir, 'none') });
    throwsRuntimeError(() => checkSubordinateRanges('dockremap', map(100000, 1), [], { ...FILES, subuid: path.join(dir, 'none') }),
      `cannot read ${path.join(dir, 'none')}: it does not exist`);
  });
});
