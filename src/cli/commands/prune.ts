/**
 * The prune commands: `container prune`, `image prune` and `system prune`, one pruner per kind
 * of object as docker CLI 28 has them (cli/command/{container,image,system}/prune.go).
 *
 * A pruner calls the daemon and returns the space it reclaimed and its report ("Deleted
 * Containers:\n<id>\n…", "" when nothing went); a command prints each non-empty report followed
 * by a blank line, then "Total reclaimed space: <go-units HumanSize>". A declined prompt is
 * docker's "cancelled" error: exit 0, nothing more printed.
 */
import type { CommandSpec, Ctx } from '../command';
import { StatusError, invalidFlag } from '../command';
import type { FlagDef, ParsedFlags } from '../flags';
import { encodeFilters } from '../errors';
import { humanSize } from '../format/units';
import { confirm, responseJSON } from './common';

export interface PruneResult {
  /** Bytes reclaimed, as docker counts them (containers: only when some were deleted). */
  space: number;
  /** The report to print, "" when nothing was deleted. */
  output: string;
}

const FORCE_FLAG: FlagDef = { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' };

/**
 * The --filter values as docker's FilterOpt takes them: "name=value", the name lower-cased.
 * A value without "=" is refused when the flag is parsed in docker, so here too it is a flag
 * error (exit 125) raised before any prompt or request.
 */
export function checkPruneFilters(values: readonly string[]): void {
  const bad = values.find((v) => v !== '' && !v.includes('='));
  if (bad !== undefined) throw invalidFlag({ name: 'filter' }, bad, 'bad format of filter (expected name=value)');
}

function filterParam(values: readonly string[], extra: Array<[string, string]> = []): string | undefined {
  checkPruneFilters(values);
  return encodeFilters(
    values.filter((v) => v !== ''),
    extra,
  );
}

/** POST /containers/prune (docker's container.RunPrune without the prompt). */
export async function pruneContainers(ctx: Ctx, filters: readonly string[]): Promise<PruneResult> {
  const r = await ctx.client().json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/containers/prune', {
    query: { filters: filterParam(filters) },
  });
  const deleted = r.ContainersDeleted ?? [];
  if (deleted.length === 0) return { space: 0, output: '' };
  return { space: r.SpaceReclaimed ?? 0, output: 'Deleted Containers:\n' + deleted.map((id) => id + '\n').join('') };
}

/** POST /images/prune with dangling=true, or dangling=false for --all (docker's image.RunPrune). */
export async function pruneImages(ctx: Ctx, filters: readonly string[], all: boolean): Promise<PruneResult> {
  const res = await ctx.client().call('POST', '/images/prune', { query: { filters: filterParam(filters, [['dangling', String(!all)]]) } });
  const report = await responseJSON<{ ImagesDeleted?: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed?: number }>(res);
  let output = '';
  const deleted = report.ImagesDeleted ?? [];
  if (deleted.length > 0) {
    output = 'Deleted Images:\n';
    for (const d of deleted) output += d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted ?? ''}\n`;
  }
  return { space: report.SpaceReclaimed ?? 0, output };
}

/**
 * Run the pruners in order as docker's prune commands do: each report as soon as it is in
 * (a later failure leaves the earlier reports printed), then the total.
 */
async function runPruners(ctx: Ctx, pruners: Array<() => Promise<PruneResult>>): Promise<void> {
  let space = 0;
  for (const prune of pruners) {
    const r = await prune();
    space += r.space;
    if (r.output !== '') ctx.out(r.output + '\n');
  }
  ctx.out(`Total reclaimed space: ${humanSize(space)}\n`);
}

export const containerPrune = (): CommandSpec => ({
  path: 'container prune',
  usage: '[OPTIONS]',
  short: 'Remove all stopped containers',
  args: { none: true },
  flags: [{ name: 'filter', kind: 'list', typeName: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")' }, FORCE_FLAG],
  async run(ctx, f: ParsedFlags) {
    const filters = f.values.filter as string[];
    checkPruneFilters(filters);
    if (!f.values.force && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) {
      return 0;
    }
    await runPruners(ctx, [() => pruneContainers(ctx, filters)]);
  },
});

const DANGLING_WARNING = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?';

export const imagePrune = (): CommandSpec => ({
  path: 'image prune',
  usage: '[OPTIONS]',
  short: 'Remove unused images',
  args: { none: true },
  flags: [
    FORCE_FLAG,
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', kind: 'list', typeName: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const all = f.values.all as boolean;
    const filters = f.values.filter as string[];
    checkPruneFilters(filters);
    if (!f.values.force && !(await confirm(ctx, all ? ALL_WARNING : DANGLING_WARNING))) return 0;
    await runPruners(ctx, [() => pruneImages(ctx, filters, all)]);
  },
});

/**
 * docker's confirmationTemplate for `system prune`. Only what berthd prunes is listed: docker
 * too lists the pruners its daemon implements, and berth has no networks, volumes or build
 * cache. The filters shown are docker's fixed list (label, label!, until), naturally sorted.
 */
export function systemPruneWarning(all: boolean, filters: readonly string[]): string {
  const warnings = ['all stopped containers', all ? 'all images without at least one container associated to them' : 'all dangling images'];
  let s = 'WARNING! This will remove:\n' + warnings.map((w) => `  - ${w}\n`).join('');
  const shown: string[] = [];
  for (const name of ['label', 'label!', 'until']) {
    const seen = new Set<string>();
    for (const v of filters) {
      const eq = v.indexOf('=');
      if (eq < 0 || v.slice(0, eq).trim().toLowerCase() !== name) continue;
      const val = v.slice(eq + 1).trim();
      if (!seen.has(val)) shown.push(`${name}=${val}`);
      seen.add(val);
    }
  }
  if (shown.length > 0) {
    shown.sort(naturalLess);
    s += '\n  Items to be pruned will be filtered with:\n' + shown.map((x) => `  - ${x}\n`).join('');
  }
  return s + '\nAre you sure you want to continue?';
}

/** fvbommel/sortorder.NaturalLess: digit runs compare by value. */
function naturalLess(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+/, '');
      const ny = y.replace(/^0+/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export const systemPrune = (): CommandSpec => ({
  path: 'system prune',
  usage: '[OPTIONS]',
  short: 'Remove unused data',
  args: { none: true },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images not just dangling ones' },
    { name: 'filter', kind: 'list', typeName: 'filter', usage: 'Provide filter values (e.g. "label=<key>=<value>")' },
    FORCE_FLAG,
    { name: 'volumes', kind: 'bool', usage: 'Prune anonymous volumes (berth has no volumes: accepted, nothing to prune)' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const all = f.values.all as boolean;
    const filters = f.values.filter as string[];
    checkPruneFilters(filters);
    // docker refuses this before prompting (its volume pruner has no "until"); so does berth,
    // so that a command line accepted here is accepted by docker too.
    if (f.values.volumes && filters.some((v) => v.slice(0, v.indexOf('=')).trim().toLowerCase() === 'until')) {
      throw new StatusError('ERROR: The "until" filter is not supported with "--volumes"', 1);
    }
    if (!f.values.force && !(await confirm(ctx, systemPruneWarning(all, filters)))) return 0;
    // Containers first: an image is unused only once its stopped containers are gone.
    await runPruners(ctx, [() => pruneContainers(ctx, filters), () => pruneImages(ctx, filters, all)]);
  },
});
