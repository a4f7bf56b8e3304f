import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNTINFO_HYBRID_SPLIT, MOUNTINFO_LEGACY } from '../fake-kernel';
import { parseBlkioEntries } from './blkio';
import { kernelSets, setupV1 } from './fake-v1';

const BLK = '/sys/fs/cgroup/blkio/berth/c1';

test('weight → blkio.bfq.weight when CFQ\'s blkio.weight is absent; blkio.weight when present', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ blockIO: { weight: 500 } });
  assert.deepEqual(k.fs.writes(), [[`${BLK}/blkio.bfq.weight`, '500']]);
  kernelSets(k, `${BLK}/blkio.weight`, '500');
  k.fs.log.length = 0;
  await m.apply({ blockIO: { weight: 300 } });
  assert.deepEqual(k.fs.writes(), [[`${BLK}/blkio.weight`, '300']]);
});

test('weightDevice → "maj:min weight"; a device not on BFQ or not present is explained', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({ blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 200 }] } });
  assert.deepEqual(k.fs.writes(), [[`${BLK}/blkio.bfq.weight_device`, '8:0 200']]);
  await assert.rejects(m.apply({ blockIO: { weightDevice: [{ major: 7, minor: 0, weight: 200 }] } }), /blockIO\.weightDevice\[0\]\.weight: cannot write "7:0 200" to .*blkio\.bfq\.weight_device: the kernel refused it \(EOPNOTSUPP\): device 7:0 does not use a proportional-weight scheduler \(per-device weights need BFQ/);
  await assert.rejects(m.apply({ blockIO: { weightDevice: [{ major: 9, minor: 9, weight: 200 }] } }), /there is no block device 9:9 on this host \(ENODEV\)/);
});

test('leafWeight needs CFQ\'s files: a clear error on a kernel without them', async () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ blockIO: { leafWeight: 300 } }), /blockIO\.leafWeight: none of blkio\.leaf_weight exists in .*: leaf weights belonged to the CFQ scheduler, removed in Linux 5\.0/);
  const { m: m2, k } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  kernelSets(k, `${BLK}/blkio.leaf_weight`, '500');
  kernelSets(k, `${BLK}/blkio.leaf_weight_device`, '');
  kernelSets(k, `${BLK}/blkio.weight_device`, '');
  await m2.apply({ blockIO: { leafWeight: 300, weightDevice: [{ major: 8, minor: 0, weight: 20, leafWeight: 30 }] } });
  assert.deepEqual(k.fs.writes(), [
    [`${BLK}/blkio.leaf_weight`, '300'],
    [`${BLK}/blkio.weight_device`, '8:0 20'],
    [`${BLK}/blkio.leaf_weight_device`, '8:0 30'],
  ]);
});

test('no weight files at all: the weight error says why', async () => {
  const { m } = setupV1(MOUNTINFO_HYBRID_SPLIT, { missing: ['blkio.bfq.weight', 'blkio.bfq.weight_device'] });
  await assert.rejects(m.apply({ blockIO: { weight: 500 } }), /blockIO\.weight: none of blkio\.weight, blkio\.bfq\.weight exists in .*: this kernel has no proportional-weight I\/O scheduler for cgroups/);
});

test('throttling: each device rule to its file, "maj:min rate"; bigint rates; 0 drops the rule', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await m.apply({
    blockIO: {
      throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1048576 }, { major: 8, minor: 0, rate: 2n ** 60n }],
      throttleWriteBpsDevice: [{ major: 7, minor: 0, rate: 524288 }],
      throttleReadIOPSDevice: [{ major: 7, minor: 0, rate: 100 }],
      throttleWriteIOPSDevice: [{ major: 7, minor: 0, rate: 50 }],
    },
  });
  assert.deepEqual(k.fs.writes(), [
    [`${BLK}/blkio.throttle.read_bps_device`, '7:0 1048576'],
    [`${BLK}/blkio.throttle.read_bps_device`, '8:0 1152921504606846976'],
    [`${BLK}/blkio.throttle.write_bps_device`, '7:0 524288'],
    [`${BLK}/blkio.throttle.read_iops_device`, '7:0 100'],
    [`${BLK}/blkio.throttle.write_iops_device`, '7:0 50'],
  ]);
  assert.equal(k.fs.readFile(`${BLK}/blkio.throttle.read_bps_device`), '7:0 1048576\n8:0 1152921504606846976\n');
  await m.apply({ blockIO: { throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 0 }] } }, { update: true });
  assert.equal(k.fs.readFile(`${BLK}/blkio.throttle.read_bps_device`), '8:0 1152921504606846976\n');
  await assert.rejects(m.apply({ blockIO: { throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1 }] } }), /blockIO\.throttleReadBpsDevice\[0\]: cannot write "1:3 1" to .*: there is no block device 1:3 on this host \(ENODEV\)/);
});

test('weights outside 10..1000 are refused before any write; 0 means not set', async () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  await assert.rejects(m.apply({ blockIO: { weight: 5 } }), /blockIO\.weight: must be 10\.\.1000 \(got 5\)/);
  await assert.rejects(m.apply({ blockIO: { weight: 1001 } }), /blockIO\.weight: must be 10\.\.1000 \(got 1001\)/);
  await m.apply({ blockIO: { weight: 0 } });
  assert.deepEqual(k.fs.writes(), []);
});

test('no blkio hierarchy: CgroupError', async () => {
  const { m } = setupV1(MOUNTINFO_LEGACY);
  await assert.rejects(m.apply({ blockIO: { weight: 100 } }), /linux\.resources\.blockIO: the blkio controller is not mounted on this host/);
});

const THROTTLE_BYTES = `7:0 Read 3145728
7:0 Write 0
7:0 Sync 3145728
7:0 Async 0
7:0 Discard 0
7:0 Total 3145728
254:0 Read 4096
254:0 Write 8192
254:0 Sync 0
254:0 Async 12288
254:0 Discard 0
254:0 Total 12288
Total 3158016
`;

test('parseBlkioEntries: "maj:min Op value" and "maj:min value" lines; the device-less Total skipped', () => {
  const e = parseBlkioEntries(THROTTLE_BYTES);
  assert.equal(e.length, 12);
  assert.deepEqual(e[0], { major: 7, minor: 0, op: 'Read', value: 3145728 });
  assert.deepEqual(e[11], { major: 254, minor: 0, op: 'Total', value: 12288 });
  assert.deepEqual(parseBlkioEntries('8:0 1234\n8:16 5\n'), [{ major: 8, minor: 0, value: 1234 }, { major: 8, minor: 16, value: 5 }]);
  assert.deepEqual(parseBlkioEntries('Total 0\n'), []);
});

test('stats: throttle files (recursive first), CFQ files when present, empty lists left out', () => {
  const { k, m } = setupV1(MOUNTINFO_HYBRID_SPLIT);
  assert.deepEqual(m.stats().blkio, {}, 'nothing happened yet');
  kernelSets(k, `${BLK}/blkio.throttle.io_service_bytes_recursive`, THROTTLE_BYTES);
  kernelSets(k, `${BLK}/blkio.throttle.io_serviced_recursive`, '7:0 Read 48\n7:0 Write 0\nTotal 48\n');
  let s = m.stats().blkio;
  assert.equal(s.ioServiceBytesRecursive?.length, 12);
  assert.deepEqual(s.ioServicedRecursive, [{ major: 7, minor: 0, op: 'Read', value: 48 }, { major: 7, minor: 0, op: 'Write', value: 0 }]);
  assert.equal(s.sectorsRecursive, undefined);
  // an old CFQ kernel: its files win and fill the rest
  kernelSets(k, `${BLK}/blkio.io_service_bytes_recursive`, '8:0 Read 10\nTotal 10\n');
  kernelSets(k, `${BLK}/blkio.sectors_recursive`, '8:0 20\n');
  kernelSets(k, `${BLK}/blkio.time_recursive`, '8:0 30\n');
  s = m.stats().blkio;
  assert.deepEqual(s.ioServiceBytesRecursive, [{ major: 8, minor: 0, op: 'Read', value: 10 }]);
  assert.deepEqual(s.sectorsRecursive, [{ major: 8, minor: 0, value: 20 }]);
  assert.deepEqual(s.ioTimeRecursive, [{ major: 8, minor: 0, value: 30 }]);
});
