import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import type { LinuxSeccomp } from '../spec/types';
import { canonicalJson, clearSeccompMemoryCache, compileCached, seccompCacheKey } from './cache';
import { compileSeccomp } from './compile';
import { DOCKER_DEFAULT_CAPABILITIES, dockerDefaultProfile } from './default-profile';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-cache-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => path.join(tmp, `c${n++}`);

const P: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }, { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }],
};

describe('canonicalJson', () => {
  it('sorts keys, drops absent members, writes bigints as integers', () => {
    assert.equal(canonicalJson({ b: 1, a: [2n, { d: null, c: 'x' }], e: undefined }), '{"a":[2,{"c":"x"}],"b":1}');
    assert.equal(canonicalJson({ v: 18446744073709551615n }), '{"v":18446744073709551615}');
  });
});

describe('compileCached', () => {
  beforeEach(() => clearSeccompMemoryCache());

  it('gives what compileSeccomp gives', () => {
    const c = compileCached(P);
    assert.deepEqual(c.program, compileSeccomp(P).program);
    assert.equal(c.flags, 0);
    assert.equal(c.source, 'compiled');
    assert.match(c.key, /^[0-9a-f]{64}$/);
  });

  it('hits memory the second time, and hands out copies', () => {
    const a = compileCached(P);
    const b = compileCached(P);
    assert.equal(b.source, 'memory');
    assert.equal(b.key, a.key);
    b.program.fill(0);
    assert.deepEqual(compileCached(P).program, a.program);
  });

  it('keys on content: key order and number/bigint spelling do not matter, any change does', () => {
    const same: LinuxSeccomp = {
      syscalls: [{ action: 'SCMP_ACT_ALLOW', names: ['read', 'write'] }, { args: [{ op: 'SCMP_CMP_EQ', index: 0, value: 8n }], names: ['personality'], action: 'SCMP_ACT_ALLOW' }],
      architectures: ['SCMP_ARCH_X86_64'],
      defaultAction: 'SCMP_ACT_ERRNO',
    };
    assert.equal(seccompCacheKey(same), seccompCacheKey(P));
    assert.notEqual(seccompCacheKey({ ...P, defaultErrnoRet: 2 }), seccompCacheKey(P));
    assert.notEqual(seccompCacheKey({ ...P, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] }), seccompCacheKey(P));
    assert.notEqual(seccompCacheKey(P, { enosysStub: false }), seccompCacheKey(P));
    compileCached(P);
    assert.equal(compileCached(same).source, 'memory');
  });

  it('writes <sha256>.bpf and .json atomically and reads them back', () => {
    const dir = freshDir();
    const a = compileCached(P, dir);
    assert.equal(a.source, 'compiled');
    assert.equal((fs.statSync(dir).mode & 0o777), 0o700);
    assert.deepEqual(fs.readdirSync(dir).sort(), [`${a.key}.bpf`, `${a.key}.json`]);
    assert.deepEqual(fs.readFileSync(path.join(dir, `${a.key}.bpf`)), a.program);
    clearSeccompMemoryCache();
    const b = compileCached(P, dir);
    assert.equal(b.source, 'disk');
    assert.deepEqual(b.program, a.program);
    assert.equal(compileCached(P, dir).source, 'memory');
  });

  it('keeps flags and the listener through the disk', () => {
    const dir = freshDir();
    const p: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'], listenerPath: '/run/agent.sock', listenerMetadata: 'meta',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    };
    compileCached(p, dir);
    clearSeccompMemoryCache();
    const c = compileCached(p, dir);
    assert.equal(c.source, 'disk');
    assert.equal(c.flags, 2 | 8);
    assert.equal(c.listenerPath, '/run/agent.sock');
    assert.equal(c.listenerMetadata, 'meta');
  });

  it('a damaged entry is a miss and is rewritten', () => {
    const dir = freshDir();
    const a = compileCached(P, dir);
    const bpf = path.join(dir, `${a.key}.bpf`);
    for (const damage of [
      () => fs.writeFileSync(bpf, a.program.subarray(0, a.program.length - 8)),
      () => fs.writeFileSync(bpf, Buffer.concat([a.program.subarray(0, 8), Buffer.alloc(a.program.length - 8)])),
      () => fs.writeFileSync(path.join(dir, `${a.key}.json`), '{'),
      () => fs.rmSync(path.join(dir, `${a.key}.json`)),
    ]) {
      damage();
      clearSeccompMemoryCache();
      const b = compileCached(P, dir);
      assert.equal(b.source, 'compiled');
      assert.deepEqual(b.program, a.program);
      clearSeccompMemoryCache();
      assert.equal(compileCached(P, dir).source, 'disk');
    }
  });

  it('refuses a cache directory others can write', () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chmodSync(dir, 0o777);
    assert.throws(() => compileCached(P, dir), /seccomp cache directory .* writable by no one else/);
    const link = freshDir();
    const real = freshDir();
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, link);
    assert.throws(() => compileCached(P, link), /not a directory/);
  });

  it('does not cache errors', () => {
    const bad = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['nope'], action: 'SCMP_ACT_ERRNO' }] } as LinuxSeccomp;
    assert.throws(() => compileCached(bad), /unknown syscall "nope"/);
    assert.throws(() => compileCached(bad), /unknown syscall "nope"/);
  });

  it('warm hits of the default profile are cheap', () => {
    const p = dockerDefaultProfile({ capabilities: DOCKER_DEFAULT_CAPABILITIES, kernelRelease: '6.1' });
    compileCached(p);
    const t = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) assert.equal(compileCached(p).source, 'memory');
    const ms = Number(process.hrtime.bigint() - t) / 1e6 / 100;
    assert.ok(ms < 5, `${ms} ms a hit`);
  });
});
