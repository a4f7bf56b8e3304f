import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  UNLIMITED, USER_HZ, fmtInt, formatCpuList, hugepageDirToName, isInt, pageSizeBytes, pageSizeName, parseCounter, parseCpuList, parseKeyValues, parseNumberList, ticksToNs, toBig,
} from './units';

test('fmtInt/toBig: number and bigint, never exponent form; non-integers refused', () => {
  assert.equal(fmtInt(1e21), '1000000000000000000000');
  assert.equal(fmtInt(-1), '-1');
  assert.equal(fmtInt(2n ** 63n), '9223372036854775808');
  assert.equal(toBig(5), 5n);
  assert.throws(() => toBig(1.5), RangeError);
  assert.equal(isInt(-1n, -1), true);
  assert.equal(isInt(undefined, 0), false);
});

test('parseCounter: numbers, "max" and v1\'s page-counter maximum are unlimited (2^63-1 as a double)', () => {
  assert.equal(parseCounter('33554432\n'), 33554432);
  assert.equal(parseCounter('-1'), -1);
  assert.equal(parseCounter('max'), UNLIMITED);
  assert.equal(parseCounter('9223372036854771712'), UNLIMITED); // 4 KiB pages
  assert.equal(parseCounter('9223372036854710272'), UNLIMITED); // 64 KiB pages
  assert.equal(parseCounter('9223372036854710271'), 9223372036854710271);
  assert.equal(JSON.stringify(UNLIMITED), '9223372036854776000');
  assert.throws(() => parseCounter('12abc'), /not a number/);
});

test('parseKeyValues / parseNumberList', () => {
  assert.deepEqual(parseKeyValues('oom_kill_disable 0\nunder_oom 1\noom_kill 3\n'), { oom_kill_disable: 0, under_oom: 1, oom_kill: 3 });
  assert.deepEqual(parseKeyValues('cpu user system\nuser 5\n\nbad line here\n'), { user: 5 });
  assert.deepEqual(parseNumberList('2094172996 1723823663 \n'), [2094172996, 1723823663]);
  assert.deepEqual(parseNumberList(''), []);
});

test('parseCpuList: lists and ranges; what is wrong is said', () => {
  assert.deepEqual(parseCpuList('0-3,7'), [0, 1, 2, 3, 7]);
  assert.deepEqual(parseCpuList(' 3, 1-2 ,1\n'), [1, 2, 3]);
  assert.deepEqual(parseCpuList(''), []);
  assert.throws(() => parseCpuList('0-'), { message: '"0-" is not a number or a range like "0-3"' });
  assert.throws(() => parseCpuList('a'), { message: '"a" is not a number or a range like "0-3"' });
  assert.throws(() => parseCpuList('3-1'), { message: 'range "3-1" is backwards (write "1-3")' });
  assert.throws(() => parseCpuList('1,,2'), /"" is not a number/);
  assert.throws(() => parseCpuList('0-999999'), /implausibly large/);
  assert.equal(formatCpuList([7, 0, 1, 2, 3, 3]), '0-3,7');
  assert.equal(formatCpuList([]), '');
});

test('huge page size names', () => {
  assert.equal(pageSizeBytes('2MB'), 2 * 1024 * 1024);
  assert.equal(pageSizeBytes('1GB'), 1024 ** 3);
  assert.equal(pageSizeBytes('64KB'), 65536);
  assert.equal(pageSizeBytes('2M'), undefined);
  assert.equal(pageSizeBytes('0MB'), undefined);
  assert.equal(pageSizeName(2097152), '2MB');
  assert.equal(pageSizeName(1024 ** 3), '1GB');
  assert.equal(pageSizeName(3 * 1024 * 1024 + 512 * 1024), '3584KB');
  assert.equal(hugepageDirToName('hugepages-2048kB'), '2MB');
  assert.equal(hugepageDirToName('hugepages-1048576kB'), '1GB');
  assert.equal(hugepageDirToName('other'), undefined);
});

test('USER_HZ ticks → ns', () => {
  assert.equal(USER_HZ, 100);
  assert.equal(ticksToNs(130), 1_300_000_000);
  assert.equal(ticksToNs(0), 0);
});
