import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { logFiles, parseLogLine, readJsonLog, toNanos, type LogEntry, type ReadLogOptions } from './json-log';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-jlog-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const T0 = Date.parse('2026-01-02T03:04:05Z');
/** Record i: "line i\n" at T0 + i seconds (+ i ns), stdout for even i. */
function rec(i: number): string {
  const time = new Date(T0 + i * 1000).toISOString().replace(/\.\d+Z$/, `.${String(i).padStart(9, '0')}Z`);
  return JSON.stringify({ log: `line ${i}\n`, stream: i % 2 ? 'stderr' : 'stdout', time }) + '\n';
}
function recs(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += rec(i);
  return s;
}

async function collect(file: string, opts: ReadLogOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readJsonLog(file, opts)) out.push(e);
  return out;
}
const nums = (es: LogEntry[]) => es.map((e) => Number(/line (\d+)/.exec(e.line)![1]));

test('parseLogLine reads Docker json-file records, escapes included', () => {
  const e = parseLogLine('{"log":"a\\u0009\\u003cb\\u003e \\ufffd\\n","stream":"stderr","time":"2026-11-22T19:40:00.123456789Z"}');
  assert.deepEqual(e, { stream: 'stderr', time: '2026-11-22T19:40:00.123456789Z', line: 'a\t<b> \ufffd\n' });
  assert.equal(parseLogLine('{"log":"x"'), undefined);
  assert.equal(parseLogLine('{"stream":"stdout"}'), undefined);
});

test('toNanos: RFC 3339 with nanos and zones, unix seconds (Docker API form), Dates', () => {
  assert.equal(toNanos('1970-01-01T00:00:01.000000002Z'), 1_000_000_002n);
  assert.equal(toNanos('1970-01-01T01:00:01.5+01:00'), 1_500_000_000n);
  assert.equal(toNanos('12.000000003'), 12_000_000_003n);
  assert.equal(toNanos('12'), 12_000_000_000n);
  assert.equal(toNanos(1.5), 1_500_000_000n);
  assert.equal(toNanos(new Date(2000)), 2_000_000_000n);
  assert.throws(() => toNanos('yesterday'));
});

test('reads every entry in order; an unterminated last record is not read yet', async (t) => {
  const f = path.join(tmp(t), 'c.log');
  fs.writeFileSync(f, recs(0, 5) + '{"log":"half');
  const es = await collect(f);
  assert.deepEqual(nums(es), [0, 1, 2, 3, 4]);
  assert.deepEqual(es.map((e) => e.stream), ['stdout', 'stderr', 'stdout', 'stderr', 'stdout']);
  assert.deepEqual(await collect(path.join(path.dirname(f), 'missing.log')), []);
});

test('rotated files are read oldest first (FILE.N ... FILE.1, FILE)', async (t) => {
  const dir = tmp(t);
  const f = path.join(dir, 'c.log');
  fs.writeFileSync(`${f}.10`, recs(0, 2)); // numeric, not lexical, order
  fs.writeFileSync(`${f}.2`, recs(2, 4));
  fs.writeFileSync(`${f}.1`, recs(4, 6));
  fs.writeFileSync(f, recs(6, 8));
  fs.writeFileSync(`${f}.old`, recs(100, 101));
  fs.writeFileSync(path.join(dir, 'other.log.1'), recs(200, 201));
  assert.deepEqual(logFiles(f), [`${f}.10`, `${f}.2`, `${f}.1`, f]);
  assert.deepEqual(nums(await collect(f)), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('tail counts lines across rotated files; 0 gives none, more than there are gives all', async (t) => {
  const f = path.join(tmp(t), 'c.log');
  fs.writeFileSync(`${f}.2`, recs(0, 3));
  fs.writeFileSync(`${f}.1`, recs(3, 4));
  fs.writeFileSync(f, recs(4, 6) + '{"partial');
  assert.deepEqual(nums(await collect(f, { tail: 2 })), [4, 5]);
  assert.deepEqual(nums(await collect(f, { tail: 3 })), [3, 4, 5]);
  assert.deepEqual(nums(await collect(f, { tail: 5 })), [1, 2, 3, 4, 5]);
  assert.deepEqual(nums(await collect(f, { tail: 0 })), []);
  assert.deepEqual(nums(await collect(f, { tail: 100 })), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(nums(await collect(f, { tail: -1 })), [0, 1, 2, 3, 4, 5]);
});

test('tail over a file larger than one read chunk', async (t) => {
  const f = path.join(tmp(t), 'c.log');
  fs.writeFileSync(f, recs(0, 3000)); // ~300 KB
  assert.deepEqual(nums(await collect(f, { tail: 3 })), [2997, 2998, 2999]);
  assert.equal((await collect(f, { tail: 1500 })).length, 1500);
});

test('since and until are inclusive, to the nanosecond; tail applies before them', async (t) => {
  const f = path.join(tmp(t), 'c.log');
  fs.writeFileSync(f, recs(0, 10));
  const at = (i: number) => toNanos(new Date(T0 + i * 1000)) + BigInt(i);
  assert.deepEqual(nums(await collect(f, { since: at(7) })), [7, 8, 9]);
  assert.deepEqual(nums(await collect(f, { since: at(7) + 1n })), [8, 9]);
  assert.deepEqual(nums(await collect(f, { until: at(2) })), [0, 1, 2]);
  assert.deepEqual(nums(await collect(f, { since: new Date(T0 + 3000), until: `${(T0 + 5000) / 1000}.000000005` })), [3, 4, 5]);
  assert.deepEqual(nums(await collect(f, { tail: 4, since: at(5) })), [6, 7, 8, 9]);
  assert.deepEqual(nums(await collect(f, { tail: 4, since: at(8) })), [8, 9]);
});

test('follow: appends, a rotation (with what was written just before it) and the exit file', async (t) => {
  const dir = tmp(t);
  const f = path.join(dir, 'c.log');
  const exit = path.join(dir, 'exit.json');
  fs.writeFileSync(f, recs(0, 2));
  const got: number[] = [];
  const reader = (async () => {
    for await (const e of readJsonLog(f, { follow: true, exitFile: exit, pollMs: 20 })) got.push(nums([e])[0]!);
  })();
  const until = async (n: number) => {
    for (let i = 0; i < 200 && got.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await until(2);
  fs.appendFileSync(f, recs(2, 3) + '{"log":"line 3\\n","stream"');
  await until(3);
  fs.appendFileSync(f, ':"stdout","time":"2026-01-02T03:04:08.000000003Z"}\n');
  // Two rotations between polls: FILE -> .1 -> .2, then a new FILE.
  fs.appendFileSync(f, recs(4, 5));
  fs.renameSync(f, `${f}.1`);
  fs.writeFileSync(f, recs(5, 6));
  fs.renameSync(`${f}.1`, `${f}.2`);
  fs.renameSync(f, `${f}.1`);
  fs.writeFileSync(f, recs(6, 7));
  await until(7);
  fs.appendFileSync(f, recs(7, 8));
  fs.writeFileSync(exit, '{}');
  await reader;
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('follow: a log that does not exist yet, tail 0, stopped by an abort signal', async (t) => {
  const dir = tmp(t);
  const f = path.join(dir, 'c.log');
  const ac = new AbortController();
  const got: number[] = [];
  const reader = (async () => {
    for await (const e of readJsonLog(f, { follow: true, tail: 0, signal: ac.signal, pollMs: 20 })) got.push(nums([e])[0]!);
  })();
  await new Promise((r) => setTimeout(r, 50));
  fs.writeFileSync(f, recs(0, 2));
  for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  ac.abort();
  await reader;
  assert.deepEqual(got, [0, 1]);
});

test('follow: a log truncated in place (max-files 1) is read again from its start', async (t) => {
  const dir = tmp(t);
  const f = path.join(dir, 'c.log');
  const exit = path.join(dir, 'exit.json');
  fs.writeFileSync(f, recs(0, 3));
  const got: number[] = [];
  const reader = (async () => {
    for await (const e of readJsonLog(f, { follow: true, exitFile: exit, pollMs: 20 })) got.push(nums([e])[0]!);
  })();
  for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  fs.truncateSync(f, 0);
  await new Promise((r) => setTimeout(r, 60));
  fs.appendFileSync(f, recs(3, 4));
  fs.writeFileSync(exit, '{}');
  await reader;
  assert.deepEqual(got, [0, 1, 2, 3]);
});
