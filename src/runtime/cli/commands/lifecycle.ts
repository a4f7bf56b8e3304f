// create, start, run, kill, delete.
import { Parsed, bool, parseArgs, str, oneId } from '../args';
import { RuntimeError } from '../../errors';
import type { RuntimeContext } from '../../lifecycle/context';
import { createContainer } from '../../lifecycle/create';
import { deleteContainer } from '../../lifecycle/delete';
import { killContainer } from '../../lifecycle/kill';
import { parseSignal } from '../../lifecycle/signals';
import { startContainer } from '../../lifecycle/start';
import { forwardSignals } from './forward-signals';
import { mark } from '../../../kernel/trace';

const CREATE_FLAGS = {
  bundle: { kind: 'string', alias: ['b'] },
  'pid-file': { kind: 'string' },
  'console-socket': { kind: 'string' },
  'no-pivot': { kind: 'bool' },
  'no-new-keyring': { kind: 'bool' },
  'preserve-fds': { kind: 'string' },
} as const;

function createOptions(p: Parsed, id: string) {
  const fds = str(p, 'preserve-fds');
  if (fds && fds !== '0') throw new RuntimeError('--preserve-fds is not supported by berth-runtime yet');
  return {
    id,
    bundle: str(p, 'bundle') ?? process.cwd(),
    pidFile: str(p, 'pid-file'),
    consoleSocket: str(p, 'console-socket'),
    noPivot: bool(p, 'no-pivot'),
  };
}

export async function cmdCreate(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, CREATE_FLAGS);
  const created = await createContainer(ctx, createOptions(p, oneId(p, 'create')));
  created.channel.release();
  return 0;
}

export async function cmdStart(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, {});
  await startContainer(ctx, oneId(p, 'start'));
  return 0;
}

export async function cmdRun(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { ...CREATE_FLAGS, detach: { kind: 'bool', alias: ['d'] }, keep: { kind: 'bool' } });
  const id = oneId(p, 'run');
  const detach = bool(p, 'detach');
  const created = await createContainer(ctx, { ...createOptions(p, id), foreground: !detach });
  if (detach) {
    try {
      await startContainer(ctx, id);
    } finally {
      created.channel.release();
    }
    return 0;
  }
  const stopForwarding = forwardSignals(created.state.pid, !!created.state.config.process?.terminal);
  let code: number;
  try {
    try {
      await startContainer(ctx, id);
    } catch (e) {
      if (!bool(p, 'keep')) await deleteContainer(ctx, id, true);
      throw e;
    }
    mark('run: started');
    const m = await created.channel.next();
    code = m.kind === 'exit' ? m.code : 255;
    mark('run: exit status received');
  } finally {
    stopForwarding();
  }
  if (!bool(p, 'keep')) await deleteContainer(ctx, id, true);
  mark('run: deleted');
  return code;
}

export async function cmdKill(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { all: { kind: 'bool', alias: ['a'] } });
  if (p.positional.length < 1 || p.positional.length > 2) throw new RuntimeError('kill: usage: berth-runtime kill [--all] <container-id> [signal]');
  await killContainer(ctx, p.positional[0], parseSignal(p.positional[1]), bool(p, 'all'));
  return 0;
}

export async function cmdDelete(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { force: { kind: 'bool', alias: ['f'] } });
  await deleteContainer(ctx, oneId(p, 'delete'), bool(p, 'force'));
  return 0;
}
