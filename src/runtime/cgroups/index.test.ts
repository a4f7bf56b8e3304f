import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCgroupManager, detectLayout, loadCgroupManager, resolveCgroupPath, SavedCgroup, V1CgroupManager, V2CgroupManager } from './index';
import { FakeCgroupFs } from './fake-fs';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY, MOUNTINFO_UNIFIED } from './fake-kernel';

const fs = new FakeCgroupFs();

test('driver follows the layout mode', () => {
  const rel = resolveCgroupPath(undefined, 'c1');
  assert.ok(createCgroupManager(detectLayout(MOUNTINFO_UNIFIED), rel, fs) instanceof V2CgroupManager);
  assert.ok(createCgroupManager(detectLayout(MOUNTINFO_LEGACY), rel, fs) instanceof V1CgroupManager);
  const hybrid = createCgroupManager(detectLayout(MOUNTINFO_HYBRID_SPLIT), rel, fs);
  assert.ok(hybrid instanceof V1CgroupManager);
  assert.equal(hybrid.dirs.unified, '/sys/fs/cgroup/unified/berth/c1');
  assert.equal(createCgroupManager(detectLayout(MOUNTINFO_LEGACY), rel, fs).dirs.unified, undefined);
});

test('createCgroupManager refuses unmanaged or non-canonical paths', () => {
  const l = detectLayout(MOUNTINFO_UNIFIED);
  assert.throws(() => createCgroupManager(l, '/system.slice/x', fs), /berth only manages/);
  assert.throws(() => createCgroupManager(l, 'berth/x', fs), /not canonical/);
  assert.throws(() => createCgroupManager(l, '/berth/x/', fs), /not canonical/);
});

test('save → JSON → load round trip, both drivers', () => {
  for (const mi of [MOUNTINFO_UNIFIED, MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY]) {
    const m = createCgroupManager(detectLayout(mi), '/berth/c1', fs);
    const saved = JSON.parse(JSON.stringify(m.save())) as SavedCgroup;
    const back = loadCgroupManager(saved, fs);
    assert.equal(back.version, m.version);
    assert.equal(back.constructor, m.constructor);
    assert.deepEqual(back.dirs, m.dirs);
    assert.deepEqual(back.save(), m.save());
  }
});

test('loadCgroupManager rejects records that could aim at foreign cgroups', () => {
  const ok: SavedCgroup = { version: 2, path: '/berth/c1', dirs: { unified: '/sys/fs/cgroup/berth/c1' } };
  const bad = (s: unknown, re: RegExp): void => assert.throws(() => loadCgroupManager(s as SavedCgroup, fs), re);
  bad(null, /not an object/);
  bad({ ...ok, version: 3 }, /unknown version 3/);
  bad({ ...ok, path: '/system.slice/c1', dirs: { unified: '/sys/fs/cgroup/system.slice/c1' } }, /berth only manages/);
  bad({ ...ok, dirs: { unified: '/sys/fs/cgroup/system.slice/x' } }, /not under \/berth\/c1/);
  bad({ ...ok, dirs: { unified: 'sys/fs/cgroup/berth/c1' } }, /not under/);
  bad({ ...ok, dirs: { unified: '/sys/fs/cgroup/../../berth/c1' } }, /not under/);
  bad({ ...ok, dirs: { unified: ok.dirs.unified, memory: '/sys/fs/cgroup/memory/berth/c1' } }, /exactly one "unified"/);
  bad({ ...ok, dirs: undefined }, /dirs missing/);
});
