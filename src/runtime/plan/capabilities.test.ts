import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPABILITIES } from '../spec/constants';
import { capabilityMasks, hex } from './capabilities';

const ALL = (1n << 41n) - 1n; // CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE (40)
const bit = (n: number): bigint => 1n << BigInt(n);

test('CAP_CHOWN is bit 0', () => {
  assert.equal(capabilityMasks({ effective: ['CAP_CHOWN'] }, ALL).effective, 1n);
});

test('CAP_SYS_ADMIN is bit 21', () => {
  assert.equal(capabilityMasks({ effective: ['CAP_SYS_ADMIN'] }, ALL).effective, bit(21));
});

test('CAP_SYS_RESOURCE is bit 24, CAP_MKNOD 27, CAP_SETFCAP 31', () => {
  const m = capabilityMasks({ bounding: ['CAP_SYS_RESOURCE', 'CAP_MKNOD', 'CAP_SETFCAP'] }, ALL);
  assert.equal(m.bounding, bit(24) | bit(27) | bit(31));
});

test('capabilities above bit 31 (CAP_MAC_OVERRIDE 32, CAP_CHECKPOINT_RESTORE 40) are exact bigints', () => {
  const m = capabilityMasks({ permitted: ['CAP_MAC_OVERRIDE', 'CAP_CHECKPOINT_RESTORE'] }, ALL);
  assert.equal(m.permitted, bit(32) | bit(40));
});

test('every known capability name maps to its own bit', () => {
  for (const [name, n] of Object.entries(CAPABILITIES)) {
    assert.equal(capabilityMasks({ bounding: [name] }, ALL).bounding, bit(n), name);
  }
});

test('all 41 capabilities together make 0x1ffffffffff', () => {
  const m = capabilityMasks({ bounding: Object.keys(CAPABILITIES) }, ALL);
  assert.equal(m.bounding, ALL);
  assert.equal(hex(m.bounding), '0x1ffffffffff');
});

test('each set is computed from its own list', () => {
  const m = capabilityMasks(
    { bounding: ['CAP_CHOWN'], effective: ['CAP_KILL'], inheritable: ['CAP_NET_RAW'], permitted: ['CAP_SETUID'], ambient: [] },
    ALL,
  );
  assert.deepEqual(m, { bounding: bit(0), effective: bit(5), inheritable: bit(13), permitted: bit(7), ambient: 0n, unavailable: [] });
});

test('a repeated name sets its bit once', () => {
  assert.equal(capabilityMasks({ effective: ['CAP_KILL', 'CAP_KILL'] }, ALL).effective, bit(5));
});

test('no capabilities object gives empty sets and nothing unavailable', () => {
  assert.deepEqual(capabilityMasks(undefined, ALL), { bounding: 0n, effective: 0n, inheritable: 0n, permitted: 0n, ambient: 0n, unavailable: [] });
});

test('capabilities outside the held mask are left out of every set', () => {
  const held = bit(0) | bit(5); // CAP_CHOWN, CAP_KILL
  const m = capabilityMasks({ bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN'], effective: ['CAP_KILL', 'CAP_NET_RAW'] }, held);
  assert.equal(m.bounding, bit(0));
  assert.equal(m.effective, bit(5));
});

test('capabilities outside the held mask are reported once each, sorted by name', () => {
  const held = bit(0);
  const m = capabilityMasks(
    { bounding: ['CAP_SYS_ADMIN', 'CAP_CHOWN', 'CAP_NET_RAW'], effective: ['CAP_SYS_ADMIN'], permitted: ['CAP_AUDIT_WRITE', 'CAP_NET_RAW'] },
    held,
  );
  assert.deepEqual(m.unavailable, ['CAP_AUDIT_WRITE', 'CAP_NET_RAW', 'CAP_SYS_ADMIN']);
});

test('with nothing held every requested name is unavailable and every set is empty', () => {
  const m = capabilityMasks({ bounding: ['CAP_CHOWN'], ambient: ['CAP_KILL'] }, 0n);
  assert.deepEqual(m, { bounding: 0n, effective: 0n, inheritable: 0n, permitted: 0n, ambient: 0n, unavailable: ['CAP_CHOWN', 'CAP_KILL'] });
});

test('ambient is limited to permitted ∩ inheritable', () => {
  const m = capabilityMasks(
    {
      permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_SETUID'],
      inheritable: ['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_SETUID'],
      ambient: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_SETUID'],
    },
    ALL,
  );
  assert.equal(m.ambient, bit(0) | bit(7));
});

test('ambient names dropped for not being in permitted ∩ inheritable are not reported unavailable', () => {
  const m = capabilityMasks({ permitted: ['CAP_CHOWN'], inheritable: [], ambient: ['CAP_CHOWN'] }, ALL);
  assert.equal(m.ambient, 0n);
  assert.deepEqual(m.unavailable, []);
});

test('ambient is empty when neither permitted nor inheritable is given', () => {
  assert.equal(capabilityMasks({ ambient: ['CAP_CHOWN'] }, ALL).ambient, 0n);
});

test('hex: 0x-prefixed lower-case without padding', () => {
  assert.equal(hex(0n), '0x0');
  assert.equal(hex(bit(21)), '0x200000');
  assert.equal(hex(0xa5n), '0xa5');
});
