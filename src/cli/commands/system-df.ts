/**
 * `berth system df [-v] [--format]`: GET /system/df rendered by docker's disk-usage formatter
 * (formatter/disk_usage.go): one row per TYPE (Images, Containers, Local Volumes, Build Cache)
 * with TOTAL / ACTIVE / SIZE / RECLAIMABLE, or with -v one table per kind.
 */
import type { CommandSpec, Ctx } from '../command';
import { StatusError } from '../command';
import type { ParsedFlags } from '../flags';
import { formatRows, FormatError, GO_TYPE, GO_JSON, marshalFields } from '../template';
import { humanDuration, humanSize, humanSizeWithPrecision } from '../format/units';
import { FORMAT_HELP } from './common';
import { CONTAINER_HEADER, ContainerRow, type ContainerSummary } from './container-list';
import { IMAGE_HEADER, imageRows, type ImageSummary } from './image-list';

interface Volume {
  Name: string;
  UsageData?: { Size: number; RefCount: number } | null;
}
interface BuildCache {
  ID: string;
  Type?: string;
  Size: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
  InUse?: boolean;
  Shared?: boolean;
}
interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: Volume[] | null;
  BuildCache?: BuildCache[] | null;
}

const DF_HEADER: Record<string, string> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

class DfRow {
  readonly [GO_TYPE]: string;
  constructor(
    readonly Type: string,
    readonly TotalCount: string,
    readonly Active: string,
    readonly Size: string,
    readonly Reclaimable: string,
    goType: string,
  ) {
    this[GO_TYPE] = goType;
  }
  [GO_JSON](): string {
    return marshalFields(this as unknown as Record<string, unknown>, ['Active', 'Reclaimable', 'Size', 'TotalCount', 'Type']);
  }
}

/** "1.2MB (50%)" when the total is positive (integer percentage as Go's int64 division). */
function withPercent(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)` : humanSize(reclaimable);
}

function isActive(c: ContainerSummary): boolean {
  return c.State.includes('running') || c.State.includes('paused') || c.State.includes('restarting');
}

function summaryRows(du: DiskUsage): DfRow[] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const layers = du.LayersSize ?? 0;
  let used = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) !== 0) {
      if (i.Size === -1 || (i.SharedSize ?? -1) === -1) continue;
      used += i.Size - (i.SharedSize ?? 0);
    }
  }
  let cSize = 0;
  let cRecl = 0;
  for (const c of containers) {
    cSize += c.SizeRw ?? 0;
    if (!isActive(c)) cRecl += c.SizeRw ?? 0;
  }
  let vSize = 0;
  let vRecl = 0;
  for (const v of volumes) {
    const s = v.UsageData?.Size ?? -1;
    if (s !== -1) vSize += s;
    if ((v.UsageData?.RefCount ?? 0) === 0 && s !== -1) vRecl += s;
  }
  let bSize = 0;
  let bInUse = 0;
  for (const b of cache) {
    if (!b.Shared) bSize += b.Size;
    if (b.InUse && !b.Shared) bInUse += b.Size;
  }
  return [
    new DfRow('Images', String(images.length), String(images.filter((i) => (i.Containers ?? 0) > 0).length), humanSize(layers), withPercent(layers - used, layers), '*formatter.diskUsageImagesContext'),
    new DfRow('Containers', String(containers.length), String(containers.filter(isActive).length), humanSize(cSize), withPercent(cRecl, cSize), '*formatter.diskUsageContainersContext'),
    new DfRow('Local Volumes', String(volumes.length), String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), humanSize(vSize), withPercent(vRecl, vSize), '*formatter.diskUsageVolumesContext'),
    new DfRow('Build Cache', String(cache.length), String(cache.filter((b) => b.InUse).length), humanSize(bSize), humanSize(bSize - bInUse), '*formatter.diskUsageBuilderContext'),
  ];
}

class VolumeRow {
  readonly [GO_TYPE] = '*formatter.volumeContext';
  constructor(private readonly v: Volume) {}
  get Name(): string {
    return this.v.Name;
  }
  get Links(): string {
    const r = this.v.UsageData?.RefCount ?? -1;
    return r === -1 ? 'N/A' : String(r);
  }
  get Size(): string {
    const s = this.v.UsageData?.Size ?? -1;
    return s === -1 ? 'N/A' : humanSizeWithPrecision(s, 3);
  }
}

class CacheRow {
  readonly [GO_TYPE] = '*formatter.buildCacheContext';
  constructor(
    private readonly b: BuildCache,
    private readonly now: number,
  ) {}
  get ID(): string {
    return this.b.InUse ? this.b.ID.slice(0, 12) + '*' : this.b.ID.slice(0, 12);
  }
  get CacheType(): string {
    return this.b.Type ?? '';
  }
  get Size(): string {
    return humanSizeWithPrecision(this.b.Size, 3);
  }
  get CreatedSince(): string {
    return this.b.CreatedAt ? humanDuration(this.now - Date.parse(this.b.CreatedAt)) + ' ago' : '';
  }
  get LastUsedSince(): string {
    return this.b.LastUsedAt ? humanDuration(this.now - Date.parse(this.b.LastUsedAt)) + ' ago' : '';
  }
  get UsageCount(): string {
    return String(this.b.UsageCount ?? 0);
  }
  get Shared(): string {
    return String(Boolean(this.b.Shared));
  }
}

function verbose(du: DiskUsage): string {
  const now = Date.now();
  let s = 'Images space usage:\n\n';
  s += formatRows('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', imageRows(du.Images ?? [], { trunc: true, digest: false, needDigest: false }, now), IMAGE_HEADER);
  s += '\nContainers space usage:\n\n';
  s += formatRows('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', (du.Containers ?? []).map((c) => new ContainerRow(c, true, now)), CONTAINER_HEADER);
  s += '\nLocal Volumes space usage:\n\n';
  s += formatRows('table {{.Name}}\t{{.Links}}\t{{.Size}}', (du.Volumes ?? []).map((v) => new VolumeRow(v)), { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' });
  let bSize = 0;
  for (const b of du.BuildCache ?? []) if (!b.Shared) bSize += b.Size;
  s += `\nBuild cache usage: ${humanSize(bSize)}\n\n`;
  s += formatRows('table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', (du.BuildCache ?? []).map((b) => new CacheRow(b, now)), {
    ID: 'CACHE ID',
    CacheType: 'CACHE TYPE',
    Size: 'SIZE',
    CreatedSince: 'CREATED',
    LastUsedSince: 'LAST USED',
    UsageCount: 'USAGE',
    Shared: 'SHARED',
  });
  return s;
}

export const df = (path = 'system df'): CommandSpec => ({
  path,
  usage: '[OPTIONS]',
  short: 'Show berth disk usage',
  args: { none: true },
  flags: [
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'verbose', short: 'v', kind: 'bool', usage: 'Show detailed information on space usage' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const du = await ctx.client().json<DiskUsage>('GET', '/system/df');
    let format = f.values.format as string;
    try {
      if (f.values.verbose && (format === '' || format === 'table')) {
        ctx.out(verbose(du));
        return;
      }
      if (format === '' || format === 'table') format = DF_TABLE;
      ctx.out(formatRows(format, summaryRows(du), DF_HEADER));
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(e.message, 1);
      throw e;
    }
  },
});
