import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT } from '../fake-kernel';
import { DEFAULT_ALLOWED_DEVICE_RULES, allowListTransition, deviceWrites, emulateDevices, normalizeDeviceRules, parseDevicesList, ruleText } from './devices';
import { setupV1 } from './fake-v1';

const DEV = '/sys/fs/cgroup/devices/berth/c1';
const DEFAULTS: [string, string][] = [
  ['devices.allow', 'c *:* m'],
  ['devices.allow', 'b *:* m'],
  ['devices.allow', 'c 1:3 rwm'],
  ['devices.allow', 'c 1:8 rwm'],
  ['devices.allow', 'c 1:7 rwm'],
  ['devices.allow', 'c 5:0 rwm'],
  ['devices.allow', 'c 1:5 rwm'],
  ['devices.allow', 'c 1:9 rwm'],
  ['devices.allow', 'c 136:* rwm'],
  ['devices.allow', 'c 5:2 rwm'],
  ['devices.allow', 'c 10:200 rwm'],
];
const abs = (w: [string, string][]): [string, string][] => w.map(([f, v]) => [`${DEV}/${f}`, v]);

test('a default-deny list (Docker/runc default): "a" to devices.deny, the rules, then runc\'s default allow list', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 7, minor: 0, access: 'r' }] });
  // the list's own first rule is the deny-all: it is the mode switch, not written twice
  assert.deepEqual(k.fs.writes(), abs([['devices.deny', 'a'], ['devices.allow', 'b 7:0 r'], ...DEFAULTS]));
  assert.equal(
    k.fs.readFile(`${DEV}/devices.list`),
    'b 7:0 r\nc *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n',
  );
});

test('a list starting with allow-all stays in allow mode; a later deny sticks unless a default rule re-allows it', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({
    devices: [
      { allow: true, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 11, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' },
    ],
  });
  assert.deepEqual(k.fs.writes(), abs([['devices.allow', 'a'], ['devices.deny', 'c 1:11 rwm'], ['devices.deny', 'c 1:3 rwm'], ...DEFAULTS]));
  // kernel model: /dev/kmsg (1:11) stays denied; /dev/null is a runc default, re-allowed (as in runc)
  const st = emulateDevices(normalizeDeviceRules([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }, ...DEFAULT_ALLOWED_DEVICE_RULES]));
  assert.equal(st.defaultAllow, true);
  assert.deepEqual([...st.exceptions], [['c 1:11', 'rwm']]);
});

test('normalisation: absent type = a, absent or -1 numbers = *, absent access = rwm, letters deduped in rwm order; partial "a" rules split into c and b', () => {
  const n = normalizeDeviceRules([
    { allow: false },
    { allow: true, type: 'c', major: -1, minor: -1, access: 'mwr' },
    { allow: true, type: 'a', major: 5, access: 'rrw' },
    { allow: true, type: 'c', major: 4 },
  ]);
  assert.deepEqual(n.map(ruleText), ['a', 'c *:* rwm', 'c 5:* rw', 'b 5:* rw', 'c 4:* rwm']);
  assert.deepEqual(deviceWrites(n.slice(1)), [['devices.deny', 'a'], ['devices.allow', 'c *:* rwm'], ['devices.allow', 'c 5:* rw'], ['devices.allow', 'b 5:* rw'], ['devices.allow', 'c 4:* rwm']]);
  // an all-devices rule in the middle switches the mode again
  assert.deepEqual(deviceWrites(normalizeDeviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true }])), [['devices.deny', 'a'], ['devices.allow', 'c 1:3 r'], ['devices.allow', 'a']]);
});

test('emulation follows the kernel: access ORed into an identical entry, removed bit by bit', () => {
  const st = emulateDevices(normalizeDeviceRules([
    { allow: false },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'w' },
    { allow: false, type: 'c', major: 1, minor: 5, access: 'rwm' }, // nothing to remove
    { allow: true, type: 'b', major: 8, minor: 0, access: 'rw' },
    { allow: false, type: 'b', major: 8, minor: 0, access: 'w' },
  ]));
  assert.equal(st.defaultAllow, false);
  assert.deepEqual([...st.exceptions], [['c 1:3', 'rw'], ['b 8:0', 'r']]);
});

test('update: the same list writes nothing; a changed allow-list only its difference (never a transient deny-all)', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'b' as const, major: 7, minor: 0, access: 'r' }];
  await m.apply({ devices: rules });
  k.fs.log.length = 0;
  await m.apply({ devices: rules }, { update: true });
  assert.deepEqual(k.fs.writes(), []);
  await m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 7, minor: 0, access: 'rw' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }] }, { update: true });
  assert.deepEqual(k.fs.writes(), abs([['devices.allow', 'b 7:0 w'], ['devices.allow', 'c 10:229 rwm']]));
  k.fs.log.length = 0;
  await m.apply({ devices: [{ allow: false, access: 'rwm' }] }, { update: true });
  assert.deepEqual(k.fs.writes(), abs([['devices.deny', 'b 7:0 rw'], ['devices.deny', 'c 10:229 rwm']]));
  assert.equal(k.fs.readFile(`${DEV}/devices.list`).split('\n').filter(Boolean).length, DEFAULTS.length, 'only the defaults are left');
  // from allow-all mode (or to it) the full list is written
  k.fs.log.length = 0;
  await m.apply({ devices: [{ allow: true, access: 'rwm' }] }, { update: true });
  assert.deepEqual(k.fs.writes(), abs([['devices.allow', 'a'], ...DEFAULTS]));
  k.fs.log.length = 0;
  await m.apply({ devices: [{ allow: false, access: 'rwm' }] }, { update: true });
  assert.deepEqual(k.fs.writes(), abs([['devices.deny', 'a'], ...DEFAULTS]));
  k.fs.log.length = 0;
  await m.apply({ devices: [] });
  assert.deepEqual(k.fs.writes(), abs([['devices.deny', 'a'], ...DEFAULTS]), 'an empty list is deny-all plus the defaults (runc)');
});

test('bad rules are refused before any write, naming the rule', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ devices: [{ allow: true, type: 'x' as 'c', access: 'r' }] }), { message: 'linux.resources.devices[0].type: must be "a" (all), "b" (block) or "c" (char) (got "x")' });
  await assert.rejects(m.apply({ devices: [{ allow: true }, { allow: true, type: 'c', access: 'rx' }] }), /devices\[1\]\.access: must be made of the letters r \(read\), w \(write\) and m \(mknod\), e\.g\. "rwm" \(got "rx"\)/);
  await assert.rejects(m.apply({ devices: [{ allow: true, type: 'c', access: '' }] }), /devices\[0\]\.access: must be made of the letters/);
  await assert.rejects(m.apply({ devices: [{ allow: true, type: 'c', major: -2 }] }), /devices\[0\]\.major: must be a device number 0\.\.4294967295, or -1 for any \(got -2\)/);
  assert.deepEqual(k.fs.writes(), []);
});

test('a rule the parent does not allow: EPERM explained, field names the rule', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  const hook = k.fs.hooks.onWrite!;
  k.fs.hooks.onWrite = (f, d, fs) => {
    if (d === 'c 10:229 rwm') throw Object.assign(new Error('EPERM'), { code: 'EPERM' });
    return hook(f, d, fs);
  };
  await assert.rejects(m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }] }), {
    message: `linux.resources.devices[1]: cannot write "c 10:229 rwm" to ${DEV}/devices.allow: the parent cgroup /sys/fs/cgroup/devices/berth does not allow this device access, and a cgroup cannot allow more than its parent (EPERM)`,
  });
});

test('parseDevicesList / allowListTransition', () => {
  assert.equal(parseDevicesList('a *:* rwm\n'), undefined);
  const have = parseDevicesList('c 1:3 rwm\nb 7:0 r\nc 1:3 r\n')!;
  assert.deepEqual([...have], [['c 1:3', 'rwm'], ['b 7:0', 'r']]);
  const want = new Map([['c 1:3', 'rw'], ['c 1:5', 'rwm']]);
  assert.deepEqual(allowListTransition(have, want), [['devices.allow', 'c 1:5 rwm'], ['devices.deny', 'c 1:3 m'], ['devices.deny', 'b 7:0 r']]);
  assert.deepEqual(allowListTransition(want, want), []);
});
