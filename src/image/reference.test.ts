import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ImageReference,
  ReferenceError,
  familiarString,
  normalizeReference,
  parseAnyReference,
  parseDockerRef,
  parseNormalizedNamed,
  parseReference,
} from './reference';

const F64 = 'f'.repeat(64);
const F128 = 'f'.repeat(128);

// Docker distribution/reference reference_test.go TestReferenceParse (raw Parse).
interface ParseCase { input: string; err?: RegExp; repository?: string; domain?: string; tag?: string; digest?: string }
const parseCases: ParseCase[] = [
  { input: 'test_com', repository: 'test_com' },
  { input: 'test.com:tag', repository: 'test.com', tag: 'tag' },
  { input: 'test.com:5000', repository: 'test.com', tag: '5000' },
  { input: 'test.com/repo:tag', domain: 'test.com', repository: 'test.com/repo', tag: 'tag' },
  { input: 'test:5000/repo', domain: 'test:5000', repository: 'test:5000/repo' },
  { input: 'test:5000/repo:tag', domain: 'test:5000', repository: 'test:5000/repo', tag: 'tag' },
  { input: `test:5000/repo@sha256:${F64}`, domain: 'test:5000', repository: 'test:5000/repo', digest: `sha256:${F64}` },
  { input: `test:5000/repo:tag@sha256:${F64}`, domain: 'test:5000', repository: 'test:5000/repo', tag: 'tag', digest: `sha256:${F64}` },
  { input: '', err: /^invalid reference format: repository name must have at least one component$/ },
  { input: ':justtag', err: /^invalid reference format$/ },
  { input: `@sha256:${F64}`, err: /^invalid reference format$/ },
  { input: 'repo@sha256:ffffffffffffffffffffffffffffffffff', err: /invalid checksum digest length/ },
  { input: `validname@invaliddigest:${F64}`, err: /unsupported digest algorithm/ },
  { input: 'Uppercase:tag', err: /^invalid reference format: repository name must be lowercase$/ },
  { input: 'test:5000/Uppercase/lowercase:tag', err: /^invalid reference format: repository name must be lowercase$/ },
  { input: 'lowercase:Uppercase', repository: 'lowercase', tag: 'Uppercase' },
  { input: 'a/'.repeat(128) + 'a:tag', err: /must not be more than 255 characters/ },
  { input: 'a/'.repeat(127) + 'a:tag-puts-this-over-max', domain: 'a', repository: 'a/'.repeat(127) + 'a', tag: 'tag-puts-this-over-max' },
  { input: 'aa/asdf$$^/aa', err: /^invalid reference format$/ },
  { input: 'sub-dom1.foo.com/bar/baz/quux', domain: 'sub-dom1.foo.com', repository: 'sub-dom1.foo.com/bar/baz/quux' },
  { input: 'sub-dom1.foo.com/bar/baz/quux:some-long-tag', domain: 'sub-dom1.foo.com', repository: 'sub-dom1.foo.com/bar/baz/quux', tag: 'some-long-tag' },
  { input: 'b.gcr.io/test.example.com/my-app:test.example.com', domain: 'b.gcr.io', repository: 'b.gcr.io/test.example.com/my-app', tag: 'test.example.com' },
  { input: 'xn--n3h.com/myimage:xn--n3h.com', domain: 'xn--n3h.com', repository: 'xn--n3h.com/myimage', tag: 'xn--n3h.com' },
  { input: `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${F128}`, domain: 'xn--7o8h.com', repository: 'xn--7o8h.com/myimage', tag: 'xn--7o8h.com', digest: `sha512:${F128}` },
  { input: 'foo_bar.com:8080', repository: 'foo_bar.com', tag: '8080' },
  { input: 'foo/foo_bar.com:8080', domain: 'foo', repository: 'foo/foo_bar.com', tag: '8080' },
  { input: '192.168.1.1', repository: '192.168.1.1' },
  { input: '192.168.1.1:tag', repository: '192.168.1.1', tag: 'tag' },
  { input: '192.168.1.1:5000', repository: '192.168.1.1', tag: '5000' },
  { input: '192.168.1.1/repo', domain: '192.168.1.1', repository: '192.168.1.1/repo' },
  { input: '192.168.1.1:5000/repo', domain: '192.168.1.1:5000', repository: '192.168.1.1:5000/repo' },
  { input: '192.168.1.1:5000/repo:5050', domain: '192.168.1.1:5000', repository: '192.168.1.1:5000/repo', tag: '5050' },
  { input: '[2001:db8::1]', err: /^invalid reference format$/ },
  { input: '[2001:db8::1]:5000', err: /^invalid reference format$/ },
  { input: '[2001:db8::1]:tag', err: /^invalid reference format$/ },
  { input: '[2001:db8::1]/repo', domain: '[2001:db8::1]', repository: '[2001:db8::1]/repo' },
  { input: '[2001:db8:1:2:3:4:5:6]/repo:tag', domain: '[2001:db8:1:2:3:4:5:6]', repository: '[2001:db8:1:2:3:4:5:6]/repo', tag: 'tag' },
  { input: '[2001:db8::1]:5000/repo', domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo' },
  { input: '[2001:db8::1]:5000/repo:tag', domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', tag: 'tag' },
  { input: `[2001:db8::1]:5000/repo@sha256:${F64}`, domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', digest: `sha256:${F64}` },
  { input: `[2001:db8::1]:5000/repo:tag@sha256:${F64}`, domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', tag: 'tag', digest: `sha256:${F64}` },
  { input: '[2001:db8::]:5000/repo', domain: '[2001:db8::]:5000', repository: '[2001:db8::]:5000/repo' },
  { input: '[::1]:5000/repo', domain: '[::1]:5000', repository: '[::1]:5000/repo' },
  { input: '[fe80::1%eth0]:5000/repo', err: /^invalid reference format$/ },
  { input: '[fe80::1%@invalidzone]:5000/repo', err: /^invalid reference format$/ },
  // extra: uppercase hex digests are rejected (go-digest requires lowercase)
  { input: `repo@sha256:${'F'.repeat(64)}`, err: /invalid checksum digest format/ },
  { input: 'repo:-tag', err: /^invalid reference format$/ },
  { input: `repo:${'t'.repeat(128)}`, repository: 'repo', tag: 't'.repeat(128) },
  { input: `repo:${'t'.repeat(129)}`, err: /^invalid reference format$/ },
];

test('parseReference: Docker TestReferenceParse vectors', () => {
  for (const tc of parseCases) {
    if (tc.err) {
      assert.throws(() => parseReference(tc.input), (e: Error) => {
        assert.ok(e instanceof ReferenceError, `${tc.input}: ${e}`);
        assert.match(e.message, tc.err!, tc.input);
        return true;
      });
      continue;
    }
    const r = parseReference(tc.input);
    assert.equal(r.toString(), tc.input);
    assert.equal(r.name(), tc.repository ?? '', tc.input);
    assert.equal(r.domain, tc.domain ?? '', tc.input);
    assert.equal(r.tag, tc.tag, tc.input);
    assert.equal(r.digest, tc.digest, tc.input);
  }
});

test('parseNormalizedNamed: Docker TestValidateReferenceName / TestValidateRemoteName', () => {
  const valid = [
    'docker/docker', 'library/debian', 'debian', 'docker.io/docker/docker', 'docker.io/library/debian', 'docker.io/debian',
    'index.docker.io/docker/docker', 'index.docker.io/library/debian', 'index.docker.io/debian',
    '127.0.0.1:5000/docker/docker', '127.0.0.1:5000/library/debian', '127.0.0.1:5000/debian',
    '192.168.0.1', '192.168.0.1:80', '192.168.0.1:8/debian', '192.168.0.2:25000/debian',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    '[fc00::1]:5000/docker', '[fc00::1]:5000/docker/docker', '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    'docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', 'Docker/docker', 'DOCKER/docker',
    'docker-rules/docker', 'docker---rules/docker', 'doc/docker', 'd/docker', 'jess/t', 'dock__er/docker',
  ];
  const invalid = [
    'https://github.com/docker/docker', 'docker/Docker', '-docker', '-docker/docker', '-docker.io/docker/docker',
    'docker///docker', 'docker.io/docker/Docker', 'docker.io/docker///docker', '[fc00::1]', '[fc00::1]:5000',
    'fc00::1:5000/debian', '[fe80::1%eth0]:5000/debian', '[2001:db8:3:4::192.0.2.33]:5000/debian',
    '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
    'docker-/docker', '-docker-/docker', '____/____', '_docker/_docker', 'dock..er/docker', 'dock_.er/docker',
    'dock-.er/docker', 'docker/',
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
  ];
  for (const v of valid) assert.doesNotThrow(() => parseNormalizedNamed(v), v);
  for (const v of invalid) assert.throws(() => parseNormalizedNamed(v), ReferenceError, v);
});

test('parseNormalizedNamed: Docker TestParseRepositoryInfo', () => {
  const cases: [remote: string, familiar: string, full: string, ambiguous: string, domain: string][] = [
    ['fooo/bar', 'fooo/bar', 'docker.io/fooo/bar', 'index.docker.io/fooo/bar', 'docker.io'],
    ['library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'library/ubuntu', 'docker.io'],
    ['nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', '', 'docker.io'],
    ['other/library', 'other/library', 'docker.io/other/library', '', 'docker.io'],
    ['private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', '', '127.0.0.1:8000'],
    ['privatebase', '127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase', '', '127.0.0.1:8000'],
    ['private/moonbase', 'example.com/private/moonbase', 'example.com/private/moonbase', '', 'example.com'],
    ['privatebase', 'example.com/privatebase', 'example.com/privatebase', '', 'example.com'],
    ['private/moonbase', 'example.com:8000/private/moonbase', 'example.com:8000/private/moonbase', '', 'example.com:8000'],
    ['privatebasee', 'example.com:8000/privatebasee', 'example.com:8000/privatebasee', '', 'example.com:8000'],
    ['library/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'index.docker.io/library/ubuntu-12.04-base', 'docker.io'],
    ['library/foo', 'foo', 'docker.io/library/foo', 'docker.io/foo', 'docker.io'],
    ['library/foo/bar', 'library/foo/bar', 'docker.io/library/foo/bar', '', 'docker.io'],
    ['store/foo/bar', 'store/foo/bar', 'docker.io/store/foo/bar', '', 'docker.io'],
    ['bar', 'Foo/bar', 'Foo/bar', '', 'Foo'],
    ['bar', 'FOO/bar', 'FOO/bar', '', 'FOO'],
  ];
  for (const [remote, familiar, full, ambiguous, domain] of cases) {
    for (const input of [familiar, full, ...(ambiguous ? [ambiguous] : [])]) {
      const r = parseNormalizedNamed(input);
      assert.equal(r.familiarName(), familiar, input);
      assert.equal(r.toString(), full, input);
      assert.equal(r.domain, domain, input);
      assert.equal(r.path, remote, input);
    }
  }
});

test('parseNormalizedNamed: Docker TestNormalizedSplitHostname', () => {
  const cases: [string, string, string][] = [
    ['test.com/foo', 'test.com', 'foo'], ['test_com/foo', 'docker.io', 'test_com/foo'],
    ['docker/migrator', 'docker.io', 'docker/migrator'], ['test.com:8080/foo', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080', 'foo'], ['foo', 'docker.io', 'library/foo'],
    ['xn--n3h.com/foo', 'xn--n3h.com', 'foo'], ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
    ['docker.io/foo', 'docker.io', 'library/foo'], ['docker.io/library/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
    ['localhost/foo', 'localhost', 'foo'], ['localhost:5000/x', 'localhost:5000', 'x'],
  ];
  for (const [input, domain, p] of cases) {
    const r = parseNormalizedNamed(input);
    assert.equal(r.domain, domain, input);
    assert.equal(r.path, p, input);
  }
});

test('tag + digest together, familiar round trip (TestParseReferenceWithTagAndDigest)', () => {
  const short = 'busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
  const r = parseNormalizedNamed(short);
  assert.equal(r.toString(), 'docker.io/library/' + short);
  assert.equal(r.tag, 'latest');
  assert.ok(r.digest);
  assert.equal(r.familiarString(), short);
  // ParseDockerRef drops the tag when a digest is present
  assert.equal(parseDockerRef(short).toString(), 'docker.io/library/busybox@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa');
  assert.equal(parseDockerRef('busybox').toString(), 'docker.io/library/busybox:latest');
});

test('normalizeReference adds docker.io/library and :latest', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['index.docker.io/user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['localhost:5000/x', 'localhost:5000/x:latest', 'localhost:5000/x:latest'],
    ['localhost/x:v1', 'localhost/x:v1', 'localhost/x:v1'],
    ['ghcr.io/o/r', 'ghcr.io/o/r:latest', 'ghcr.io/o/r:latest'],
    [`busybox@sha256:${F64}`, `docker.io/library/busybox@sha256:${F64}`, `busybox@sha256:${F64}`],
  ];
  for (const [input, full, fam] of cases) {
    const r = normalizeReference(input);
    assert.equal(r.toString(), full, input);
    assert.equal(r.familiarString(), fam, input);
    assert.equal(familiarString(full), fam, full);
  }
});

test('Docker TestParseAnyReference', () => {
  const d = 'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
  const cases: [string, string][] = [
    ['redis', 'docker.io/library/redis'],
    ['redis:latest', 'docker.io/library/redis:latest'],
    ['docker.io/library/redis:latest', 'docker.io/library/redis:latest'],
    [`redis@sha256:${d}`, `docker.io/library/redis@sha256:${d}`],
    [`docker.io/library/redis@sha256:${d}`, `docker.io/library/redis@sha256:${d}`],
    ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp'],
    ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
    ['docker.io/mcgowan/myapp:latest', 'docker.io/mcgowan/myapp:latest'],
    [`dmcgowan/myapp@sha256:${d}`, `docker.io/dmcgowan/myapp@sha256:${d}`],
    [d, `sha256:${d}`],
    [`sha256:${d}`, `sha256:${d}`],
    [d.slice(0, 63), `docker.io/library/${d.slice(0, 63)}`],
    ['dbcc1', 'docker.io/library/dbcc1'],
  ];
  for (const [input, eq] of cases) assert.equal(parseAnyReference(input).toString(), eq, input);
  assert.equal(parseAnyReference(d).name(), '');
});

test('error messages match Docker', () => {
  assert.throws(() => parseNormalizedNamed('docker.io/library/Busybox'), {
    message: 'invalid reference format: repository name (library/Busybox) must be lowercase',
  });
  assert.throws(() => parseNormalizedNamed('Busybox'), {
    message: 'invalid reference format: repository name (library/Busybox) must be lowercase',
  });
  assert.throws(() => parseNormalizedNamed(F64), {
    message: `invalid repository name (${F64}), cannot specify 64-byte hexadecimal strings`,
  });
  assert.throws(() => parseReference('foo:bar:baz'), { message: 'invalid reference format' });
  assert.throws(() => normalizeReference('busybox').withTag('-x'), { message: 'invalid tag format' });
});

test('withTag / withDigest / trimNamed', () => {
  const r = new ImageReference('test.com:8000', 'foo').withTag('TAG5').withDigest(`sha256:${F64}`);
  assert.equal(r.toString(), `test.com:8000/foo:TAG5@sha256:${F64}`);
  assert.equal(r.trimNamed().toString(), 'test.com:8000/foo');
  assert.throws(() => r.withDigest('foo'), ReferenceError);
  assert.equal(JSON.stringify({ r: normalizeReference('x') }), '{"r":"docker.io/library/x:latest"}');
});

test('pathological input does not backtrack catastrophically', () => {
  const inputs = ['a'.repeat(20000) + '!', 'a-'.repeat(10000) + '!', 'a.'.repeat(10000) + '/', ('a'.repeat(50) + '.').repeat(200) + '/B'];
  const t0 = Date.now();
  for (const s of inputs) assert.throws(() => parseReference(s), ReferenceError);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});
