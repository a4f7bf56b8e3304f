// pause, resume, update, events: the cgroup side of a container.
import * as fs from 'node:fs';
import { RuntimeError } from '../../errors';
import type { RuntimeContext } from '../../lifecycle/context';
import { parseInterval, streamEvents } from '../../lifecycle/events';
import { pauseContainer, resumeContainer } from '../../lifecycle/pause';
import { updateContainer } from '../../lifecycle/update';
import { parseJson } from '../../spec/json';
import type { LinuxCPU, LinuxMemory, LinuxResources } from '../../spec/types';
import { validateSpec, SpecError } from '../../spec/validate';
import { Parsed, bool, parseArgs, str, oneId } from '../args';
import { parseBytes, parseInteger } from '../units';

export async function cmdPause(ctx: RuntimeContext, argv: string[]): Promise<number> {
  await pauseContainer(ctx, oneId(parseArgs(argv, {}), 'pause'));
  return 0;
}

export async function cmdResume(ctx: RuntimeContext, argv: string[]): Promise<number> {
  await resumeContainer(ctx, oneId(parseArgs(argv, {}), 'resume'));
  return 0;
}

const UPDATE_FLAGS = {
  resources: { kind: 'string', alias: ['r'] },
  'blkio-weight': { kind: 'string' },
  'cpu-period': { kind: 'string' },
  'cpu-quota': { kind: 'string' },
  'cpu-burst': { kind: 'string' },
  'cpu-share': { kind: 'string' },
  'cpu-rt-period': { kind: 'string' },
  'cpu-rt-runtime': { kind: 'string' },
  'cpuset-cpus': { kind: 'string' },
  'cpuset-mems': { kind: 'string' },
  'cpu-idle': { kind: 'string' },
  memory: { kind: 'string' },
  'memory-reservation': { kind: 'string' },
  'memory-swap': { kind: 'string' },
  'kernel-memory': { kind: 'string' },
  'kernel-memory-tcp': { kind: 'string' },
  'pids-limit': { kind: 'string' },
  'l3-cache-schema': { kind: 'string' },
  'mem-bw-schema': { kind: 'string' },
} as const;

function readResources(file: string): LinuxResources {
  const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  try {
    // Validated as the resources of a spec, so the error names the field.
    return validateSpec({ ociVersion: '1.2.0', root: { path: '/' }, linux: { resources: parseJson(text) } }, file === '-' ? 'resources (stdin)' : file).linux!.resources!;
  } catch (e) {
    throw new RuntimeError(e instanceof SpecError ? e.message : `${file}: ${(e as Error).message}`);
  }
}

/** runc's update flags → linux.resources. */
export function resourcesFromFlags(p: Parsed): LinuxResources {
  const r: LinuxResources = {};
  const s = (n: string) => str(p, n);
  const int = (n: string) => (s(n) === undefined ? undefined : parseInteger(`--${n}`, s(n)!));
  const bytes = (n: string) => (s(n) === undefined ? undefined : parseBytes(`--${n}`, s(n)!));
  // Only the flags given: absent fields leave the container's current value alone.
  const pick = (pairs: [string, unknown][]) => {
    const o = Object.fromEntries(pairs.filter(([, v]) => v !== undefined));
    return Object.keys(o).length ? o : undefined;
  };
  const memory = pick([['limit', bytes('memory')], ['reservation', bytes('memory-reservation')], ['swap', bytes('memory-swap')]]);
  if (memory) r.memory = memory as LinuxMemory;
  const cpu = pick([
    ['period', int('cpu-period')], ['quota', int('cpu-quota')], ['burst', int('cpu-burst')], ['shares', int('cpu-share')],
    ['realtimePeriod', int('cpu-rt-period')], ['realtimeRuntime', int('cpu-rt-runtime')],
    ['cpus', s('cpuset-cpus')], ['mems', s('cpuset-mems')], ['idle', int('cpu-idle')],
  ]);
  if (cpu) r.cpu = cpu as LinuxCPU;
  if (s('pids-limit') !== undefined) r.pids = { limit: int('pids-limit')! };
  if (s('blkio-weight') !== undefined) r.blockIO = { weight: int('blkio-weight')! };
  if (s('l3-cache-schema') || s('mem-bw-schema')) throw new RuntimeError('update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by berth-runtime');
  return r;
}

export async function cmdUpdate(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, UPDATE_FLAGS);
  const id = oneId(p, 'update');
  const file = str(p, 'resources');
  const fromFlags = resourcesFromFlags(p);
  const resources = file ? { ...readResources(file), ...fromFlags } : fromFlags;
  if (!Object.keys(resources).length) throw new RuntimeError('update: nothing to update (give flags such as --memory 256m, or -r resources.json)');
  await updateContainer(ctx, id, resources);
  return 0;
}

export async function cmdEvents(ctx: RuntimeContext, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { stats: { kind: 'bool' }, interval: { kind: 'string' } });
  const id = oneId(p, 'events');
  let interval: number;
  try {
    interval = parseInterval(str(p, 'interval') ?? '5s');
  } catch (e) {
    throw new RuntimeError(`events: ${(e as Error).message}`);
  }
  await streamEvents(ctx, id, interval, (ev) => process.stdout.write(JSON.stringify(ev) + '\n'), bool(p, 'stats'));
  return 0;
}
