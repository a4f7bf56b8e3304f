/**
 * `berth ps` / `berth container ls`: GET /containers/json rendered by docker's container
 * formatter (formatter/container.go), default table
 *
 *   CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES
 *
 * COMMAND is quoted and cut to 20 characters with "…" unless --no-trunc.
 */
import type { CommandSpec, Ctx } from '../command';
import { invalidFlag } from '../command';
import type { ParsedFlags } from '../flags';
import { encodeFilters } from '../errors';
import { formatRows, GO_TYPE, GO_JSON, marshalFields } from '../template';
import { ellipsis, goTimeString, humanDuration, humanSizeWithPrecision, truncateID } from '../format/units';
import { FORMAT_HELP } from './common';

export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports?: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> | null;
  Labels?: Record<string, string> | null;
  State: string;
  Status: string;
  SizeRw?: number;
  SizeRootFs?: number;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }> | null;
}

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const CONTAINER_HEADER: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Label: 'LABEL',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

const FIELDS = ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status'];

/** docker's DisplayablePorts, without range grouping. */
function displayPorts(ports: NonNullable<ContainerSummary['Ports']>): string {
  const out: string[] = [];
  for (const p of [...ports].sort((a, b) => a.PrivatePort - b.PrivatePort)) {
    if (p.PublicPort) out.push(`${p.IP ? (p.IP.includes(':') ? `[${p.IP}]` : p.IP) + ':' : ''}${p.PublicPort}->${p.PrivatePort}/${p.Type}`);
    else out.push(`${p.PrivatePort}/${p.Type}`);
  }
  return out.join(', ');
}

export class ContainerRow {
  readonly [GO_TYPE] = '*formatter.ContainerContext';

  constructor(
    private readonly c: ContainerSummary,
    private readonly trunc: boolean,
    private readonly now = Date.now(),
  ) {}

  get ID(): string {
    return this.trunc ? truncateID(this.c.Id) : this.c.Id;
  }
  get Names(): string {
    let names = (this.c.Names ?? []).map((n) => n.replace(/^\//, ''));
    if (this.trunc) {
      const top = names.find((n) => !n.includes('/'));
      if (top !== undefined) names = [top];
    }
    return names.join(',');
  }
  get Image(): string {
    const img = this.c.Image;
    if (!img) return '<no image>';
    if (this.trunc) {
      const t = truncateID(this.c.ImageID);
      if (t === truncateID(img)) return t;
      try {
        const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
        const ref = parseNormalizedNamed(img);
        const trimmed = ref.trimNamed();
        return (ref.tag !== undefined ? trimmed.withTag(ref.tag) : trimmed).familiarString();
      } catch {
        /* keep as is */
      }
    }
    return img;
  }
  get Command(): string {
    const cmd = this.trunc ? ellipsis(this.c.Command, 20) : this.c.Command;
    return JSON.stringify(cmd);
  }
  get CreatedAt(): string {
    return goTimeString(this.c.Created);
  }
  get RunningFor(): string {
    return humanDuration(this.now - this.c.Created * 1000) + ' ago';
  }
  get Ports(): string {
    return displayPorts(this.c.Ports ?? []);
  }
  get State(): string {
    return this.c.State;
  }
  get Status(): string {
    return this.c.Status;
  }
  get Size(): string {
    const srw = humanSizeWithPrecision(this.c.SizeRw ?? 0, 3);
    const rootfs = this.c.SizeRootFs ?? 0;
    return rootfs > 0 ? `${srw} (virtual ${humanSizeWithPrecision(rootfs, 3)})` : srw;
  }
  get Labels(): string {
    const l = this.c.Labels ?? {};
    return Object.keys(l)
      .map((k) => `${k}=${l[k]}`)
      .join(',');
  }
  get Label(): (name: string) => string {
    return (name: string) => (this.c.Labels ?? {})[name] ?? '';
  }
  get Mounts(): string {
    return (this.c.Mounts ?? [])
      .map((m) => {
        const n = m.Name || m.Source || '';
        return this.trunc ? ellipsis(n, 15) : n;
      })
      .join(',');
  }
  get LocalVolumes(): string {
    return String((this.c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
  }
  get Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(',');
  }
  get Platform(): null {
    return null;
  }
  [GO_JSON](): string {
    return marshalFields(this as unknown as Record<string, unknown>, FIELDS);
  }
}

function psSpec(path: string, aliases: string): CommandSpec {
  return {
    path,
    usage: '[OPTIONS]',
    short: 'List containers',
    aliases,
    args: { none: true },
    flags: [
      { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
      { name: 'filter', short: 'f', kind: 'list', typeName: 'filter', usage: 'Filter output based on conditions provided' },
      { name: 'format', kind: 'string', usage: FORMAT_HELP },
      { name: 'last', short: 'n', kind: 'int', usage: 'Show n last created containers (includes all states)', default: -1 },
      { name: 'latest', short: 'l', kind: 'bool', usage: 'Show the latest created container (includes all states)' },
      { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display container IDs' },
      { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
    ],
    async run(ctx: Ctx, f: ParsedFlags) {
      const filterValues = f.values.filter as string[];
      let filters: string | undefined;
      try {
        filters = encodeFilters(filterValues);
      } catch (e) {
        const bad = filterValues.find((v) => !v.includes('=')) ?? '';
        throw invalidFlag({ name: 'filter', short: 'f' }, bad, (e as Error).message);
      }
      const quiet = f.values.quiet as boolean;
      let format = f.values.format as string;
      if (format !== '' && quiet) {
        ctx.err('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
        format = '';
      }
      let last = f.values.last as number;
      if (f.values.latest && last === -1) last = 1;
      let size = f.values.size as boolean;
      if (!quiet && !size && format.includes('{{.Size}}')) size = true;
      const list = await ctx.client().json<ContainerSummary[]>('GET', '/containers/json', {
        query: { all: f.values.all || last > 0 ? true : undefined, limit: last > 0 ? last : undefined, size: size ? true : undefined, filters },
      });
      if (format === '' || format === 'table') format = quiet ? '{{.ID}}' : DEFAULT_TABLE + (size ? '\t{{.Size}}' : '');
      else if (format === 'raw') format = quiet ? 'container_id: {{.ID}}' : 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';
      const trunc = !f.values['no-trunc'];
      const now = Date.now();
      ctx.out(formatRows(format, (list ?? []).map((c) => new ContainerRow(c, trunc, now)), CONTAINER_HEADER));
    },
  };
}

export const ps = (): CommandSpec => psSpec('ps', 'berth container ls, berth container list, berth container ps, berth ps');
export const containerLs = (): CommandSpec => psSpec('container ls', 'berth container ls, berth container list, berth container ps, berth ps');
