// End-to-end: `berth system prune` (and the container/image prune commands it shares its code
// with) through bin/berth against a temporary berthd: what goes and what stays, docker's report
// and prompt, filters and their errors; `system prune` in --help and in the bash and zsh
// completions (run in real bash and zsh). Where the docker CLI is installed, its output for the
// same daemon is the reference for the prompt and the error texts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { busyboxSuite, Env, PtySession, hasDocker, hasPython3, ok } from './helpers';

const env = new Env();
const berth = (args: string[], input?: string | Buffer) => env.berth(args, input);
const docker = (args: string[]) => env.docker(args);
const PREFIX = `berth-test-${process.pid}`;
const ID = /^[0-9a-f]{64}$/;
const hasZsh = spawnSync('zsh', ['--version']).status === 0;

busyboxSuite(env);

/** A container that ran `true` and exited; its full id. */
function stopped(name: string, extra: string[] = []): string {
  ok(berth(['run', '--name', name, ...extra, 'busybox', 'true']));
  const id = ok(berth(['inspect', '-f', '{{.Id}}', name])).trim();
  assert.match(id, ID);
  return id;
}

/** A dangling image (imported without a name); its id. */
function dangling(): string {
  const id = ok(berth(['import', env.tarball])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(ok(berth(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).includes(id), true);
  return id;
}

const exists = (kind: 'container' | 'image', ref: string) => berth([kind, 'inspect', '-f', '{{.Id}}', ref]).code === 0;

const NO_FILTER_PROMPT =
  'WARNING! This will remove:\n  - all stopped containers\n  - all dangling images\n\nAre you sure you want to continue? [y/N] ';

/** docker's prompt without the lines for what berth does not have (networks, build cache). */
const berthLines = (dockerPrompt: string) =>
  dockerPrompt
    .split('\n')
    .filter((l) => !/^ {2}- (all networks not used by at least one container|unused build cache|all build cache)$/.test(l))
    .join('\n');

describe('berth system prune', () => {
  test('-f: the stopped container and the dangling image go; the running container and tagged images stay', () => {
    const gone = stopped(`${PREFIX}-stopped`);
    const running = ok(berth(['run', '-d', '--name', `${PREFIX}-running`, 'busybox', 'sleep', '300'])).trim();
    const unusedTagged = ok(berth(['import', env.tarball, `${PREFIX}-unused:1`])).trim();
    const img = dangling();
    try {
      const out = ok(berth(['system', 'prune', '-f']));
      const m = /^Deleted Containers:\n([0-9a-f]{64}\n)+\nDeleted Images:\n((untagged: \S+|deleted: sha256:[0-9a-f]{64})\n)+\nTotal reclaimed space: (\d+(\.\d+)?[kMGT]?B)\n$/.exec(out);
      assert.ok(m, out);
      assert.deepEqual(out.split('\n\n')[0]!.split('\n').slice(1), [gone]);
      assert.ok(out.includes(`\ndeleted: ${img}\n`), out);
      assert.ok(!out.includes('untagged:'), out);
      assert.equal(exists('container', gone), false);
      assert.equal(exists('image', img), false);
      assert.equal(ok(berth(['inspect', '-f', '{{.State.Running}}', running])), 'true\n');
      assert.equal(exists('image', 'busybox:latest'), true);
      assert.equal(exists('image', unusedTagged), true);
      // Nothing left to prune: only the total, as docker prints it.
      assert.equal(ok(berth(['system', 'prune', '-f'])), 'Total reclaimed space: 0B\n');

      // -a: images no container uses go too ("untagged:" then "deleted:"), busybox stays in use.
      const all = ok(berth(['system', 'prune', '-af']));
      assert.match(all, /^Deleted Images:\n/);
      assert.ok(all.includes(`untagged: ${PREFIX}-unused:1\ndeleted: ${unusedTagged}\n`), all);
      assert.match(all, /\n\nTotal reclaimed space: \d+(\.\d+)?[kMGT]?B\n$/);
      assert.equal(exists('image', unusedTagged), false);
      assert.equal(exists('image', 'busybox:latest'), true);
      assert.equal(ok(berth(['inspect', '-f', '{{.State.Running}}', running])), 'true\n');
    } finally {
      berth(['rm', '-f', `${PREFIX}-stopped`, `${PREFIX}-running`]);
      berth(['rmi', '-f', img, unusedTagged]);
    }
  });

  test("without -f: docker's prompt; 'n' or no input removes nothing (exit 0), 'y' prunes", () => {
    const c = stopped(`${PREFIX}-asked`);
    const img = dangling();
    try {
      for (const input of ['n\n', '', 'no\n', 'yes\n']) {
        const r = berth(['system', 'prune'], input);
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, NO_FILTER_PROMPT, ''], `input ${JSON.stringify(input)}`);
        assert.equal(exists('container', c), true);
        assert.equal(exists('image', img), true);
      }
      if (hasDocker) {
        const d = docker(['system', 'prune']);
        assert.equal(d.code, 0, d.stderr);
        assert.equal(berthLines(d.stdout), NO_FILTER_PROMPT);
      }
      const yes = berth(['system', 'prune'], 'Y\n');
      assert.equal(yes.code, 0, yes.stderr);
      assert.ok(yes.stdout.startsWith(`${NO_FILTER_PROMPT}Deleted Containers:\n${c}\n\nDeleted Images:\n`), yes.stdout);
      assert.equal(exists('container', c), false);
      assert.equal(exists('image', img), false);
    } finally {
      berth(['rm', '-f', c]);
      berth(['rmi', '-f', img]);
    }
  });

  test('filters: shown in the prompt, label= selects; a bad --filter is a flag error (125) before any prompt', () => {
    const keep = stopped(`${PREFIX}-keep`);
    const drop = stopped(`${PREFIX}-drop`, ['-l', 'berth-test-prune=yes']);
    try {
      // The prompt lists label, label! and until filters, naturally sorted, as docker's does.
      const args = ['system', 'prune', '-a', '--filter', 'until=2999-01-01T00:00:00Z', '--filter', 'label=b10', '--filter', 'LABEL=b9', '--filter', 'label=a'];
      const asked = berth(args, '');
      assert.equal(asked.code, 0, asked.stderr);
      assert.equal(
        asked.stdout,
        'WARNING! This will remove:\n  - all stopped containers\n  - all images without at least one container associated to them\n\n' +
          '  Items to be pruned will be filtered with:\n  - label=a\n  - label=b9\n  - label=b10\n  - until=2999-01-01T00:00:00Z\n\n' +
          'Are you sure you want to continue? [y/N] ',
      );
      if (hasDocker) assert.equal(berthLines(ok(docker(args))), asked.stdout);

      const out = ok(berth(['system', 'prune', '-f', '--filter', 'label=berth-test-prune=yes']));
      assert.match(out, new RegExp(`^Deleted Containers:\\n${drop}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?[kMGT]?B\\n$`));
      assert.equal(exists('container', drop), false);
      assert.equal(exists('container', keep), true);

      for (const cmd of [['system', 'prune'], ['container', 'prune'], ['image', 'prune']]) {
        const bad = berth([...cmd, '--filter', 'nonsense'], 'y\n');
        const want = `invalid argument "nonsense" for "--filter" flag: bad format of filter (expected name=value)\n\nUsage:  berth ${cmd.join(' ')} [OPTIONS]\n\nRun 'berth ${cmd.join(' ')} --help' for more information\n`;
        assert.deepEqual([bad.code, bad.stdout, bad.stderr], [125, '', want], cmd.join(' '));
        if (hasDocker) {
          const d = docker([...cmd, '--filter', 'nonsense']);
          assert.deepEqual([d.code, d.stderr], [125, want.replace(/berth/g, 'docker')]);
        }
      }
      assert.equal(exists('container', keep), true);
      // A filter the daemon does not know: its error, nothing removed.
      const unknown = berth(['system', 'prune', '-f', '--filter', 'nosuchfilter=1']);
      assert.deepEqual([unknown.code, unknown.stdout, unknown.stderr], [1, '', "Error response from daemon: invalid filter 'nosuchfilter'\n"]);
      assert.equal(exists('container', keep), true);
      // docker refuses "until" with --volumes before asking; berth (no volumes) says the same.
      const vol = berth(['system', 'prune', '--volumes', '--filter', 'until=1h'], 'y\n');
      assert.deepEqual([vol.code, vol.stdout, vol.stderr], [1, '', 'ERROR: The "until" filter is not supported with "--volumes"\n']);
      // --volumes alone is accepted; berth has no volumes, so its report is the same as without.
      assert.equal(ok(berth(['system', 'prune', '-f', '--volumes', '--filter', 'label=berth-test-none'])), 'Total reclaimed space: 0B\n');
      assert.equal(exists('container', keep), true);
    } finally {
      berth(['rm', '-f', keep, drop]);
    }
  });

  test('container prune and image prune report as docker does (shared code with system prune)', () => {
    const c = stopped(`${PREFIX}-cp`);
    const img = dangling();
    try {
      assert.equal(berth(['container', 'prune'], 'n\n').stdout, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
      assert.match(ok(berth(['container', 'prune', '-f'])), new RegExp(`^Deleted Containers:\\n${c}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?[kMGT]?B\\n$`));
      assert.equal(ok(berth(['container', 'prune', '-f'])), 'Total reclaimed space: 0B\n');
      assert.match(ok(berth(['image', 'prune', '-f'])), new RegExp(`^Deleted Images:\\ndeleted: ${img}\\n(deleted: sha256:[0-9a-f]{64}\\n)*\\nTotal reclaimed space: \\d+(\\.\\d+)?[kMGT]?B\\n$`));
      assert.equal(exists('image', img), false);
    } finally {
      berth(['rm', '-f', c]);
      berth(['rmi', '-f', img]);
    }
  });

  test("the daemon's prune filters: until as a duration or a timestamp, label!; docker's own system prune", () => {
    const young = stopped(`${PREFIX}-young`, ['--label', 'keep=yes']);
    const other = stopped(`${PREFIX}-other`);
    try {
      // Both were created seconds ago: "until=24h" (before a day ago) keeps them.
      assert.equal(ok(berth(['container', 'prune', '-f', '--filter', 'until=24h'])), 'Total reclaimed space: 0B\n');
      assert.equal(ok(berth(['container', 'prune', '-f', '--filter', `until=${new Date(Date.now() - 3_600_000).toISOString()}`])), 'Total reclaimed space: 0B\n');
      assert.equal(exists('container', young) && exists('container', other), true);
      const bad = berth(['container', 'prune', '-f', '--filter', 'until=soon']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid filter 'until=soon'.*invalid time "soon"/);
      // label!=keep=yes: all stopped ones but that one.
      assert.match(ok(berth(['container', 'prune', '-f', '--filter', 'label!=keep=yes'])), new RegExp(`^Deleted Containers:\\n${other}\\n`));
      assert.equal(exists('container', young), true);
      if (hasDocker) {
        // The docker CLI also asks for /networks/prune and /build/prune: empty, not a failure.
        const d = docker(['system', 'prune', '-f']);
        assert.equal(d.code, 0, d.stderr);
        assert.match(d.stdout, new RegExp(`Deleted Containers:\\n${young}\\n`));
      }
    } finally {
      berth(['rm', '-f', young, other]);
    }
  });

  test('help: `berth system --help` lists prune; `system prune --help` has docker\'s flags', () => {
    assert.match(ok(berth(['system', '--help'])), /\n {2}prune {7}Remove unused data\n/);
    const help = ok(berth(['system', 'prune', '--help']));
    assert.ok(help.startsWith('Usage:  berth system prune [OPTIONS]\n\nRemove unused data\n\nOptions:\n'), help);
    for (const flag of [/-a, --all +Remove all unused images not just dangling ones/, /--filter filter +Provide filter values/, /-f, --force +Do not prompt for confirmation/, /--volumes +Prune anonymous volumes/]) {
      assert.match(help, flag);
    }
    if (hasDocker) {
      const flags = (h: string) => [...h.matchAll(/^ {2}(-\w, )?--([\w-]+)/gm)].map((m) => m[2]);
      assert.deepEqual(flags(help), flags(ok(docker(['system', 'prune', '--help']))));
    }
  });
});

describe('completion scripts, run in their shells', () => {
  /** The candidates the generated script offers for the words typed so far (the last is the current one). */
  function bashComplete(words: string[]): string[] {
    const script = path.join(env.dir, 'berth.bash');
    fs.writeFileSync(script, ok(berth(['completion', 'bash'])));
    const setup = `source ${JSON.stringify(script)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _berth; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['--norc', '-c', setup], { encoding: 'utf8', env: env.berthEnv() });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  }

  function zshComplete(words: string[]): string[] {
    const script = path.join(env.dir, '_berth');
    fs.writeFileSync(script, ok(berth(['completion', 'zsh'])));
    // compadd and compdef stubbed: the completion function's logic, outside the line editor.
    const setup = `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; source ${JSON.stringify(script)}; words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _berth`;
    const r = spawnSync('zsh', ['-f', '-c', setup], { encoding: 'utf8', env: env.berthEnv() });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  }

  test('bash: system prune and its flags', () => {
    assert.ok(bashComplete(['berth', 'system', '']).includes('prune'));
    assert.deepEqual(bashComplete(['berth', 'system', 'pr']), ['prune']);
    assert.deepEqual(bashComplete(['berth', 'system', 'prune', '--']).sort(), ['--all', '--filter', '--force', '--help', '--volumes']);
    // A global flag's value is not taken for the command.
    assert.deepEqual(bashComplete(['berth', '-H', 'unix:///x.sock', '--debug', 'system', 'pr']), ['prune']);
  });

  test('zsh: the script parses (zsh -n), offers system prune and its flags, and completes when autoloaded', () => {
    assert.ok(hasZsh, 'zsh is needed for this test: scripts/setup.sh installs it');
    const script = path.join(env.dir, '_berth');
    fs.writeFileSync(script, ok(berth(['completion', 'zsh'])));
    const syntax = spawnSync('zsh', ['-n', script], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    assert.ok(zshComplete(['berth', 'system', '']).includes('prune'));
    assert.deepEqual(zshComplete(['berth', 'system', 'prune', '-']).sort(), ['--all', '--filter', '--force', '--help', '--volumes', '-a', '-f'].sort());
    assert.ok(zshComplete(['berth', '']).includes('system'));
    assert.ok(zshComplete(['berth', '--host', 'unix:///x.sock', 'system', '']).includes('prune'));
    // As a file in $fpath (the #compdef way), the first completion already answers.
    const fpath = path.join(env.dir, 'zfunc');
    fs.mkdirSync(fpath, { recursive: true });
    fs.copyFileSync(script, path.join(fpath, '_berth'));
    const auto = spawnSync(
      'zsh',
      ['-f', '-c', `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; fpath=(${JSON.stringify(fpath)} $fpath); autoload -Uz _berth; words=(berth system ''); CURRENT=3; _berth`],
      { encoding: 'utf8', env: env.berthEnv() },
    );
    assert.equal(auto.status, 0, auto.stderr);
    assert.ok(auto.stdout.split('\n').includes('prune'), auto.stdout);
  });

  test('TAB in interactive bash and zsh on a terminal completes `berth system pr` to `berth system prune`', async () => {
    assert.ok(hasPython3, 'python3 with its pty module is needed for the terminal test');
    assert.ok(hasZsh, 'zsh is needed for this test: scripts/setup.sh installs it');
    const bashScript = path.join(env.dir, 'berth.bash');
    const zshScript = path.join(env.dir, 'berth.zsh');
    fs.writeFileSync(bashScript, ok(berth(['completion', 'bash'])));
    fs.writeFileSync(zshScript, ok(berth(['completion', 'zsh'])));
    const shells: Array<[string[], string]> = [
      [['bash', '--norc', '--noprofile', '-i'], `source ${JSON.stringify(bashScript)}`],
      // The usual zsh setup: compinit, then the script sourced (its compdef registers _berth).
      [['zsh', '-f', '-i'], `autoload -U compinit; compinit -u -D; source ${JSON.stringify(zshScript)}`],
    ];
    for (const [argv, setup] of shells) {
      const s = await PtySession.spawn(argv, { ...env.berthEnv(), PS1: '$ ' });
      try {
        s.write(`${setup}\r`);
        s.write('berth system pr\t');
        // The line editor rewrites the word (zsh may style the added space).
        await s.expect(/berth system prune(\x1b\[[0-9;]*m)* /, 10_000);
        s.write('\x15exit\r'); // ctrl-u: drop the line, then leave
        assert.deepEqual(await s.exit(), { code: 0, signal: null }, s.describe());
      } finally {
        await s.close();
      }
    }
  });
});
