import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { STAGE_BINARY } from '../../kernel/stage';
import { RuntimeError } from '../errors';
import type { Spec } from '../spec/types';
import {
  AT_EMPTY_PATH, AT_RECURSIVE, CloneRequest, IdMaps, MountClones, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE, OVERFLOW_ID, ProbeResult,
  ROOTFS_IDMAP_ANNOTATION, chownCopy, idmapOutcome, mapId, mountIdmap, probeWithStage, rootfsIdmapRequest, rootfsIdmapRequested,
} from './idmap';
import { LaunchPlan } from './plan';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-idmap-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MAPS: IdMaps = { uid: [{ containerID: 0, hostID: 100000, size: 65536 }], gid: [{ containerID: 0, hostID: 200000, size: 65536 }] };
const OTHER: IdMaps = { uid: [{ containerID: 1000, hostID: 100000, size: 1 }], gid: [{ containerID: 1000, hostID: 100000, size: 1 }] };
const EINVAL = 22;
const EPERM = 1;
const ENOENT = 2;
const ENOSYS = 38;
const EBADF = 9;
const ENOSPC = 28;

function throwsRuntimeError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

const specWith = (annotations?: Record<string, string>): Spec => ({ ociVersion: '1.2.0', annotations });
const rootfsReq = (over: Partial<CloneRequest> = {}): CloneRequest => ({
  what: 'the rootfs /b/rootfs', source: '/b/rootfs', recursive: true, recursiveIdmap: true, maps: MAPS, onRefusal: 'copy', ...over,
});
const mountReq = (over: Partial<CloneRequest> = {}): CloneRequest => ({
  what: 'config.json: mounts[3]', source: '/srv/data', recursive: false, recursiveIdmap: false, maps: OTHER, onRefusal: 'error', ...over,
});

describe('the rootfs annotation', () => {
  test('"true" asks, "false" and absence do not, anything else is an error', () => {
    assert.equal(rootfsIdmapRequested(specWith()), false);
    assert.equal(rootfsIdmapRequested(specWith({ [ROOTFS_IDMAP_ANNOTATION]: 'false' })), false);
    assert.equal(rootfsIdmapRequested(specWith({ [ROOTFS_IDMAP_ANNOTATION]: 'true' })), true);
    throwsRuntimeError(() => rootfsIdmapRequested(specWith({ [ROOTFS_IDMAP_ANNOTATION]: 'TRUE' })),
      'config.json: annotations["org.berth.rootfs.idmap"]: must be "true" or "false" (got "TRUE")');
  });

  test('the request: the rootfs, recursive clone and idmap, the container\'s maps, a copy where refused', () => {
    assert.deepEqual(rootfsIdmapRequest(specWith({ [ROOTFS_IDMAP_ANNOTATION]: 'true' }), '/b/rootfs', MAPS, true), rootfsReq());
    assert.equal(rootfsIdmapRequest(specWith(), '/b/rootfs', MAPS, true), undefined);
  });

  test('it needs a new user namespace with maps, and a new mount namespace', () => {
    const s = specWith({ [ROOTFS_IDMAP_ANNOTATION]: 'true' });
    throwsRuntimeError(() => rootfsIdmapRequest(s, '/r', undefined, true), /an idmapped rootfs needs a new user namespace with uid and gid mappings/);
    throwsRuntimeError(() => rootfsIdmapRequest(s, '/r', { uid: MAPS.uid, gid: [] }, true), /needs a new user namespace/);
    throwsRuntimeError(() => rootfsIdmapRequest(s, '/r', MAPS, false), /needs a new mount namespace/);
  });
});

describe('mountIdmap', () => {
  test('a mount without mappings or idmap options is not idmapped', () => {
    assert.equal(mountIdmap({ destination: '/d', type: 'bind', source: '/s', options: ['rbind'] }, 'mounts[0]', MAPS), undefined);
  });

  test('own mappings: those maps, idmapped at the top only unless "ridmap"', () => {
    const m = { destination: '/d', type: 'bind', source: '/s', uidMappings: OTHER.uid, gidMappings: OTHER.gid };
    assert.deepEqual(mountIdmap(m, 'mounts[0]', MAPS), { recursiveIdmap: false, maps: OTHER });
    assert.deepEqual(mountIdmap({ ...m, options: ['rbind', 'ridmap'] }, 'mounts[0]', undefined), { recursiveIdmap: true, maps: OTHER });
  });

  test('"idmap"/"ridmap" without mappings take the container\'s', () => {
    assert.deepEqual(mountIdmap({ destination: '/d', source: '/s', options: ['bind', 'idmap'] }, 'mounts[0]', MAPS), { recursiveIdmap: false, maps: MAPS });
    assert.deepEqual(mountIdmap({ destination: '/d', source: '/s', options: ['rbind', 'ridmap'] }, 'mounts[0]', MAPS), { recursiveIdmap: true, maps: MAPS });
  });

  test('errors: not a bind, both options, one-sided or empty mappings, no maps to take', () => {
    throwsRuntimeError(() => mountIdmap({ destination: '/d', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }, 'mounts[2]', MAPS),
      'config.json: mounts[2]: id-mapped mounts must be bind mounts (type "bind", or the option "bind" or "rbind")');
    throwsRuntimeError(() => mountIdmap({ destination: '/d', type: 'bind', source: '/s', options: ['idmap', 'ridmap'] }, 'mounts[0]', MAPS),
      'config.json: mounts[0].options: "idmap" and "ridmap" exclude each other');
    throwsRuntimeError(() => mountIdmap({ destination: '/d', type: 'bind', source: '/s', uidMappings: OTHER.uid, gidMappings: [] }, 'mounts[0]', MAPS),
      'config.json: mounts[0]: an id-mapped mount needs both uidMappings and gidMappings, each with at least one entry');
    throwsRuntimeError(() => mountIdmap({ destination: '/d', type: 'bind', source: '/s', options: ['ridmap'] }, 'mounts[1]', undefined),
      /^config\.json: mounts\[1\]\.options: "ridmap" without uidMappings\/gidMappings maps the mount like the container's user namespace, and this container has no new one/);
  });
});

describe('idmapOutcome: the fallback decision', () => {
  const res = (step: ProbeResult['step'], errno = 0): ProbeResult => ({ step, errno });

  test('accepted: idmap', () => {
    assert.deepEqual(idmapOutcome(rootfsReq(), res('ok')), { kind: 'idmap' });
    assert.deepEqual(idmapOutcome(mountReq(), res('ok')), { kind: 'idmap' });
  });

  test('mount_setattr refused (EINVAL, EPERM, ENOSYS): the rootfs is copied, with the errno and why', () => {
    assert.deepEqual(idmapOutcome(rootfsReq(), res('mount_setattr', EINVAL)), {
      kind: 'copy', reason: 'mount_setattr(MOUNT_ATTR_IDMAP): EINVAL, the filesystem does not support idmapped mounts on this kernel',
    });
    assert.equal(idmapOutcome(rootfsReq(), res('mount_setattr', EPERM)).kind, 'copy');
    assert.equal(idmapOutcome(rootfsReq(), res('mount_setattr', ENOSYS)).kind, 'copy');
  });

  test('a kernel without open_tree (ENOSYS) is a refusal too', () => {
    assert.deepEqual(idmapOutcome(rootfsReq(), res('open_tree', ENOSYS)), {
      kind: 'copy', reason: 'open_tree: ENOSYS, this kernel has no idmapped mounts (Linux 5.12 or later)',
    });
  });

  test('a refused bind mount is an error, never a copy', () => {
    throwsRuntimeError(() => idmapOutcome(mountReq(), res('mount_setattr', EINVAL)),
      'config.json: mounts[3]: the kernel refuses an idmapped mount of /srv/data (mount_setattr(MOUNT_ATTR_IDMAP): EINVAL, the filesystem does not support idmapped mounts on this kernel); ' +
      "berth-runtime does not copy a bind mount's source, which would no longer be shared with the host (chown the source instead, or drop the mount's idmapping)");
  });

  test('other failures are errors, not refusals: a missing source, a bad fd, no user namespace', () => {
    throwsRuntimeError(() => idmapOutcome(rootfsReq(), res('open_tree', ENOENT)), 'the rootfs /b/rootfs: open_tree of /b/rootfs: ENOENT');
    throwsRuntimeError(() => idmapOutcome(rootfsReq(), res('mount_setattr', EBADF)), 'the rootfs /b/rootfs: mount_setattr(MOUNT_ATTR_IDMAP) of /b/rootfs: EBADF');
    throwsRuntimeError(() => idmapOutcome(mountReq(), res('userns', ENOSPC)), 'config.json: mounts[3]: creating a user namespace for its idmapped mount: ENOSPC');
    throwsRuntimeError(() => idmapOutcome(mountReq(), undefined), /gave no answer/);
  });
});

describe('MountClones.finish', () => {
  const fakeProbe = (results: ProbeResult[]) => {
    const seen: CloneRequest[][] = [];
    return { seen, probe: (reqs: readonly CloneRequest[]) => (seen.push([...reqs]), results) };
  };

  test('no clones: no probe, no records', () => {
    const plan = new LaunchPlan();
    new MountClones().finish(plan, { probe: () => assert.fail('probed'), warn: () => assert.fail('warned') });
    assert.deepEqual(plan.header, []);
  });

  test('accepted clones: one idmap_userns per distinct maps, mount_clone records with open_tree and mount_setattr flags', () => {
    const clones = new MountClones();
    assert.equal(clones.add(rootfsReq()), 0);
    assert.equal(clones.add(mountReq({ source: '/a' })), 1);
    assert.equal(clones.add(mountReq({ source: '/b', recursive: true, maps: MAPS })), 2);
    const plan = new LaunchPlan();
    const p = fakeProbe([{ step: 'ok', errno: 0 }, { step: 'ok', errno: 0 }, { step: 'ok', errno: 0 }]);
    clones.finish(plan, { probe: p.probe, warn: () => assert.fail('warned') });
    assert.equal(p.seen.length, 1);
    const CLONE = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    assert.deepEqual(plan.header, [
      ['idmap_userns', 0, '0 100000 65536\n', '0 200000 65536\n'],
      ['idmap_userns', 1, '1000 100000 1\n', '1000 100000 1\n'],
      ['mount_clone', 0, '/b/rootfs', CLONE | AT_RECURSIVE, 0, AT_EMPTY_PATH | AT_RECURSIVE],
      ['mount_clone', 1, '/a', CLONE, 1, AT_EMPTY_PATH],
      ['mount_clone', 2, '/b', CLONE | AT_RECURSIVE, 0, AT_EMPTY_PATH],
    ]);
  });

  test('a refused rootfs: a chowned copy in the state dir, a plain clone of it, and a warning naming path and errno', () => {
    const src = path.join(tmp, 'refused-src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'x');
    const stateDir = fs.mkdtempSync(path.join(tmp, 'state-'));
    const clones = new MountClones();
    clones.add(rootfsReq({ source: src, what: `the rootfs ${src}` }));
    const plan = new LaunchPlan();
    const warnings: string[] = [];
    clones.finish(plan, { probe: () => [{ step: 'mount_setattr', errno: EINVAL }], copyDir: stateDir, warn: (m) => warnings.push(m) });
    const copy = path.join(stateDir, 'idmap-copies', '0');
    assert.deepEqual(plan.header, [['mount_clone', 0, copy, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE, -1, 0]]);
    assert.deepEqual(warnings, [
      `the kernel refuses an idmapped mount of the rootfs ${src} (mount_setattr(MOUNT_ATTR_IDMAP): EINVAL, the filesystem does not support idmapped mounts on this kernel); ` +
        `using a copy chowned to the container's IDs instead: ${copy}`,
    ]);
    const st = fs.statSync(path.join(copy, 'f'));
    assert.deepEqual([st.uid, st.gid], [100000 + process.getuid!(), 200000 + process.getgid!()]);
    assert.equal(fs.statSync(path.dirname(copy)).mode & 0o777, 0o700, 'only host root reaches the copy');
  });

  test('a refused rootfs with nowhere to copy it is an error', () => {
    const clones = new MountClones();
    clones.add(rootfsReq());
    throwsRuntimeError(() => clones.finish(new LaunchPlan(), { probe: () => [{ step: 'mount_setattr', errno: EINVAL }], warn: () => {} }),
      /the kernel refuses an idmapped mount of the rootfs \/b\/rootfs .*, and there is no place for a chowned copy$/);
  });
});

describe('mapId', () => {
  test('maps through the entry covering the id, undefined outside', () => {
    const maps = [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 1000, hostID: 5, size: 2 }];
    assert.equal(mapId(0, maps), 100000);
    assert.equal(mapId(9, maps), 100009);
    assert.equal(mapId(10, maps), undefined);
    assert.equal(mapId(1001, maps), 6);
    assert.equal(mapId(1002, maps), undefined);
  });
});

const isRoot = process.getuid?.() === 0;

describe('chownCopy', { skip: !isRoot && 'needs root (chown)' }, () => {
  test('owners mapped as the idmapped mount shows them; set-id bits kept; unmapped ids to the overflow id without set-id', () => {
    const src = path.join(tmp, 'copy-src');
    fs.mkdirSync(path.join(src, 'dir'), { recursive: true });
    const w = (rel: string, uid: number, gid: number, mode: number) => {
      fs.writeFileSync(path.join(src, rel), rel);
      fs.chownSync(path.join(src, rel), uid, gid);
      fs.chmodSync(path.join(src, rel), mode);
    };
    w('dir/suid-root', 0, 0, 0o4755);
    w('dir/sgid-user', 1000, 1000, 0o2755);
    w('unmapped', 70000, 70000, 0o6755);
    fs.symlinkSync('dir/suid-root', path.join(src, 'link'));
    fs.lchownSync(path.join(src, 'link'), 5, 6);
    fs.linkSync(path.join(src, 'dir/sgid-user'), path.join(src, 'hardlink'));
    fs.chownSync(path.join(src, 'dir'), 1, 2);
    const before = fs.statSync(path.join(src, 'dir/suid-root'));

    const dst = path.join(tmp, 'copy-dst');
    chownCopy(src, dst, MAPS);
    const own = (rel: string) => {
      const st = fs.lstatSync(path.join(dst, rel));
      return [st.uid, st.gid, st.mode & 0o7777];
    };
    assert.deepEqual(own('dir'), [100001, 200002, 0o755]);
    assert.deepEqual(own('dir/suid-root'), [100000, 200000, 0o4755]);
    assert.deepEqual(own('dir/sgid-user'), [101000, 201000, 0o2755]);
    assert.deepEqual(own('unmapped'), [OVERFLOW_ID, OVERFLOW_ID, 0o755]);
    assert.deepEqual(own('link').slice(0, 2), [100005, 200006]);
    assert.equal(fs.readlinkSync(path.join(dst, 'link')), 'dir/suid-root');
    assert.equal(fs.statSync(path.join(dst, 'hardlink')).ino, fs.statSync(path.join(dst, 'dir/sgid-user')).ino, 'hard links stay linked');
    assert.equal(fs.readFileSync(path.join(dst, 'dir/suid-root'), 'utf8'), 'dir/suid-root');
    assert.equal(fs.statSync(path.join(dst, 'dir/suid-root')).mtimeMs, before.mtimeMs, 'times are kept');
    // The source is untouched.
    const s = fs.statSync(path.join(src, 'dir/suid-root'));
    assert.deepEqual([s.uid, s.gid, s.mode & 0o7777], [0, 0, 0o4755]);
  });

  test('a failing copy is a RuntimeError naming both paths', () => {
    throwsRuntimeError(() => chownCopy(path.join(tmp, 'nope'), path.join(tmp, 'nope-dst'), MAPS), new RegExp(`^copying ${tmp}/nope to ${tmp}/nope-dst: cp: `));
  });
});

describe('probeWithStage (the real kernel, through berth-stage)', { skip: (!isRoot || !fs.existsSync(STAGE_BINARY)) && 'needs root and a built stage' }, () => {
  test('ext4/tmp accepted, a missing source is an open_tree ENOENT, /proc refused with EINVAL', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'probe-'));
    const results = probeWithStage([
      mountReq({ source: dir }),
      mountReq({ source: path.join(dir, 'missing') }),
      mountReq({ source: '/proc/self', recursive: true, recursiveIdmap: true }),
      rootfsReq({ source: dir }),
    ]);
    assert.deepEqual(results, [
      { step: 'ok', errno: 0 },
      { step: 'open_tree', errno: ENOENT },
      { step: 'mount_setattr', errno: EINVAL },
      { step: 'ok', errno: 0 },
    ]);
  });
});
