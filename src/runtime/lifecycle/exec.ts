// exec: run another process inside a running container, joining its init's
// namespaces and cgroup; foreground exits with the process's status.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { StageChannel, type StageLauncher } from '../../kernel/stage';
import { loadCgroupManager } from '../cgroups';
import { RuntimeError, errnoCode } from '../errors';
import { buildExecPlan } from '../plan/build-exec';
import { cgroupJoinRecords } from '../plan/cgroup-join';
import { encodePlan } from '../plan/encode';
import { parseJson } from '../spec/json';
import type { Process } from '../spec/types';
import { SpecError, validateProcess } from '../spec/validate';
import { writeFileAtomic } from '../../kernel/atomic-file';
import type { RuntimeContext } from './context';
import { stageError } from './create';
import { statusOf } from './status';
import { stageCgroupProcs } from './stage-cgroup';
import { seccompCacheDir } from '../plan/seccomp';
import { mark } from '../../kernel/trace';

export interface ExecOptions {
  id: string;
  processFile?: string;
  args: string[];
  tty: boolean;
  detach: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  /** The engine's monitor, which runs the stage and stays as the process's parent (with detach). */
  launcher?: StageLauncher;
  /** The process's stdio (default: berth-runtime's own). */
  stdio?: StdioOptions;
  /** The terminal's size, set on the pty before the process runs (the engine's exec -t). */
  consoleSize?: { height: number; width: number };
}

function validProcess(raw: unknown, file: string): Process {
  try {
    return validateProcess(raw, file);
  } catch (e) {
    if (e instanceof SpecError) throw new RuntimeError(e.message);
    throw e;
  }
}

function readProcessFile(file: string): Process {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RuntimeError(`cannot read process file ${file}: ${errnoCode(e) === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (e) {
    throw new RuntimeError(`${file}: ${(e as Error).message}`);
  }
  return validProcess(raw, file);
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) out.set(e.split('=')[0], e);
  return [...out.values()];
}

export function execProcess(template: Process | undefined, o: ExecOptions): Process {
  if (o.processFile) return readProcessFile(path.resolve(o.processFile));
  if (!o.args.length) throw new RuntimeError('exec: no command given (usage: berth-runtime exec [options] <container-id> <command> [args...])');
  const p: Process = JSON.parse(JSON.stringify(template ?? { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'] }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  // Rlimits may hold uint64 values JSON.parse would round: keep the template's own.
  p.rlimits = template?.rlimits;
  p.args = o.args;
  p.terminal = o.tty;
  delete p.consoleSize;
  if (o.tty && o.consoleSize) p.consoleSize = o.consoleSize;
  p.env = mergeEnv(p.env ?? [], o.env);
  if (o.cwd) p.cwd = o.cwd;
  if (o.user) {
    const m = o.user.match(/^(\d+)(?::(\d+))?$/);
    if (!m) throw new RuntimeError(`exec: --user ${JSON.stringify(o.user)}: expected uid[:gid] (numbers)`);
    p.user = { ...p.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : p.user.gid };
  }
  if (o.additionalGids.length) p.user = { ...p.user, additionalGids: o.additionalGids };
  if (o.caps.length) {
    const c = (p.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) c[set] = [...new Set([...(c[set] ?? []), ...o.caps])];
  }
  if (o.noNewPrivs) p.noNewPrivileges = true;
  return validProcess(p, 'exec options');
}

/** Returns the process's exit status (0 once started, with --detach). */
export async function execInContainer(ctx: RuntimeContext, o: ExecOptions, onPid?: (pid: number) => void): Promise<number> {
  mark('exec: begin');
  const state = ctx.store.read(o.id);
  const status = statusOf(ctx.store, state);
  if (status === 'stopped') throw new RuntimeError(`cannot exec in container ${o.id}: it is stopped`);
  if (status === 'paused') throw new RuntimeError(`cannot exec in container ${o.id}: it is paused (resume it first)`);
  const cg = loadCgroupManager(state.cgroup);
  // The stage starts and joins the cgroups (~3 ms) while the process and the rest of the plan
  // are computed; bad options then only cost it its life.
  const channel = StageChannel.start(encodePlan([...cgroupJoinRecords(cg.dirs), ['more']]), o.stdio ?? 'inherit', o.launcher);
  mark('exec: stage started');
  let plan: ReturnType<typeof buildExecPlan>['plan'];
  try {
    const proc = execProcess(state.config.process, o);
    if (proc.terminal && o.detach && !o.consoleSocket) throw new RuntimeError('cannot allocate a tty for a detached exec without --console-socket');
    let unavailableCaps: string[];
    ({ plan, unavailableCaps } = buildExecPlan({
      spec: state.config, initPid: state.pid, process: proc, cgroupProcs: [], consoleSocket: o.consoleSocket, detach: o.detach,
      seccompCacheDir: seccompCacheDir(ctx.store.root), id: o.id, bundle: state.bundle,
    }));
    if (unavailableCaps.length) ctx.warn(`berth-runtime does not hold ${unavailableCaps.join(', ')}; the process will run without them`);
    if (!o.detach) for (const f of stageCgroupProcs()) plan.header.push(['leavecgroup', f]);
  } catch (e) {
    channel.release(); // the stage reads the plan's end and leaves, running nothing
    throw e;
  }
  channel.sendRest(plan.encode());
  mark('exec: plan sent');
  let failure: RuntimeError | undefined;
  let started = false;
  for (;;) {
    const m = await channel.next();
    mark(`exec: stage says ${m.kind}`);
    if (m.kind === 'pid') {
      started = true;
      if (o.pidFile) writeFileAtomic(path.resolve(o.pidFile), String(m.pid), { mode: 0o644 });
      onPid?.(m.pid);
    } else if (m.kind === 'error') {
      failure ??= stageError(plan, m);
      if (o.detach || m.op < 0) break;
    } else if (m.kind === 'exit') {
      if (failure) throw failure;
      return m.code;
    } else if (m.kind === 'eof') {
      if (failure) throw failure;
      if (o.detach && started) return 0;
      throw new RuntimeError(`exec in container ${o.id} failed: the stage exited without a status`);
    }
  }
  channel.release();
  throw failure;
}
