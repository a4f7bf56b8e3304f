import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlanRecord, decodePlan, encodePlan } from './encode';

/**
 * A line-by-line port of plan_read() in native/stage/plan.c: the stage's view of
 * the bytes, with its checks (size cap, no empty record, no truncation). Fields
 * come back as raw bytes, as the C side keeps them (f[i] + len[i]).
 */
function stageRead(buf: Buffer): Buffer[][] {
  const total = buf.readUInt32LE(0);
  if (total > 64 * 1024 * 1024) throw new Error(`launch plan too large (${total} bytes)`);
  if (buf.length - 4 < total) throw new Error('EPIPE reading the launch plan');
  const body = buf.subarray(4, 4 + total);
  const recs: Buffer[][] = [];
  let off = 0;
  while (off < total) {
    if (total - off < 4) throw new Error('truncated launch plan');
    const nf = body.readUInt32LE(off);
    off += 4;
    if (nf === 0 || nf > 1 << 20) throw new Error('bad record in launch plan');
    const rec: Buffer[] = [];
    for (let i = 0; i < nf; i++) {
      if (total - off < 4) throw new Error('truncated launch plan');
      const l = body.readUInt32LE(off);
      off += 4;
      if (total - off < l) throw new Error('truncated launch plan');
      rec.push(Buffer.from(body.subarray(off, off + l)));
      off += l;
    }
    recs.push(rec);
  }
  return recs;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
};

test('encodePlan: the exact bytes of a two-record plan (u32 LE total, u32 field count, u32 length + bytes per field)', () => {
  const buf = encodePlan([['mode', 'create'], ['nnp']]);
  const expected = Buffer.from(
    [
      '21000000', // total: 33 bytes after this word
      '02000000', '04000000', '6d6f6465', '06000000', '637265617465', // 2 fields: "mode" "create"
      '01000000', '03000000', '6e6e70', // 1 field: "nnp"
    ].join(''),
    'hex',
  );
  assert.deepEqual(buf, expected);
  assert.equal(buf.length, 37);
});

test('encodePlan: no records is just a zero total length', () => {
  assert.deepEqual(encodePlan([]), Buffer.from('00000000', 'hex'));
});

test('encodePlan: an empty string field is a zero length and no bytes', () => {
  assert.deepEqual(encodePlan([['cwd', '']]), Buffer.concat([u32(15), u32(2), u32(3), Buffer.from('cwd'), u32(0)]));
});

test('encodePlan: the total length counts every record, field count and field length word', () => {
  const buf = encodePlan([['a', 'bc'], ['def', '', 'g']]);
  // record 1: 4 + (4+1) + (4+2) = 15; record 2: 4 + (4+3) + (4+0) + (4+1) = 20
  assert.equal(buf.readUInt32LE(0), 35);
  assert.equal(buf.length, 39);
});

test('encodePlan: field lengths are UTF-8 byte counts, not string lengths', () => {
  const buf = encodePlan([['hostname', 'é日🚀']]);
  const rec = stageRead(buf)[0];
  assert.equal(rec[1].length, 2 + 3 + 4);
  assert.deepEqual(rec[1], Buffer.from([0xc3, 0xa9, 0xe6, 0x97, 0xa5, 0xf0, 0x9f, 0x9a, 0x80]));
  // the length word right before the value
  assert.equal(buf.readUInt32LE(4 + 4 + 4 + 'hostname'.length), 9);
});

test('encodePlan: numbers are written as decimal text (negative too)', () => {
  const [rec] = stageRead(encodePlan([['user', 1000, 0, -500, 0o022]]));
  assert.deepEqual(rec.map((b) => b.toString('latin1')), ['user', '1000', '0', '-500', '18']);
});

test('encodePlan: bigints are written as exact decimal text, even beyond 2^53', () => {
  const [rec] = stageRead(encodePlan([['op:rlimit', 7, 18446744073709551615n, 9007199254740993n]]));
  assert.deepEqual(rec.map((b) => b.toString('latin1')), ['op:rlimit', '7', '18446744073709551615', '9007199254740993']);
});

test('encodePlan: Buffer fields are copied verbatim, NUL and non-UTF-8 bytes included', () => {
  const bin = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x00]);
  const buf = encodePlan([['seccomp', bin, '0']]);
  assert.deepEqual(buf, Buffer.concat([u32(4 + 4 + 7 + 4 + 6 + 4 + 1), u32(3), u32(7), Buffer.from('seccomp'), u32(6), bin, u32(1), Buffer.from('0')]));
  assert.deepEqual(stageRead(buf)[0][1], bin);
});

test('encodePlan: an empty Buffer field is a zero length', () => {
  assert.deepEqual(stageRead(encodePlan([['x', Buffer.alloc(0)]]))[0], [Buffer.from('x'), Buffer.alloc(0)]);
});

test('encodePlan output passes every check of the stage reader (plan.c) and yields the same fields', () => {
  const records: PlanRecord[] = [
    ['mode', 'create'],
    ['uidmap', '0 100000 65536\n1 1 1\n'],
    ['op:mount', 'proc', 'proc', 'proc', 14, '', 'dir', 0],
    ['args', 'sh', '-c', 'echo "ünïcode" && exit 3'],
    ['env'],
  ];
  const recs = stageRead(encodePlan(records));
  assert.deepEqual(
    recs.map((r) => r.map((b) => b.toString('utf8'))),
    records.map((r) => r.map(String)),
  );
});

test('decodePlan: round-trips strings, empty fields and unicode', () => {
  const records = [['mode', 'exec'], ['env', '', 'LANG=C.UTF-8', 'NAME=Ünïcödé 日本 🚀'], ['cwd', '/']];
  assert.deepEqual(decodePlan(encodePlan(records)), records);
});

test('decodePlan: numbers and bigints come back as their decimal strings', () => {
  assert.deepEqual(decodePlan(encodePlan([['op:rlimit', 7, 1024n, 18446744073709551615n, -1]])), [
    ['op:rlimit', '7', '1024', '18446744073709551615', '-1'],
  ]);
});

test('decodePlan: a Buffer field holding UTF-8 text comes back as that text', () => {
  assert.deepEqual(decodePlan(encodePlan([['x', Buffer.from('héllo\n', 'utf8')]])), [['x', 'héllo\n']]);
});

test('decodePlan: a record with only a keyword and an empty plan', () => {
  assert.deepEqual(decodePlan(encodePlan([['nnp']])), [['nnp']]);
  assert.deepEqual(decodePlan(encodePlan([])), []);
});

test('decodePlan: stops at the total length and ignores bytes that follow the plan', () => {
  const buf = Buffer.concat([encodePlan([['a', 'b']]), Buffer.from('trailing status line\n')]);
  assert.deepEqual(decodePlan(buf), [['a', 'b']]);
});
