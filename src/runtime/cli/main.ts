// berth-runtime: an OCI runtime with runc's command line.
import { StateStore } from '../state/store';
import { RuntimeError } from '../errors';
import type { RuntimeContext } from '../lifecycle/context';
import { UsageError, parseArgs, str, bool } from './args';
import { Logger } from './log';
import { mark } from '../../kernel/trace';

const USAGE = `berth-runtime: an OCI runtime (runc-compatible command line)

Usage: berth-runtime [global options] <command> [options] <container-id> ...

Commands:
  spec      write a default config.json            create    create a container (init waits for start)
  start     start a created container             run       create and start a container
  state     print a container's OCI state         list      list containers
  kill      signal a container's init (or --all)  delete    delete a container (--force if running)
  exec      run a process in a container          ps        processes of a container
  pause     freeze every process of a container  resume    thaw a paused container
  update    change a live container's resources   events    stats and OOM events (--stats: once)
  features  print what this runtime supports

Global options:
  --root DIR          state directory (default /run/berth-runtime)
  --log FILE          also write errors and warnings to FILE
  --log-format FMT    text or json
`;

const GLOBAL_FLAGS = {
  root: { kind: 'string' },
  log: { kind: 'string' },
  'log-format': { kind: 'string' },
  debug: { kind: 'bool' },
  'systemd-cgroup': { kind: 'bool' },
  rootless: { kind: 'string' },
  criu: { kind: 'string' },
  help: { kind: 'bool', alias: ['h'] },
  version: { kind: 'bool', alias: ['v'] },
} as const;

type Command = (ctx: RuntimeContext, argv: string[]) => Promise<number>;

// Commands load lazily: each invocation pays only for the code it runs.
const COMMANDS: Record<string, () => Command> = {
  create: () => require('./commands/lifecycle').cmdCreate,
  start: () => require('./commands/lifecycle').cmdStart,
  run: () => require('./commands/lifecycle').cmdRun,
  kill: () => require('./commands/lifecycle').cmdKill,
  delete: () => require('./commands/lifecycle').cmdDelete,
  exec: () => require('./commands/exec').cmdExec,
  state: () => require('./commands/inspect').cmdState,
  list: () => require('./commands/inspect').cmdList,
  ps: () => require('./commands/inspect').cmdPs,
  features: () => require('./commands/features').cmdFeatures,
  pause: () => require('./commands/cgroups').cmdPause,
  resume: () => require('./commands/cgroups').cmdResume,
  update: () => require('./commands/cgroups').cmdUpdate,
  events: () => require('./commands/cgroups').cmdEvents,
  spec: () => (_ctx, argv) => require('./commands/features').cmdSpec(argv),
};

export async function main(argv: string[]): Promise<number> {
  mark('main');
  // Global flags come before the command name.
  const cmdIndex = argv.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && /^--?(root|log|log-format|rootless|criu)$/.test(argv[i - 1])));
  const globalArgv = cmdIndex < 0 ? argv : argv.slice(0, cmdIndex);
  let log = new Logger();
  try {
    const g = parseArgs(globalArgv, GLOBAL_FLAGS);
    const fmt = str(g, 'log-format') ?? 'text';
    if (fmt !== 'text' && fmt !== 'json') throw new UsageError(`invalid --log-format ${JSON.stringify(fmt)} (text or json)`);
    log = new Logger(str(g, 'log'), fmt);
    if (bool(g, 'version')) {
      process.stdout.write('berth-runtime version 0.1.0\nspec: 1.2.0\n');
      return 0;
    }
    if (cmdIndex < 0 || bool(g, 'help')) {
      process.stdout.write(USAGE);
      return cmdIndex < 0 && !bool(g, 'help') ? 1 : 0;
    }
    if (bool(g, 'systemd-cgroup')) throw new RuntimeError('--systemd-cgroup: the systemd cgroup driver is not supported yet; use cgroupfs paths (/berth/<id>)');
    const name = argv[cmdIndex];
    const load = COMMANDS[name];
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)} (see berth-runtime --help)`);
    const ctx: RuntimeContext = { store: new StateStore(str(g, 'root') ?? '/run/berth-runtime'), warn: (m) => log.warn(m) };
    return await load()(ctx, argv.slice(cmdIndex + 1));
  } catch (e) {
    if (e instanceof RuntimeError) {
      log.error(e.message);
      return e.exitCode;
    }
    if (e instanceof UsageError) {
      log.error(e.message);
      return 1;
    }
    log.error(`internal error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}
