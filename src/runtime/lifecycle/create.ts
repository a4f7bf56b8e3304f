// create: claim the id, make the cgroup, run the stage with the plan, answer its
// hook requests, and record the container; any failure undoes every step.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { StageChannel, type StageLauncher } from '../../kernel/stage';
import { mark } from '../../kernel/trace';
import { stageCgroupProcs } from './stage-cgroup';
import { processStartTime } from '../../kernel/proc';
import { createCgroupManager, detectLayout, resolveCgroupPath, CgroupManager, CgroupError } from '../cgroups';
import { checkResources } from '../cgroups/check';
import { checkSubordinateRanges } from '../userns/subid';
import { RuntimeError, errnoCode } from '../errors';
import { runHooks, runHooksWarn } from '../hooks/run-hooks';
import { buildCreatePlan } from '../plan/build-create';
import { cgroupJoinRecords } from '../plan/cgroup-join';
import type { LaunchPlan } from '../plan/plan';
import { encodePlan } from '../plan/encode';
import { seccompCacheDir } from '../plan/seccomp';
import { parseSpec, SpecError } from '../spec/validate';
import type { LinuxDevice, LinuxResources, Spec } from '../spec/types';
import { ContainerState, validateId } from '../state/store';
import { writeFileAtomic } from '../../kernel/atomic-file';
import type { RuntimeContext } from './context';
import { ociState, waitGone } from './status';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  /** run without --detach: the stage parent stays and reports the exit status. */
  foreground?: boolean;
  /** The engine's monitor, which runs the stage and stays as the container's parent. */
  launcher?: StageLauncher;
  /** The container's stdio (default: berth-runtime's own). */
  stdio?: StdioOptions;
}

export interface Created {
  state: ContainerState;
  channel: StageChannel;
}

export function loadBundleSpec(bundle: string): Spec {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      const why = fs.existsSync(bundle) ? `${file} does not exist` : `bundle ${bundle} does not exist`;
      throw new RuntimeError(`${why} (create one with \`berth-runtime spec\`)`);
    }
    throw new RuntimeError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return parseSpec(text, file, { requireProcess: true });
  } catch (e) {
    if (e instanceof SpecError) throw new RuntimeError(e.message);
    throw e;
  }
}

/**
 * Root may map any ids. When the engine runs a container for a remap user (userns-remap),
 * it says so with this annotation, and the mappings must lie in that user's /etc/subuid and
 * /etc/subgid ranges: checked before anything is created.
 */
export const REMAP_USER_ANNOTATION = 'org.berth.userns.remap-user';

function checkRemapUser(spec: Spec): void {
  const user = spec.annotations?.[REMAP_USER_ANNOTATION];
  if (user === undefined) return;
  try {
    checkSubordinateRanges(user, spec.linux?.uidMappings, spec.linux?.gidMappings, {
      subuid: process.env.BERTH_SUBUID_FILE, subgid: process.env.BERTH_SUBGID_FILE,
    });
  } catch (e) {
    throw new RuntimeError(`config.json: linux: ${(e as Error).message}`);
  }
}

/** The devices a spec creates must also be allowed by the device cgroup (runc adds these rules). */
export function withSpecDevices(resources: LinuxResources, devices: LinuxDevice[]): LinuxResources {
  if (!devices.length) return resources;
  const rules = devices
    .filter((d) => d.type !== 'p')
    .map((d) => ({ allow: true, type: (d.type === 'u' ? 'c' : d.type) as 'c' | 'b', major: d.major, minor: d.minor, access: 'rwm' }));
  return { ...resources, devices: [...(resources.devices ?? []), ...rules] };
}

/** Turns a stage error line into a message naming the step, with runc's exit codes. */
export function stageError(plan: LaunchPlan, m: { op: number; errno: number; message: string }): RuntimeError {
  const step = plan.describe(m.op);
  // 127/126 only for the command itself (the stage words those "exec: ..."), not e.g. a cwd.
  const isExec = m.op === plan.execOp && m.message.startsWith('exec: ');
  const code = isExec && m.errno === 2 ? 127 : isExec && m.errno === 13 ? 126 : 1;
  return new RuntimeError(step && !isExec ? `${step}: ${m.message}` : m.message, code);
}

export async function createContainer(ctx: RuntimeContext, opts: CreateOptions): Promise<Created> {
  mark('create: begin');
  const id = validateId(opts.id);
  const bundle = path.resolve(opts.bundle);
  const spec = loadBundleSpec(bundle);
  const proc = spec.process!;
  if (proc.terminal && !opts.consoleSocket && !opts.foreground) {
    throw new RuntimeError('cannot allocate a tty for a detached container without --console-socket');
  }
  if (!proc.terminal && opts.consoleSocket) {
    throw new RuntimeError('--console-socket was given but config.json has process.terminal false');
  }
  const rootfs = path.resolve(bundle, spec.root?.path ?? 'rootfs');
  if (!fs.statSync(rootfs, { throwIfNoEntry: false })?.isDirectory()) {
    throw new RuntimeError(`config.json: root.path: rootfs ${rootfs} does not exist or is not a directory`);
  }
  mark('create: spec parsed');
  const layout = detectLayout();
  let cgPath: string;
  try {
    cgPath = resolveCgroupPath(spec.linux?.cgroupsPath, id);
  } catch (e) {
    throw new RuntimeError(`config.json: linux.${(e as Error).message}`);
  }

  checkRemapUser(spec);
  // Impossible limits fail here, before anything is created.
  const resources = withSpecDevices(spec.linux?.resources ?? {}, spec.linux?.devices ?? []);
  try {
    checkResources(resources, layout);
  } catch (e) {
    if (e instanceof CgroupError) throw new RuntimeError(`config.json: ${e.message}`);
    throw e;
  }

  const { store } = ctx;
  store.claim(id);
  let cg: CgroupManager | undefined;
  let channel: StageChannel | undefined;
  let pid = 0;
  let hookFailed = false;
  const created = new Date().toISOString();
  const makeState = (initPid: number): ContainerState => ({
    ociVersion: spec.ociVersion, id, pid: initPid, pidStartTime: initPid ? processStartTime(initPid) : undefined, bundle, rootfs,
    created, owner: '', annotations: spec.annotations, cgroup: cg!.save(), config: spec,
  });
  const stateFor = (status: string) => ({ ociVersion: spec.ociVersion, id, pid, status, bundle, annotations: spec.annotations ?? {} });
  try {
    cg = createCgroupManager(layout, cgPath, undefined, { warn: ctx.warn });
    try {
      cg.create();
    } catch (e) {
      throw new RuntimeError(`creating cgroup ${cgPath}: ${(e as Error).message}`);
    }
    // From here a killed create leaves processes and a cgroup: record them first, so
    // `delete` can undo a create that died half-way (pid 0 reads as stopped).
    store.write(makeState(0));
    // The stage joins the cgroups without a whole-process move (cgroupJoinRecords: no wait for
    // an RCU grace period) while the limits are applied and the rest of the plan is computed;
    // it runs nothing of the container's before that rest arrives.
    channel = StageChannel.start(encodePlan([...cgroupJoinRecords(cg.dirs), ['more']]), opts.stdio ?? 'inherit', opts.launcher);
    try {
      await cg.apply(resources);
    } catch (e) {
      throw new RuntimeError(e instanceof CgroupError ? `config.json: ${e.message}` : `applying resource limits to cgroup ${cgPath}: ${(e as Error).message}`);
    }
    mark('create: cgroups made');
    const newCgroupNs = !!spec.linux?.namespaces?.some((n) => n.type === 'cgroup' && !n.path);
    const { plan, unavailableCaps } = buildCreatePlan({
      spec, bundle, rootfs,
      fifo: store.fifo(id),
      statusFile: store.statusFile(id),
      seccompCacheDir: seccompCacheDir(store.root),
      id,
      stateDir: store.dir(id),
      warn: ctx.warn,
      cgroupProcs: [],
      cgroup: { layout, dirs: cg.dirs, newCgroupNs },
      consoleSocket: opts.consoleSocket,
      foreground: !!opts.foreground,
      noPivot: !!opts.noPivot,
    });
    if (unavailableCaps.length) ctx.warn(`berth-runtime does not hold ${unavailableCaps.join(', ')}; the container will run without them`);
    if (opts.foreground) for (const f of stageCgroupProcs()) plan.header.push(['leavecgroup', f]);
    const encoded = plan.encode();
    mark('create: plan built');
    if (process.env.BERTH_DEBUG_PLAN) process.stderr.write(plan.dump() + '\n');
    channel.sendRest(encoded);
    for (;;) {
      const m = await channel.next();
      mark(`create: stage says ${m.kind}`);
      if (m.kind === 'pid') {
        pid = m.pid;
      } else if (m.kind === 'hooks') {
        try {
          await runHooks('prestart', spec.hooks?.prestart, stateFor('creating'));
          await runHooks('createRuntime', spec.hooks?.createRuntime, stateFor('creating'));
        } catch (e) {
          hookFailed = true;
          channel.send('fail\n');
          throw e;
        }
        const json = JSON.stringify(stateFor('creating'));
        channel.send(`ok ${Buffer.byteLength(json)}\n${json}`);
      } else if (m.kind === 'created') {
        break;
      } else if (m.kind === 'error') {
        hookFailed = plan.describe(m.op)?.includes(' hook') ?? false;
        throw stageError(plan, m);
      } else {
        throw new RuntimeError(`the container init exited before it was created (stage ${m.kind === 'exit' ? `exit status ${m.code}` : 'closed'})`);
      }
    }
    const state = makeState(pid);
    store.write(state);
    if (opts.pidFile) writeFileAtomic(path.resolve(opts.pidFile), String(pid), { mode: 0o644 });
    mark('create: state written');
    return { state, channel };
  } catch (e) {
    channel?.release();
    await rollback(ctx, id, pid, cg);
    if (hookFailed) await runHooksWarn('poststop', spec.hooks?.poststop, stateFor('stopped'), ctx.warn);
    throw e;
  }
}

async function rollback(ctx: RuntimeContext, id: string, pid: number, cg: CgroupManager | undefined): Promise<void> {
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await waitGone(pid, undefined, 5000);
  }
  if (cg) {
    try {
      await cg.killAll('SIGKILL');
      await cg.destroy();
    } catch (e) {
      ctx.warn(`cleaning up cgroup ${cg.path}: ${(e as Error).message}`);
    }
  }
  ctx.store.remove(id);
}

export { ociState };
