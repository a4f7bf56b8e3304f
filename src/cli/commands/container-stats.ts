/**
 * `stats`, `top`, `port`, `update`: the container commands that read or change a running
 * container's resources, rendered as docker's CLI renders them.
 *
 *   stats    GET /containers/{id}/stats, computed as docker/cli stats_helpers.go does (CPU delta
 *            over system delta × online CPUs, memory without inactive_file, block I/O by op)
 *   top      GET /containers/{id}/top?ps_args=..., a tabwriter(20, 1, 3) table
 *   port     the published ports from inspect
 *   update   POST /containers/{id}/update with docker's UpdateConfig
 */
import type { CommandSpec, Ctx } from '../command';
import { StatusError, invalidFlag } from '../command';
import type { ParsedFlags } from '../flags';
import { FlagError, ramInBytes } from '../flags';
import { formatRows, GO_TYPE, GO_JSON, marshalFields, FormatError } from '../template';
import { bytesSize, humanSizeWithPrecision, truncateID } from '../format/units';
import { TabWriter } from '../format/tabwriter';
import { FORMAT_HELP } from './common';

const enc = encodeURIComponent;

// ---- stats -----------------------------------------------------------------

interface StatsJSON {
  name?: string;
  id?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> | null };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }> | null;
}

export interface StatsEntry {
  Container: string;
  Name: string;
  ID: string;
  CPUPercentage: number;
  Memory: number;
  MemoryLimit: number;
  MemoryPercentage: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
  PidsCurrent: number;
  IsInvalid: boolean;
}

function emptyEntry(container: string): StatsEntry {
  return { Container: container, Name: '', ID: '', CPUPercentage: 0, Memory: 0, MemoryLimit: 0, MemoryPercentage: 0, NetworkRx: 0, NetworkTx: 0, BlockRead: 0, BlockWrite: 0, PidsCurrent: 0, IsInvalid: false };
}

/** docker/cli stats_helpers.go: one decoded stats object → the displayed entry. */
export function computeStats(container: string, v: StatsJSON): StatsEntry {
  const cpu = v.cpu_stats ?? {};
  const pre = v.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  let online = cpu.online_cpus ?? 0;
  if (online === 0) online = (cpu.cpu_usage?.percpu_usage ?? []).length;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
  let blkRead = 0;
  let blkWrite = 0;
  for (const e of v.blkio_stats?.io_service_bytes_recursive ?? []) {
    const c = (e.op ?? '')[0];
    if (c === 'r' || c === 'R') blkRead += e.value ?? 0;
    else if (c === 'w' || c === 'W') blkWrite += e.value ?? 0;
  }
  const m = v.memory_stats ?? {};
  const usage = m.usage ?? 0;
  const st = m.stats ?? {};
  let mem = usage;
  if ('total_inactive_file' in st && st.total_inactive_file! < usage) mem = usage - st.total_inactive_file!;
  else if ((st.inactive_file ?? 0) < usage) mem = usage - (st.inactive_file ?? 0);
  const limit = m.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(v.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return {
    Container: container,
    Name: v.name ?? '',
    ID: v.id ?? '',
    CPUPercentage: cpuPercent,
    Memory: mem,
    MemoryLimit: limit,
    MemoryPercentage: limit !== 0 ? (mem / limit) * 100 : 0,
    NetworkRx: rx,
    NetworkTx: tx,
    BlockRead: blkRead,
    BlockWrite: blkWrite,
    PidsCurrent: v.pids_stats?.current ?? 0,
    IsInvalid: false,
  };
}

export const STATS_HEADER: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const STATS_FIELDS = ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs'];
const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

const pct = (n: number) => `${n.toFixed(2)}%`;

export class StatsRow {
  readonly [GO_TYPE] = '*container.statsContext';
  constructor(
    private readonly s: StatsEntry,
    private readonly trunc: boolean,
  ) {}
  get Container(): string {
    return this.s.Container;
  }
  get Name(): string {
    return this.s.Name.length > 1 ? this.s.Name.slice(1) : '--';
  }
  get ID(): string {
    return this.trunc ? truncateID(this.s.ID) : this.s.ID;
  }
  get CPUPerc(): string {
    return this.s.IsInvalid ? '--' : pct(this.s.CPUPercentage);
  }
  get MemUsage(): string {
    return this.s.IsInvalid ? '-- / --' : `${bytesSize(this.s.Memory)} / ${bytesSize(this.s.MemoryLimit)}`;
  }
  get MemPerc(): string {
    return this.s.IsInvalid ? '--' : pct(this.s.MemoryPercentage);
  }
  get NetIO(): string {
    return this.s.IsInvalid ? '--' : `${humanSizeWithPrecision(this.s.NetworkRx, 3)} / ${humanSizeWithPrecision(this.s.NetworkTx, 3)}`;
  }
  get BlockIO(): string {
    return this.s.IsInvalid ? '--' : `${humanSizeWithPrecision(this.s.BlockRead, 3)} / ${humanSizeWithPrecision(this.s.BlockWrite, 3)}`;
  }
  get PIDs(): string {
    return this.s.IsInvalid ? '--' : String(this.s.PidsCurrent);
  }
  [GO_JSON](): string {
    return marshalFields(this as unknown as Record<string, unknown>, STATS_FIELDS);
  }
}

/** Split a stream of concatenated JSON objects (the stats stream) into objects. */
async function* jsonObjects(body: AsyncIterable<Buffer | string>): AsyncGenerator<StatsJSON> {
  let buf = '';
  for await (const c of body) {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as StatsJSON;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as StatsJSON;
}

export const stats = (path = 'stats'): CommandSpec => ({
  path,
  usage: '[OPTIONS] [CONTAINER...]',
  short: "Display a live stream of container(s) resource usage statistics",
  aliases: 'berth container stats, berth stats',
  args: { min: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'no-stream', kind: 'bool', usage: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate output' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const client = ctx.client();
    const noStream = f.values['no-stream'] as boolean;
    const trunc = !f.values['no-trunc'];
    let format = f.values.format as string;
    if (format === '' || format === 'table') format = STATS_TABLE;
    let names = f.args;
    const showAll = names.length === 0;
    if (showAll) {
      const list = await client.json<Array<{ Id: string }>>('GET', '/containers/json', { query: { all: f.values.all ? true : undefined } });
      names = (list ?? []).map((c) => c.Id);
    }
    const entries = names.map(emptyEntry);
    const errors: Array<string | undefined> = names.map(() => undefined);
    const streams: Array<{ destroy(): void }> = [];
    const collect = (i: number, stream: boolean): Promise<void> =>
      (async () => {
        const res = await client.call('GET', `/containers/${enc(names[i]!)}/stats`, { query: { stream } });
        streams.push(res.body);
        let first = true;
        for await (const v of jsonObjects(res.body)) {
          entries[i] = computeStats(names[i]!, v);
          if (first && !stream) break;
          first = false;
        }
      })().catch((e) => {
        errors[i] = (e as Error).message;
        entries[i] = { ...entries[i]!, IsInvalid: true };
      });
    const render = (): string => {
      try {
        return formatRows(format, entries.map((e) => new StatsRow(e, trunc)), STATS_HEADER);
      } catch (e) {
        if (e instanceof FormatError) throw new StatusError(e.message, 1);
        throw e;
      }
    };
    if (noStream) {
      await Promise.all(names.map((_, i) => collect(i, false)));
      const errs = errors.filter((e): e is string => e !== undefined);
      if (!showAll && errs.length > 0) throw new StatusError(errs.join('\n'), 1);
      ctx.out(render());
      return 0;
    }
    const waits = names.map((_, i) => collect(i, true));
    const tty = Boolean(ctx.stdout.isTTY);
    await new Promise<void>((resolve) => {
      const tick = () => {
        let text = render();
        if (tty) text = '\x1b[2J\x1b[H' + text;
        ctx.out(text);
      };
      const timer = setInterval(tick, 1000);
      const stop = () => {
        clearInterval(timer);
        for (const s of streams) s.destroy();
        resolve();
      };
      process.once('SIGINT', stop);
      void Promise.all(waits).then(() => {
        if (!showAll && errors.every((e) => e !== undefined)) stop();
      });
    });
    const errs = errors.filter((e): e is string => e !== undefined);
    if (!showAll && errs.length > 0) throw new StatusError(errs.join('\n'), 1);
    return 0;
  },
});

// ---- top -------------------------------------------------------------------

export const top = (path = 'top'): CommandSpec => ({
  path,
  usage: 'CONTAINER [ps OPTIONS]',
  short: 'Display the running processes of a container',
  aliases: 'berth container top, berth top',
  args: { min: 1 },
  interspersed: false,
  flags: [],
  async run(ctx, f) {
    const [name, ...psArgs] = f.args;
    const r = await ctx.client().json<{ Titles: string[] | null; Processes: string[][] | null }>('GET', `/containers/${enc(name!)}/top`, {
      query: { ps_args: psArgs.length > 0 ? psArgs.join(' ') : undefined },
    });
    const tw = new TabWriter(20, 3);
    let s = (r.Titles ?? []).join('\t') + '\n';
    for (const p of r.Processes ?? []) s += p.join('\t') + '\n';
    tw.write(s);
    ctx.out(tw.flush());
  },
});

// ---- port ------------------------------------------------------------------

/** Go's net.JoinHostPort. */
function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** sort.Slice with docker's natural ordering of "port/proto -> ..." lines (by port number, then text). */
function portSort(a: string, b: string): number {
  const na = Number.parseInt(a, 10);
  const nb = Number.parseInt(b, 10);
  if (!Number.isNaN(na) && !Number.isNaN(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const port = (path = 'port'): CommandSpec => ({
  path,
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  short: 'List port mappings or a specific mapping for the container',
  aliases: 'berth container port, berth port',
  args: { range: [1, 2] },
  flags: [],
  async run(ctx, f) {
    const [name, spec] = f.args as [string, string | undefined];
    const c = await ctx.client().json<{ NetworkSettings?: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null } }>(
      'GET',
      `/containers/${enc(name)}/json`,
    );
    const ports = c.NetworkSettings?.Ports ?? {};
    const out: string[] = [];
    if (spec !== undefined) {
      const slash = spec.indexOf('/');
      const p = slash < 0 ? spec : spec.slice(0, slash);
      const proto = (slash < 0 ? '' : spec.slice(slash + 1)) || 'tcp';
      if (!/^\d+$/.test(p) || Number(p) > 65535) {
        const why = /^\d+$/.test(p) ? 'value out of range' : 'invalid syntax';
        throw new StatusError(`Error: invalid port (${p}): strconv.ParseUint: parsing ${JSON.stringify(p)}: ${why}`, 1);
      }
      const fronts = ports[`${p}/${proto}`];
      if (!fronts) throw new StatusError(`Error: No public port '${spec}' published for ${name}`, 1);
      for (const fe of fronts) out.push(joinHostPort(fe.HostIp, fe.HostPort));
    } else {
      for (const [from, fronts] of Object.entries(ports)) {
        for (const fe of fronts ?? []) out.push(`${from} -> ${joinHostPort(fe.HostIp, fe.HostPort)}`);
      }
    }
    if (out.length > 0) ctx.out(out.sort(portSort).join('\n') + '\n');
  },
});

// ---- update ----------------------------------------------------------------

/** docker's opts.NanoCPUs: a decimal number of CPUs → nano CPUs (must be exact). */
function nanoCPUs(v: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(v)) throw invalidFlag({ name: 'cpus' }, v, `failed to parse ${v} as a rational number`);
  const [ip, fp = ''] = v.replace(/^[+]/, '').split('.') as [string, string?];
  if (fp.replace(/0+$/, '').length > 9) throw invalidFlag({ name: 'cpus' }, v, 'value is too precise');
  const neg = ip.startsWith('-');
  const n = Number(ip.replace('-', '') || '0') * 1e9 + Number((fp + '000000000').slice(0, 9));
  return neg ? -n : n;
}

/** docker's opts.ParseRestartPolicy. */
function restartPolicy(s: string): { Name: string; MaximumRetryCount: number } {
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  let count = 0;
  if (colon >= 0) {
    const c = s.slice(colon + 1);
    if (!/^[+-]?\d+$/.test(c)) throw new StatusError('invalid restart policy format: maximum retry count must be an integer', 1);
    count = Number.parseInt(c, 10);
  }
  return { Name: name, MaximumRetryCount: count };
}

export const update = (path = 'update'): CommandSpec => ({
  path,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Update configuration of one or more containers',
  aliases: 'berth container update, berth update',
  args: { min: 1 },
  flags: [
    { name: 'blkio-weight', kind: 'int', typeName: 'uint16', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', showDefault: '0' },
    { name: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-rt-period', kind: 'int', usage: 'Limit the CPU real-time period in microseconds' },
    { name: 'cpu-rt-runtime', kind: 'int', usage: 'Limit the CPU real-time runtime in microseconds' },
    { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
    { name: 'cpus', kind: 'string', typeName: 'decimal', usage: 'Number of CPUs' },
    { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'kernel-memory', kind: 'bytes', usage: 'Kernel memory limit (deprecated)', hidden: true },
    { name: 'memory', short: 'm', kind: 'bytes', usage: 'Memory limit' },
    { name: 'memory-reservation', kind: 'bytes', usage: 'Memory soft limit' },
    { name: 'memory-swap', kind: 'string', typeName: 'bytes', usage: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
    { name: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'restart', kind: 'string', usage: 'Restart policy to apply when a container exits' },
  ],
  async run(ctx, f) {
    if (f.changed.size === 0) throw new StatusError('you must provide one or more flags when using this command', 1);
    const v = f.values;
    let swap = 0;
    const swapRaw = v['memory-swap'] as string;
    if (f.changed.has('memory-swap')) {
      if (swapRaw === '-1') swap = -1;
      else {
        try {
          swap = ramInBytes(swapRaw);
        } catch (e) {
          throw invalidFlag({ name: 'memory-swap' }, swapRaw, (e as Error).message);
        }
      }
    }
    const bw = v['blkio-weight'] as number;
    if (bw < 0 || bw > 65535) throw new FlagError(`invalid argument "${bw}" for "--blkio-weight" flag: strconv.ParseUint: parsing "${bw}": value out of range`);
    const cpus = f.changed.has('cpus') ? nanoCPUs(v.cpus as string) : 0;
    const restart = (v.restart as string) !== '' ? restartPolicy(v.restart as string) : { Name: '', MaximumRetryCount: 0 };
    const resources: Record<string, unknown> = {
      CpuShares: v['cpu-shares'],
      Memory: v.memory,
      NanoCpus: cpus,
      CgroupParent: '',
      BlkioWeight: bw,
      BlkioWeightDevice: null,
      BlkioDeviceReadBps: null,
      BlkioDeviceWriteBps: null,
      BlkioDeviceReadIOps: null,
      BlkioDeviceWriteIOps: null,
      CpuPeriod: v['cpu-period'],
      CpuQuota: v['cpu-quota'],
      CpuRealtimePeriod: v['cpu-rt-period'],
      CpuRealtimeRuntime: v['cpu-rt-runtime'],
      CpusetCpus: v['cpuset-cpus'],
      CpusetMems: v['cpuset-mems'],
      Devices: null,
      DeviceCgroupRules: null,
      DeviceRequests: null,
      KernelMemory: v['kernel-memory'],
      MemoryReservation: v['memory-reservation'],
      MemorySwap: swap,
      MemorySwappiness: null,
      OomKillDisable: null,
      PidsLimit: f.changed.has('pids-limit') && v['pids-limit'] !== 0 ? v['pids-limit'] : null,
      Ulimits: null,
    };
    const errs: string[] = [];
    const warns: string[] = [];
    for (const name of f.args) {
      try {
        const r = await ctx.client().json<{ Warnings?: string[] | null }>('POST', `/containers/${enc(name)}/update`, { body: { ...resources, RestartPolicy: restart } });
        ctx.out(name + '\n');
        warns.push(...(r?.Warnings ?? []));
      } catch (e) {
        errs.push((e as Error).message);
      }
    }
    if (warns.length > 0) ctx.out(warns.join('\n') + '\n');
    if (errs.length > 0) throw new StatusError(errs.join('\n'), 1);
  },
});
