// exec: flags up to the container id, the command after it.
import { bool, multi, parseArgs, str } from '../args';
import { RuntimeError } from '../../errors';
import type { RuntimeContext } from '../../lifecycle/context';
import { execInContainer } from '../../lifecycle/exec';
import { forwardSignals } from './forward-signals';

export async function cmdExec(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, {
    process: { kind: 'string', alias: ['p'] },
    tty: { kind: 'bool', alias: ['t'] },
    detach: { kind: 'bool', alias: ['d'] },
    cwd: { kind: 'string' },
    env: { kind: 'multi', alias: ['e'] },
    user: { kind: 'string', alias: ['u'] },
    'additional-gids': { kind: 'multi', alias: ['g'] },
    cap: { kind: 'multi', alias: ['c'] },
    'no-new-privs': { kind: 'bool' },
    'pid-file': { kind: 'string' },
    'console-socket': { kind: 'string' },
    'preserve-fds': { kind: 'string' },
    'process-label': { kind: 'string' },
    apparmor: { kind: 'string' },
    cgroup: { kind: 'multi' },
    'ignore-paused': { kind: 'bool' },
  }, { stopAfterPositionals: 1 });
  const [id, ...args] = p.positional;
  if (!id) throw new RuntimeError('exec: usage: berth-runtime exec [options] <container-id> <command> [args...]');
  const gids = multi(p, 'additional-gids').map((g) => {
    if (!/^\d+$/.test(g)) throw new RuntimeError(`exec: --additional-gids ${JSON.stringify(g)}: expected a number`);
    return Number(g);
  });
  let stop = () => undefined as void;
  try {
    return await execInContainer(ctx, {
      id, args, processFile: str(p, 'process'), tty: bool(p, 'tty'), detach: bool(p, 'detach'), cwd: str(p, 'cwd'),
      env: multi(p, 'env'), user: str(p, 'user'), additionalGids: gids, caps: multi(p, 'cap'), noNewPrivs: bool(p, 'no-new-privs'),
      pidFile: str(p, 'pid-file'), consoleSocket: str(p, 'console-socket'),
    }, (pid) => {
      if (!bool(p, 'detach')) stop = forwardSignals(pid, bool(p, 'tty'));
    });
  } finally {
    stop();
  }
}
