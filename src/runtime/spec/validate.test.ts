import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, deepFreeze, minimal, rejects } from './fixtures';
import { CAPABILITIES, parseSpec, SpecError, stringifySpec, validateProcess, validateSpec } from './validate';

describe('parseSpec: JSON', () => {
  it('parses a valid document', () => {
    const s = parseSpec(JSON.stringify(minimal()));
    assert.equal(s.ociVersion, '1.2.0');
    assert.deepEqual(s.process?.args, ['sh']);
  });

  it('reports a syntax error with line and column', () => {
    const text = '{\n  "ociVersion": "1.2.0",\n    oops: 1\n}';
    assert.throws(
      () => parseSpec(text),
      (e: unknown) => {
        assert.ok(e instanceof SpecError);
        assert.equal(e.field, undefined);
        assert.equal(e.line, 3);
        assert.equal(e.column, 5);
        assert.match(e.message, /^config\.json: invalid JSON at line 3 column 5: expected a double-quoted property name/);
        return true;
      },
    );
  });

  it('uses the given file name', () => {
    assert.throws(() => parseSpec('{', '/b/config.json'), /^SpecError: \/b\/config\.json: invalid JSON at line 1 column 2: unexpected end of input/);
  });

  it('reports errors JSON.parse gives no position for', () => {
    assert.throws(() => parseSpec('{"a": [1,]}'), /line 1 column 10: trailing comma before "\]"/);
    assert.throws(() => parseSpec('{"a": tru}'), /line 1 column 7: unexpected "t" \(expected a value\)/);
    assert.throws(() => parseSpec('{"a": 1}\n}'), /line 2 column 1: unexpected text after the end/);
    assert.throws(() => parseSpec('{"a": "x\ny"}'), /line 1 column 9: control character U\+000A must be escaped/);
  });

  it('rejects a document that is not an object', () => {
    assert.throws(() => parseSpec('[1]'), /^SpecError: config\.json: must contain a JSON object \(got an array\)$/);
  });

  it('keeps 64-bit integers exact', () => {
    const raw = minimal();
    raw.process.rlimits = [{ type: 'RLIMIT_CORE', hard: 0, soft: 0 }];
    const text = JSON.stringify(raw).replace('"hard":0', '"hard":18446744073709551615');
    const s = parseSpec(text);
    assert.equal(s.process?.rlimits?.[0]?.hard, 18446744073709551615n);
    assert.match(stringifySpec(s), /"hard": 18446744073709551615,/);
    assert.deepEqual(parseSpec(stringifySpec(s)), s);
  });
});

describe('validateSpec: top level', () => {
  it('accepts a minimal spec and does not modify its input', () => {
    const raw = deepFreeze(minimal());
    const s = validateSpec(raw);
    assert.deepEqual(s, minimal());
    assert.notEqual(s.process, raw.process);
  });

  it('ignores unknown fields and treats null as absent', () => {
    const s = check((s) => {
      s.vendorExtension = { anything: true };
      s.windows = 7;
      s.mounts = null;
      s.process.vendor = 1;
    });
    assert.equal('vendorExtension' in s, false);
    assert.equal('mounts' in s, false);
    assert.equal('vendor' in (s.process ?? {}), false);
  });

  it('ociVersion', () => {
    rejects((s) => delete s.ociVersion, 'ociVersion', 'is required');
    rejects((s) => (s.ociVersion = 1), 'ociVersion', 'must be a string (got 1)');
    rejects((s) => (s.ociVersion = '2.0.0'), 'ociVersion', /unsupported version "2.0.0"/);
    assert.equal(check((s) => (s.ociVersion = '1.0.2-dev')).ociVersion, '1.0.2-dev');
  });

  it('root', () => {
    rejects((s) => delete s.root, 'root', 'is required');
    rejects((s) => (s.root = 'rootfs'), 'root', 'must be an object (got string "rootfs")');
    rejects((s) => (s.root = {}), 'root.path', 'is required');
    rejects((s) => (s.root.path = 5), 'root.path', 'must be a string (got 5)');
    rejects((s) => (s.root.path = ''), 'root.path', 'must not be empty');
    rejects((s) => (s.root.readonly = 'yes'), 'root.readonly', 'must be a boolean (got string "yes")');
    assert.deepEqual(check((s) => (s.root = { path: '/abs/rootfs', readonly: true })).root, { path: '/abs/rootfs', readonly: true });
  });

  it('process is required only when asked', () => {
    assert.equal(check((s) => delete s.process).process, undefined);
    rejects((s) => delete s.process, 'process', 'is required', { requireProcess: true });
    rejects((s) => (s.process = null), 'process', 'is required', { requireProcess: true });
  });

  it('hostname and domainname need a UTS namespace', () => {
    rejects((s) => (s.hostname = 7), 'hostname', 'must be a string (got 7)');
    rejects((s) => (s.linux.namespaces = [{ type: 'mount' }]), 'hostname', /requires a UTS namespace/);
    rejects((s) => { delete s.hostname; delete s.linux; s.domainname = 'x'; }, 'domainname', /requires a UTS namespace/);
    assert.equal(check((s) => { delete s.hostname; delete s.linux; }).linux, undefined);
  });

  it('annotations are strings', () => {
    assert.deepEqual(check((s) => (s.annotations = { 'org.example/a': 'b' })).annotations, { 'org.example/a': 'b' });
    rejects((s) => (s.annotations = { 'org.example.n': 1 }), 'annotations["org.example.n"]', 'must be a string (got 1)');
    rejects((s) => (s.annotations = []), 'annotations', 'must be an object (got an array)');
  });
});

describe('validateSpec: process', () => {
  it('args', () => {
    const msg = 'must be a non-empty array of strings';
    rejects((s) => delete s.process.args, 'process.args', msg);
    rejects((s) => (s.process.args = []), 'process.args', msg);
    rejects((s) => (s.process.args = 'sh'), 'process.args', msg);
    rejects((s) => (s.process.args = ['sh', 1]), 'process.args[1]', 'must be a string (got 1)');
  });

  it('cwd must be absolute', () => {
    rejects((s) => delete s.process.cwd, 'process.cwd', 'is required');
    rejects((s) => (s.process.cwd = 'tmp'), 'process.cwd', 'must be an absolute path (got string "tmp")');
  });

  it('env entries need "="', () => {
    assert.deepEqual(check((s) => (s.process.env = ['A=1', 'B=', 'C=x=y'])).process?.env, ['A=1', 'B=', 'C=x=y']);
    rejects((s) => (s.process.env = ['A=1', 'B']), 'process.env[1]', '"B" is not of the form NAME=value');
    rejects((s) => (s.process.env = ['=1']), 'process.env[0]', /empty variable name/);
    rejects((s) => (s.process.env = 'A=1'), 'process.env', /must be an array of strings/);
  });

  it('user', () => {
    const u = check((s) => (s.process.user = { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [5, 6] })).process?.user;
    assert.deepEqual(u, { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 6] });
    assert.deepEqual(check((s) => delete s.process.user).process?.user, { uid: 0, gid: 0 });
    assert.deepEqual(check((s) => (s.process.user.uid = 4294967295)).process?.user.uid, 4294967295);
    const range = /must be an integer between 0 and 4294967295/;
    rejects((s) => (s.process.user.uid = -1), 'process.user.uid', range);
    rejects((s) => (s.process.user.uid = 4294967296), 'process.user.uid', range);
    rejects((s) => (s.process.user.gid = 1.5), 'process.user.gid', range);
    rejects((s) => (s.process.user.gid = '0'), 'process.user.gid', /\(got string "0"\)/);
    rejects((s) => (s.process.user.umask = 0.5), 'process.user.umask', /integer/);
    rejects((s) => (s.process.user.additionalGids = [1, -2]), 'process.user.additionalGids[1]', range);
  });

  it('capabilities', () => {
    const caps = { bounding: ['CAP_CHOWN'], effective: [], inheritable: ['CAP_KILL'], permitted: ['CAP_BPF'], ambient: ['CAP_CHECKPOINT_RESTORE'] };
    assert.deepEqual(check((s) => (s.process.capabilities = caps)).process?.capabilities, caps);
    rejects((s) => (s.process.capabilities = { permitted: ['CAP_KILL', 'CAP_FOO'] }), 'process.capabilities.permitted[1]', 'unknown capability "CAP_FOO"');
    rejects((s) => (s.process.capabilities = { ambient: ['chown'] }), 'process.capabilities.ambient[0]', /unknown capability "chown" \(names are upper case/);
    rejects((s) => (s.process.capabilities = { bounding: 'CAP_KILL' }), 'process.capabilities.bounding', /must be an array of strings/);
  });

  it('CAPABILITIES is the kernel table', () => {
    assert.equal(Object.keys(CAPABILITIES).length, 41);
    assert.equal(CAPABILITIES.CAP_CHOWN, 0);
    assert.equal(CAPABILITIES.CAP_SYS_ADMIN, 21);
    assert.equal(CAPABILITIES.CAP_CHECKPOINT_RESTORE, 40);
    assert.deepEqual(Object.values(CAPABILITIES), [...Array(41).keys()]);
  });

  it('rlimits', () => {
    const ok = [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 512 }, { type: 'RLIMIT_CORE', hard: 0, soft: 0 }];
    assert.deepEqual(check((s) => (s.process.rlimits = ok)).process?.rlimits, ok);
    const r = (x: object) => (s: { process: { rlimits: object[] } }) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 10, soft: 10, ...x }]);
    rejects(r({ type: 'RLIMIT_FOO' }), 'process.rlimits[0].type', /^unknown rlimit "RLIMIT_FOO" \(expected one of: .*RLIMIT_NOFILE/);
    rejects(r({ type: 'nofile' }), 'process.rlimits[0].type', /unknown rlimit "nofile"/);
    rejects(r({ soft: 11 }), 'process.rlimits[0].soft', 'soft limit 11 is greater than hard limit 10');
    rejects(r({ hard: -1 }), 'process.rlimits[0].hard', /between 0 and 18446744073709551615/);
    rejects(r({ soft: undefined }), 'process.rlimits[0].soft', 'is required');
    rejects(
      (s) => (s.process.rlimits = [{ type: 'RLIMIT_AS', hard: 1, soft: 1 }, { type: 'RLIMIT_NPROC', hard: 1, soft: 1 }, { type: 'RLIMIT_AS', hard: 2, soft: 2 }]),
      'process.rlimits[2].type',
      'duplicate rlimit RLIMIT_AS (already set at process.rlimits[0])',
    );
  });

  it('other Linux process fields', () => {
    const p = check((s) => {
      Object.assign(s.process, {
        terminal: true, consoleSize: { height: 25, width: 80 }, noNewPrivileges: true, apparmorProfile: 'p',
        oomScoreAdj: -999, selinuxLabel: 'l', ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 4 },
        scheduler: { policy: 'SCHED_FIFO', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK'] },
        execCPUAffinity: { initial: '7', final: '0-3,7' },
      });
    }).process!;
    assert.equal(p.oomScoreAdj, -999);
    assert.deepEqual(p.scheduler, { policy: 'SCHED_FIFO', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK'] });
    rejects((s) => (s.process.terminal = 1), 'process.terminal', 'must be a boolean (got 1)');
    rejects((s) => (s.process.consoleSize = { height: 25 }), 'process.consoleSize.width', 'is required');
    rejects((s) => (s.process.oomScoreAdj = 1001), 'process.oomScoreAdj', /between -1000 and 1000/);
    rejects((s) => (s.process.noNewPrivileges = 'true'), 'process.noNewPrivileges', /must be a boolean/);
    rejects((s) => (s.process.ioPriority = { class: 'RT' }), 'process.ioPriority.class', /unknown I\/O priority class "RT"/);
    rejects((s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), 'process.ioPriority.priority', /between 0 and 7/);
    rejects((s) => (s.process.scheduler = {}), 'process.scheduler.policy', 'is required');
    rejects((s) => (s.process.scheduler = { policy: 'SCHED_OTHER', nice: 20 }), 'process.scheduler.nice', /between -20 and 19/);
    rejects((s) => (s.process.scheduler = { policy: 'SCHED_OTHER', priority: 1 }), 'process.scheduler.priority', /SCHED_FIFO or SCHED_RR/);
    rejects((s) => (s.process.scheduler = { policy: 'SCHED_RR', runtime: 1 }), 'process.scheduler.runtime', /SCHED_DEADLINE/);
    rejects((s) => (s.process.scheduler = { policy: 'SCHED_RR', flags: ['X'] }), 'process.scheduler.flags[0]', /unknown scheduler flag "X"/);
    rejects((s) => (s.process.execCPUAffinity = { final: '3-1' }), 'process.execCPUAffinity.final', /backwards/);
    rejects((s) => (s.process.execCPUAffinity = { initial: 'all' }), 'process.execCPUAffinity.initial', /list like "0-3,7"/);
  });
});

describe('validateSpec: mounts', () => {
  it('accepts mounts and normalises relative destinations', () => {
    const m = check((s) => (s.mounts = [
      { destination: '/data', type: 'none', source: '/vol', options: ['rbind', 'ro'] },
      { destination: 'proc', type: 'proc', source: 'proc' },
      { destination: './run/x', type: 'tmpfs' },
    ])).mounts!;
    assert.deepEqual(m.map((x) => x.destination), ['/data', '/proc', '/run/x']);
    assert.deepEqual(m[0], { destination: '/data', type: 'none', source: '/vol', options: ['rbind', 'ro'] });
  });

  it('rejects bad mounts', () => {
    rejects((s) => (s.mounts = {}), 'mounts', /must be an array of mount objects \(got an object\)/);
    rejects((s) => (s.mounts = [{ type: 'tmpfs' }]), 'mounts[0].destination', 'is required');
    rejects((s) => (s.mounts = [{ destination: '' }]), 'mounts[0].destination', 'must not be empty');
    rejects((s) => (s.mounts = [{ destination: '/a', options: 'ro' }]), 'mounts[0].options', /must be an array of strings/);
    rejects((s) => (s.mounts = [{ destination: '/a', options: ['ro', 1] }]), 'mounts[0].options[1]', 'must be a string (got 1)');
    rejects((s) => (s.mounts = [{ destination: '/a', source: 2 }]), 'mounts[0].source', /must be a string/);
  });

  it('id-mapped mounts need both mappings', () => {
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    const m = check((s) => (s.mounts = [{ destination: '/a', options: ['idmap'], uidMappings: map, gidMappings: map }])).mounts!;
    assert.deepEqual(m[0]?.uidMappings, map);
    rejects((s) => (s.mounts = [{ destination: '/a', uidMappings: map }]), 'mounts[0].uidMappings', 'must be given together with gidMappings');
    rejects((s) => (s.mounts = [{ destination: '/a', uidMappings: map, gidMappings: [{ containerID: 0, hostID: 1, size: 0 }] }]), 'mounts[0].gidMappings[0].size', /between 1 and/);
  });

  it('id-mapped mounts get the same range and overlap checks as linux.uidMappings', () => {
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    const overlapping = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 20, hostID: 1005, size: 1 }];
    rejects((s) => (s.mounts = [{ destination: '/a', uidMappings: overlapping, gidMappings: map }]), 'mounts[0].uidMappings[1]', 'host ID range 1005-1005 overlaps mounts[0].uidMappings[0] (1000-1009)');
    rejects((s) => (s.mounts = [{ destination: '/a', uidMappings: map, gidMappings: [{ containerID: 4294967290, hostID: 0, size: 10 }] }]), 'mounts[0].gidMappings[0].size', /containerID 4294967290 \+ size 10 runs past/);
  });
});

describe('validateSpec: hooks', () => {
  it('accepts every hook list', () => {
    const h = { path: '/usr/bin/hook', args: ['hook', 'x'], env: ['A=1'], timeout: 5 };
    const names = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
    const hooks = check((s) => (s.hooks = Object.fromEntries(names.map((n) => [n, [h]])))).hooks!;
    assert.deepEqual(Object.keys(hooks), names);
    assert.deepEqual(hooks.poststop, [h]);
  });

  it('rejects bad hooks', () => {
    rejects((s) => (s.hooks = { poststart: [{ path: 'hook' }] }), 'hooks.poststart[0].path', /must be an absolute path/);
    rejects((s) => (s.hooks = { prestart: [{}] }), 'hooks.prestart[0].path', 'is required');
    rejects((s) => (s.hooks = { createRuntime: [{ path: '/h', timeout: 0 }] }), 'hooks.createRuntime[0].timeout', /positive whole number of seconds \(got 0\)/);
    rejects((s) => (s.hooks = { createRuntime: [{ path: '/h', timeout: 1.5 }] }), 'hooks.createRuntime[0].timeout', /positive/);
    rejects((s) => (s.hooks = { poststop: [{ path: '/h', env: ['X'] }] }), 'hooks.poststop[0].env[0]', /NAME=value/);
    rejects((s) => (s.hooks = { poststop: { path: '/h' } }), 'hooks.poststop', /must be an array of hook objects/);
  });
});

describe('messages', () => {
  it('read "<file>: <field>: <problem>"', () => {
    const cases: [(s: any) => void, string][] = [
      [(s) => (s.process.args = []), 'config.json: process.args: must be a non-empty array of strings'],
      [
        (s) => (s.linux.namespaces[2] = { type: 'foo' }),
        'config.json: linux.namespaces[2].type: unknown namespace type "foo" (expected one of: pid, network, mount, ipc, uts, user, cgroup, time)',
      ],
      [(s) => (s.process.terminal = 'yes'), 'config.json: process.terminal: must be a boolean (got string "yes")'],
    ];
    for (const [edit, message] of cases) {
      const s = minimal();
      edit(s);
      assert.throws(() => validateSpec(s), (e: unknown) => e instanceof SpecError && e instanceof Error && e.message === message);
    }
  });
});

describe('validateProcess (exec --process)', () => {
  it('validates a bare process with paths relative to it', () => {
    const p = validateProcess({ args: ['ps'], cwd: '/', env: ['A=1'] });
    assert.deepEqual(p, { user: { uid: 0, gid: 0 }, args: ['ps'], cwd: '/', env: ['A=1'] });
    assert.throws(() => validateProcess({ args: ['ps'], cwd: 'x' }, '/tmp/p.json'), {
      name: 'SpecError',
      message: '/tmp/p.json: cwd: must be an absolute path (got string "x")',
    });
    assert.throws(() => validateProcess({ args: ['ps'], cwd: '/', user: { uid: -1 } }), { message: /^process\.json: user\.uid: must be an integer/ });
    assert.throws(() => validateProcess([]), { message: 'process.json: must be an object (got an array)' });
  });
});
