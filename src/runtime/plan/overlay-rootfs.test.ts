import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MOUNTINFO_UNIFIED } from '../cgroups/fake-kernel';
import { detectLayout } from '../cgroups/layout';
import { RuntimeError } from '../errors';
import type { Spec } from '../spec/types';
import { buildCreatePlan } from './build-create';
import { ROOTFS_IDMAP_ANNOTATION } from './idmap';
import { MOUNT_DATA_MAX, overlayMountData, overlayRootfsRequest, parseOverlayRootfs, ROOTFS_OVERLAY_ANNOTATION } from './overlay-rootfs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-ovl-annot-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const link = (c: string) => `l/${c.repeat(26)}`;
const good = { base: '/var/lib/berth/overlay', lower: [link('A'), link('B')], upper: 'c1/diff', work: 'c1/work' };
const parse = (v: unknown) => parseOverlayRootfs(typeof v === 'string' ? v : JSON.stringify(v));

function refused(v: unknown, re: RegExp): void {
  assert.throws(() => parse(v), (e: unknown) => {
    assert.ok(e instanceof RuntimeError, String(e));
    assert.ok(e.message.startsWith(`config.json: annotations["${ROOTFS_OVERLAY_ANNOTATION}"]: `), e.message);
    assert.match(e.message, re);
    return true;
  });
}

describe('org.berth.rootfs.overlay: validation', () => {
  test('a good value, and its mount data (relative, top first)', () => {
    assert.deepEqual(parse(good), good);
    assert.equal(overlayMountData(good), `lowerdir=${link('A')}:${link('B')},upperdir=c1/diff,workdir=c1/work,redirect_dir=off,metacopy=off`);
    assert.deepEqual(parse({ ...good, upper: '/abs/up', work: '/abs/wk' }).upper, '/abs/up');
  });

  test('not JSON, not an object, unknown fields', () => {
    refused('{', /not valid JSON/);
    refused('[]', /must be a JSON object/);
    refused('"x"', /must be a JSON object/);
    refused({ ...good, extra: 1 }, /unknown field "extra"/);
  });

  test('base: absolute, normalised, no special characters', () => {
    refused({ ...good, base: 'rel/dir' }, /base must be an absolute path/);
    refused({ ...good, base: '/' }, /base must not be \//);
    refused({ ...good, base: '/a/../b' }, /base must be a normalised path/);
    refused({ ...good, base: '/a//b' }, /base must be a normalised path/);
    refused({ ...good, base: undefined }, /base must be a non-empty string/);
  });

  test('lower: short links only, no injection, no duplicates', () => {
    refused({ ...good, lower: [] }, /lower must be a non-empty array/);
    refused({ ...good, lower: 'l/AAAAAAAAAAAAAAAAAAAAAAAAAA' }, /lower must be a non-empty array/);
    for (const l of ['/etc', '../x', 'l/abc', `${link('A')},upperdir=/`, `${link('A')}:/etc`, `l/${'A'.repeat(25)}`, `l/${'A'.repeat(27)}`, 'l/../../etc/AAAAAAAAAAAAAAAAAAAAA']) {
      refused({ ...good, lower: [l] }, /lower\[0\] must be a short link/);
    }
    refused({ ...good, lower: [link('A'), 7] }, /lower\[1\] must be a short link/);
    refused({ ...good, lower: [link('A'), link('A')] }, /lists a layer twice/);
  });

  test('upper/work: no "..", no option or lowerdir separators', () => {
    for (const [k, v, re] of [
      ['upper', '../escape', /upper must be a normalised path/],
      ['upper', 'a/../../b', /upper must be a normalised path/],
      ['upper', 'c1/diff,lowerdir=/', /upper has a character not allowed/],
      ['work', 'c1/work:x', /work has a character not allowed/],
      ['work', 'c1\\,x', /work has a character not allowed/],
      ['work', 'c1/wo rk', /work has a character not allowed/],
      ['work', 'c1/w\nk', /work has a character not allowed/],
      ['upper', '', /upper must be a non-empty string/],
    ] as const) refused({ ...good, [k]: v }, re);
    refused({ ...good, work: good.upper }, /work must differ from upper/);
  });

  test('the options must fit in a page: 125 layers do, 150 do not', () => {
    const links = (n: number) => Array.from({ length: n }, (_, i) => `l/${String(i).padStart(26, 'A')}`);
    const up = `${'f'.repeat(64)}/diff`;
    const wk = `${'f'.repeat(64)}/work`;
    const ok = parse({ ...good, lower: links(126), upper: up, work: wk });
    assert.ok(Buffer.byteLength(overlayMountData(ok)) <= MOUNT_DATA_MAX);
    refused({ ...good, lower: links(150), upper: up, work: wk }, /lower has 150 layers: the mount options \(\d+ bytes\) exceed the kernel's page \(4095\)/);
  });

  test('overlayRootfsRequest checks that the directories exist', () => {
    assert.equal(overlayRootfsRequest(undefined), undefined);
    assert.equal(overlayRootfsRequest({ other: 'x' }), undefined);
    const base = path.join(tmp, 'overlay');
    for (const d of ['c1/diff', 'c1/work', `l/${'A'.repeat(26)}`]) fs.mkdirSync(path.join(base, d), { recursive: true });
    const v = { base, lower: [link('A')], upper: 'c1/diff', work: 'c1/work' };
    assert.deepEqual(overlayRootfsRequest({ [ROOTFS_OVERLAY_ANNOTATION]: JSON.stringify(v) }), v);
    assert.throws(() => overlayRootfsRequest({ [ROOTFS_OVERLAY_ANNOTATION]: JSON.stringify({ ...v, lower: [link('B')] }) }), /lower\[0\] .*l\/B{26} is not a directory/);
    assert.throws(() => overlayRootfsRequest({ [ROOTFS_OVERLAY_ANNOTATION]: JSON.stringify({ ...v, base: path.join(tmp, 'nope') }) }), /base .* is not a directory/);
  });
});

describe('org.berth.rootfs.overlay: the launch plan', () => {
  const base = path.join(tmp, 'plan-overlay');
  for (const d of ['c1/diff', 'c1/work', `l/${'A'.repeat(26)}`, 'c1/merged']) fs.mkdirSync(path.join(base, d), { recursive: true });
  const annot = JSON.stringify({ base, lower: [link('A')], upper: 'c1/diff', work: 'c1/work' });
  const rootfs = path.join(base, 'c1/merged');
  const spec = (over: Partial<Spec> = {}, ns: { type: string; path?: string }[] = [{ type: 'mount' }]): Spec => ({
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: rootfs },
    linux: { namespaces: ns as never },
    annotations: { [ROOTFS_OVERLAY_ANNOTATION]: annot },
    ...over,
  });
  const build = (s: Spec) =>
    buildCreatePlan({
      spec: s,
      bundle: tmp,
      rootfs,
      fifo: '/run/berth/c1/exec.fifo',
      cgroupProcs: [],
      cgroup: { layout: detectLayout(MOUNTINFO_UNIFIED), dirs: { unified: '/sys/fs/cgroup/berth/c1' }, newCgroupNs: true },
      foreground: false,
      noPivot: false,
    });

  test('private first, then the overlay, then the self-bind and the rootfs fd', () => {
    const { plan } = build(spec());
    const ops = plan.ops.slice(0, 4).map((o) => o.map(String));
    assert.deepEqual(ops[0]!.slice(0, 3), ['op:mount_abs', '', '/']);
    assert.deepEqual(ops[1], ['op:overlay_rootfs', base, rootfs, `lowerdir=${link('A')},upperdir=c1/diff,workdir=c1/work,redirect_dir=off,metacopy=off`]);
    assert.deepEqual(ops[2]!.slice(0, 3), ['op:mount_abs', rootfs, rootfs]);
    assert.deepEqual(ops[3], ['op:rootfs', rootfs]);
    assert.match(plan.describe(1)!, /^mounting the overlay rootfs on .*c1\/merged \(1 lower layers, from /);
  });

  test('no annotation: no overlay op', () => {
    const { plan } = build(spec({ annotations: {} }));
    assert.equal(plan.ops.some((o) => o[0] === 'op:overlay_rootfs'), false);
  });

  test('refused with a joined mount namespace, a new user namespace, an idmapped rootfs, a bad value', () => {
    assert.throws(() => build(spec({}, [{ type: 'mount', path: '/proc/1/ns/mnt' }])), /needs a new mount namespace/);
    const userns = spec({ linux: { namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] } });
    assert.throws(() => build(userns), /not support it with a new user namespace/);
    const idm = spec({ annotations: { [ROOTFS_OVERLAY_ANNOTATION]: annot, [ROOTFS_IDMAP_ANNOTATION]: 'true' }, linux: userns.linux });
    assert.throws(() => build(idm), RuntimeError);
    assert.throws(() => build(spec({ annotations: { [ROOTFS_OVERLAY_ANNOTATION]: '{"base": 1}' } })), /base must be a non-empty string/);
  });
});
