import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RuntimeError } from '../errors';
import { ContainerState, StateStore, validateId } from './store';

function runtimeError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe('validateId', () => {
  for (const id of ['c1', 'ABC', 'a_b', 'a-b', 'a.b', 'a+b', 'a..b', '.hidden', '-x', '_', '0123456789', 'x'.repeat(255)]) {
    test(`accepts ${JSON.stringify(id.length > 20 ? `${id.slice(0, 5)}…(${id.length})` : id)}`, () => {
      assert.equal(validateId(id), id);
    });
  }

  test('rejects "" and undefined as empty', () => {
    runtimeError(() => validateId(''), 'container id cannot be empty');
    runtimeError(() => validateId(undefined), 'container id cannot be empty');
  });

  for (const id of ['.', '..', 'a/b', '../x', 'a b', 'a\nb', 'c1\n', 'a:b', 'a,b', 'é', 'a\\b', 'x'.repeat(256)]) {
    test(`rejects ${JSON.stringify(id.length > 20 ? `${id.slice(0, 5)}…(${id.length})` : id)}`, () => {
      runtimeError(() => validateId(id), `invalid container id ${JSON.stringify(id)}: use letters, digits, "_", "+", "-" and "."`);
    });
  }
});

function sampleState(id: string): ContainerState {
  return {
    ociVersion: '1.2.0',
    id,
    pid: 1234,
    pidStartTime: '98765',
    bundle: '/bundles/' + id,
    rootfs: '/bundles/' + id + '/rootfs',
    created: '2024-05-06T07:08:09.123456789Z',
    owner: '',
    annotations: { 'org.example/key': 'välue' },
    cgroup: { version: 2, path: '/berth/' + id, dirs: { unified: '/sys/fs/cgroup/berth/' + id } },
    config: {
      ociVersion: '1.2.0',
      process: {
        user: { uid: 0, gid: 0 },
        args: ['sh'],
        cwd: '/',
        rlimits: [
          { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
          { type: 'RLIMIT_CORE', soft: 18446744073709551615n, hard: 18446744073709551615n },
          { type: 'RLIMIT_AS', soft: 9007199254740993n, hard: 18446744073709551614n },
        ],
      },
      root: { path: 'rootfs' },
    },
  };
}

describe('StateStore', () => {
  let top: string;
  let store: StateStore;
  beforeEach(() => {
    top = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-store-test-'));
    store = new StateStore(path.join(top, 'root'));
  });
  afterEach(() => fs.rmSync(top, { recursive: true, force: true }));

  test('dir and fifo paths: <root>/<id> and <root>/<id>/exec.fifo', () => {
    assert.equal(store.dir('c1'), path.join(top, 'root', 'c1'));
    assert.equal(store.fifo('c1'), path.join(top, 'root', 'c1', 'exec.fifo'));
  });

  test('claim creates the root (recursively) and the container directory', () => {
    const deep = new StateStore(path.join(top, 'a', 'b', 'root'));
    deep.claim('c1');
    assert.ok(fs.statSync(deep.dir('c1')).isDirectory());
    assert.equal(deep.hasDir('c1'), true);
  });

  test('claiming the same id twice: "already exists"', () => {
    store.claim('c1');
    runtimeError(() => store.claim('c1'), 'container with id c1 already exists');
  });

  test('claiming a different id next to an existing one works', () => {
    store.claim('c1');
    store.claim('c2');
    assert.deepEqual(store.ids(), ['c1', 'c2']);
  });

  test('a claim that cannot create the directory is a RuntimeError naming it', () => {
    fs.mkdirSync(store.root, { recursive: true });
    fs.writeFileSync(path.join(store.root, 'blocker'), '');
    const nested = new StateStore(path.join(store.root, 'blocker'));
    assert.throws(() => nested.claim('c1'), (e: unknown) => e instanceof Error && /blocker/.test(e.message));
  });

  test('write then read returns the same state', () => {
    store.claim('c1');
    const s = sampleState('c1');
    store.write(s);
    assert.deepEqual(store.read('c1'), s);
  });

  test('64-bit rlimit values survive write → read exactly, as bigints; small ones stay numbers', () => {
    store.claim('c1');
    store.write(sampleState('c1'));
    const rl = store.read('c1').config.process!.rlimits!;
    assert.deepEqual(rl.map((r) => [r.soft, r.hard]), [
      [1024, 4096],
      [18446744073709551615n, 18446744073709551615n],
      [9007199254740993n, 18446744073709551614n],
    ]);
    assert.equal(typeof rl[1].hard, 'bigint');
    assert.equal(typeof rl[0].hard, 'number');
  });

  test('state.json holds the 64-bit values as JSON integers, not strings or rounded floats', () => {
    store.claim('c1');
    store.write(sampleState('c1'));
    const text = fs.readFileSync(path.join(store.dir('c1'), 'state.json'), 'utf8');
    assert.match(text, /"hard":18446744073709551615[,}]/);
    assert.match(text, /"soft":9007199254740993[,}]/);
  });

  test('write replaces state.json atomically: no temporary file is left, mode 0600', () => {
    store.claim('c1');
    store.write(sampleState('c1'));
    const s2 = { ...sampleState('c1'), pid: 99 };
    store.write(s2);
    assert.deepEqual(fs.readdirSync(store.dir('c1')), ['state.json']);
    assert.equal(fs.statSync(path.join(store.dir('c1'), 'state.json')).mode & 0o777, 0o600);
    assert.equal(store.read('c1').pid, 99);
  });

  test('reading an id that was never created: "does not exist"', () => {
    runtimeError(() => store.read('nope'), 'container nope does not exist');
  });

  test('reading a claimed id without state.json (create in progress): "does not exist"', () => {
    store.claim('c1');
    runtimeError(() => store.read('c1'), 'container c1 does not exist');
  });

  test('read validates the id before touching the filesystem', () => {
    runtimeError(() => store.read('../x'), 'invalid container id "../x": use letters, digits, "_", "+", "-" and "."');
  });

  test('ids of a root that does not exist: none', () => {
    assert.deepEqual(store.ids(), []);
  });

  test('ids are sorted and include claimed ids without state.json', () => {
    for (const id of ['zeta', 'alpha', 'mid']) store.claim(id);
    store.write(sampleState('mid'));
    assert.deepEqual(store.ids(), ['alpha', 'mid', 'zeta']);
  });

  test('ids skip names that are not valid container ids', () => {
    store.claim('c1');
    fs.mkdirSync(path.join(store.root, 'not valid'));
    fs.mkdirSync(path.join(store.root, 'a,b'));
    assert.deepEqual(store.ids(), ['c1']);
  });

  test('remove deletes the container directory and everything in it', () => {
    store.claim('c1');
    store.write(sampleState('c1'));
    store.remove('c1');
    assert.equal(store.hasDir('c1'), false);
    assert.deepEqual(store.ids(), []);
    runtimeError(() => store.read('c1'), 'container c1 does not exist');
  });

  test('remove of an id that does not exist is not an error', () => {
    assert.doesNotThrow(() => store.remove('ghost'));
  });

  test('an id can be claimed again after remove', () => {
    store.claim('c1');
    store.remove('c1');
    assert.doesNotThrow(() => store.claim('c1'));
  });
});

describe('StateStore: an id can never reach outside the root', () => {
  test('every path-taking method refuses "../x" and leaves a sibling of the root untouched', () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-store-escape-'));
    try {
      const victim = path.join(top, 'victim');
      fs.mkdirSync(victim);
      const store = new StateStore(path.join(top, 'root'));
      for (const call of [() => store.dir('../victim'), () => store.remove('../victim'), () => store.hasDir('../victim'), () => store.claim('../victim'), () => store.read('../victim')]) {
        assert.throws(call, (e: Error) => e instanceof RuntimeError && /invalid container id/.test(e.message));
      }
      assert.ok(fs.existsSync(victim));
    } finally {
      fs.rmSync(top, { recursive: true, force: true });
    }
  });
});
