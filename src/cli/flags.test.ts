import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, flagUsages, fromHumanSize, parseFlags, ramInBytes, type FlagDef } from './flags';

const RUN: FlagDef[] = [
  { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open' },
  { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
  { name: 'detach', short: 'd', kind: 'bool', usage: 'Run in background' },
  { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables' },
  { name: 'name', kind: 'string', usage: 'Assign a name' },
  { name: 'memory', short: 'm', kind: 'bytes', usage: 'Memory limit' },
  { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares' },
  { name: 'platform', kind: 'slice', usage: 'Platforms' },
];

test('combined shorthands, the last one taking a value', () => {
  const p = parseFlags(RUN, ['-dit', 'busybox']);
  assert.equal(p.values.detach, true);
  assert.equal(p.values.interactive, true);
  assert.equal(p.values.tty, true);
  assert.deepEqual(p.args, ['busybox']);
  const q = parseFlags(RUN, ['-ite', 'A=1', '-eB=2', '-e=C=3', '--env', 'D=4', '--env=E=5']);
  assert.deepEqual(q.values.env, ['A=1', 'B=2', 'C=3', 'D=4', 'E=5']);
  assert.ok(q.changed.has('env'));
  assert.equal(parseFlags(RUN, ['-m512m']).values.memory, 512 * 1024 * 1024);
});

test('booleans take a value only after "="; --flag=false', () => {
  assert.equal(parseFlags(RUN, ['--tty=false']).values.tty, false);
  assert.equal(parseFlags(RUN, ['-t=false']).values.tty, false);
  const p = parseFlags(RUN, ['--tty', 'false']);
  assert.equal(p.values.tty, true);
  assert.deepEqual(p.args, ['false']);
  assert.throws(() => parseFlags(RUN, ['--tty=maybe']), {
    message: 'invalid argument "maybe" for "-t, --tty" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
  });
});

test('pflag error wording', () => {
  assert.throws(() => parseFlags(RUN, ['--x']), (e: Error) => e instanceof FlagError && e.message === 'unknown flag: --x');
  assert.throws(() => parseFlags(RUN, ['-qx']), { message: "unknown shorthand flag: 'q' in -qx" });
  assert.throws(() => parseFlags(RUN, ['-ix']), { message: "unknown shorthand flag: 'x' in -x" });
  assert.throws(() => parseFlags(RUN, ['--name']), { message: 'flag needs an argument: --name' });
  assert.throws(() => parseFlags(RUN, ['-e']), { message: "flag needs an argument: 'e' in -e" });
  assert.throws(() => parseFlags(RUN, ['---x']), { message: 'bad flag syntax: ---x' });
  assert.throws(() => parseFlags(RUN, ['-c', 'x']), { message: 'invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax' });
  assert.throws(() => parseFlags(RUN, ['-m', '1q']), { message: `invalid argument "1q" for "-m, --memory" flag: invalid suffix: 'q'` });
});

test('interspersed=false stops at the first positional (run IMAGE CMD...)', () => {
  const p = parseFlags(RUN, ['-it', 'busybox', 'sh', '-c', 'echo -e x', '--name', 'y'], { interspersed: false });
  assert.deepEqual(p.args, ['busybox', 'sh', '-c', 'echo -e x', '--name', 'y']);
  assert.equal(p.values.name, '');
  const q = parseFlags(RUN, ['busybox', '--name', 'y']);
  assert.equal(q.values.name, 'y');
  assert.deepEqual(q.args, ['busybox']);
});

test('"--" ends the flags; "-" is a positional; slices split on commas', () => {
  const p = parseFlags(RUN, ['-i', '--', '-t', 'x']);
  assert.equal(p.values.tty, false);
  assert.deepEqual(p.args, ['-t', 'x']);
  assert.equal(p.argsLenAtDash, 0);
  assert.deepEqual(parseFlags(RUN, ['-']).args, ['-']);
  assert.deepEqual(parseFlags(RUN, ['--platform', 'linux/amd64,linux/arm64', '--platform=a']).values.platform, ['linux/amd64', 'linux/arm64', 'a']);
});

test('--help, -h (with docker deprecation notice)', () => {
  assert.equal(parseFlags(RUN, ['--help']).help, true);
  const p = parseFlags(RUN, ['-h']);
  assert.equal(p.help, true);
  assert.deepEqual(p.notices, ['Flag shorthand -h has been deprecated, use --help']);
});

test('RAMInBytes and FromHumanSize as go-units', () => {
  assert.equal(ramInBytes('512m'), 536870912);
  assert.equal(ramInBytes('1g'), 1073741824);
  assert.equal(ramInBytes('1.5GB'), 1610612736);
  assert.equal(ramInBytes('32kib'), 32768);
  assert.equal(ramInBytes('10'), 10);
  assert.equal(ramInBytes('10 MB'), 10485760);
  assert.equal(ramInBytes('100b'), 100);
  assert.throws(() => ramInBytes('abc'), { message: "invalid size: 'abc'" });
  assert.throws(() => ramInBytes('1x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => ramInBytes('1kbx'), { message: "invalid suffix: 'kbx'" });
  assert.throws(() => ramInBytes('1mi'), { message: "invalid suffix: 'mi'" });
  assert.throws(() => ramInBytes('-1'), { message: "invalid size: '-1'" });
  assert.equal(fromHumanSize('1kB'), 1000);
  assert.equal(fromHumanSize('2.5M'), 2500000);
});

test('help lines: sorted, wrapped at 79 columns as pflag FlagUsagesWrapped', () => {
  const defs: FlagDef[] = [
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
    { name: 'filter', short: 'f', kind: 'list', typeName: 'filter', usage: 'Filter output based on conditions provided' },
    {
      name: 'platform',
      kind: 'string',
      usage: 'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
    },
    { name: 'human', short: 'H', kind: 'bool', default: true, usage: 'Print sizes and dates in human readable format' },
  ];
  assert.equal(
    flagUsages(defs),
    [
      '  -f, --filter filter     Filter output based on conditions provided',
      '  -H, --human             Print sizes and dates in human readable format',
      '                          (default true)',
      '      --platform string   Save only the given platform variant. Formatted',
      '                          as "os[/arch[/variant]]" (e.g., "linux/amd64")',
      '  -q, --quiet             Only show image IDs',
      '',
    ].join('\n'),
  );
});
