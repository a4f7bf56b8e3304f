/**
 * Image commands talking to one image: pull, push, tag, rmi / image rm, image inspect, history.
 * Flags, messages and output follow docker CLI 28 (cli/command/image/*.go).
 */
import type { CommandSpec, Ctx } from '../command';
import { StatusError } from '../command';
import type { ParsedFlags } from '../flags';
import { DaemonError } from '../errors';
import { formatRows, GO_TYPE, GO_JSON, marshalFields } from '../template';
import { ellipsis, goRFC3339, humanDuration, humanSizeWithPrecision, truncateID } from '../format/units';
import { FORMAT_HELP, INSPECT_FORMAT_HELP, PLATFORM_FLAG, displayStream, inspectAll, registryAuthHeader } from './common';

type Ref = import('../../image/reference').ImageReference;

function parseRef(s: string): Ref {
  const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
  return parseNormalizedNamed(s);
}

/** An image name in a URL path: "/" ":" "@" kept as Go's URL escaping keeps them. */
export function encPath(s: string): string {
  return encodeURIComponent(s).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/gi, '@');
}

/** The daemon's `tag` query value for a reference: digest, tag, or "". */
function apiTag(ref: Ref): string {
  return ref.digest ?? ref.tag ?? '';
}

export const pull = (path = 'pull'): CommandSpec => ({
  path,
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  short: 'Download an image from a registry',
  aliases: 'berth image pull, berth pull',
  args: { exact: 1 },
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Download all tagged images in the repository' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
    { ...PLATFORM_FLAG },
    { name: 'disable-content-trust', kind: 'bool', usage: 'Skip image verification', default: true },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    let ref = parseRef(f.args[0]!);
    const quiet = f.values.quiet as boolean;
    const all = f.values['all-tags'] as boolean;
    if (all && !ref.isNameOnly()) throw new Error("tag can't be used with --all-tags/-a");
    if (!all && ref.isNameOnly()) {
      ref = ref.withTag('latest');
      if (!quiet) ctx.out('Using default tag: latest\n');
    }
    const platform = (f.values.platform as string).toLowerCase();
    const res = await ctx.client().call('POST', '/images/create', {
      query: { fromImage: ref.name(), tag: all ? undefined : apiTag(ref), platform: platform || undefined },
      headers: { 'X-Registry-Auth': await registryAuthHeader(ctx, ref.domain) },
    });
    await displayStream(ctx, res, quiet);
    ctx.out(ref.toString() + '\n');
  },
});

export const push = (path = 'push'): CommandSpec => ({
  path,
  usage: '[OPTIONS] NAME[:TAG]',
  short: 'Upload an image to a registry',
  aliases: 'berth image push, berth push',
  args: { exact: 1 },
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Push all tags of an image to the repository' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
    { name: 'disable-content-trust', kind: 'bool', usage: 'Skip image signing', default: true },
    {
      name: 'platform',
      kind: 'string',
      usage:
        "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    let ref = parseRef(f.args[0]!);
    const quiet = f.values.quiet as boolean;
    const all = f.values['all-tags'] as boolean;
    if (all && !ref.isNameOnly()) throw new Error("tag can't be used with --all-tags/-a");
    if (!all && ref.isNameOnly()) {
      ref = ref.withTag('latest');
      if (!quiet) ctx.out('Using default tag: latest\n');
    }
    const platform = f.values.platform as string;
    const name = ref.trimNamed().familiarString();
    const res = await ctx.client().call('POST', `/images/${encPath(name)}/push`, {
      query: { tag: all ? undefined : apiTag(ref), platform: platform ? JSON.stringify(platformObject(platform)) : undefined },
      headers: { 'X-Registry-Auth': await registryAuthHeader(ctx, ref.domain) },
    });
    await displayStream(ctx, res, quiet);
    if (quiet) ctx.out(ref.toString() + '\n');
  },
});

function platformObject(p: string): Record<string, string> {
  const [os, architecture, variant] = p.toLowerCase().split('/');
  return { os: os ?? '', architecture: architecture ?? '', ...(variant ? { variant } : {}) };
}

export const tag = (path = 'tag'): CommandSpec => ({
  path,
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliases: 'berth image tag, berth tag',
  args: { exact: 2 },
  interspersed: false,
  flags: [],
  async run(ctx: Ctx, f: ParsedFlags) {
    const [source, target] = f.args as [string, string];
    const { parseAnyReference } = require('../../image/reference') as typeof import('../../image/reference');
    const parse = <T>(s: string, fn: (s: string) => T): T => {
      try {
        return fn(s);
      } catch (e) {
        throw new Error(`Error parsing reference: ${JSON.stringify(s)} is not a valid repository/tag: ${(e as Error).message}`);
      }
    };
    parse(source, parseAnyReference);
    const ref = parse(target, parseRef);
    if (ref.digest !== undefined) throw new Error('refusing to create a tag with a digest reference');
    const tagged = ref.isNameOnly() ? ref.withTag('latest') : ref;
    await ctx.client().call('POST', `/images/${encPath(source)}/tag`, {
      query: { repo: tagged.name(), tag: tagged.tag },
    });
  },
});

export const rmi = (path = 'rmi'): CommandSpec => ({
  path,
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images',
  aliases: 'berth image rm, berth image remove, berth rmi',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete untagged parents' },
    {
      name: 'platform',
      kind: 'slice',
      usage: 'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
    },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const force = f.values.force as boolean;
    const errors: string[] = [];
    let fatal = false;
    for (const img of f.args) {
      try {
        const dels = await ctx.client().json<Array<{ Untagged?: string; Deleted?: string }>>('DELETE', `/images/${encPath(img)}`, {
          query: {
            force: force ? true : undefined,
            noprune: f.values['no-prune'] ? true : undefined,
            platforms: (f.values.platform as string[]).length ? (f.values.platform as string[]).map((p) => JSON.stringify(platformObject(p))) : undefined,
          },
        });
        for (const d of dels ?? []) ctx.out(d.Deleted ? `Deleted: ${d.Deleted}\n` : `Untagged: ${d.Untagged ?? ''}\n`);
      } catch (e) {
        if (!(e instanceof DaemonError && e.statusCode === 404)) fatal = true;
        errors.push((e as Error).message);
      }
    }
    if (errors.length > 0) {
      if (!force || fatal) throw new StatusError(errors.join('\n'), 1);
      ctx.err(errors.join('\n') + '\n');
    }
  },
});

export const imageRm = (): CommandSpec => ({ ...rmi('image rm') });

export const imageInspect = (): CommandSpec => ({
  path: 'image inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Display detailed information on one or more images',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    {
      name: 'platform',
      kind: 'string',
      usage:
        "Inspect a specific platform of the multi-platform image.\nIf the image or the server is not multi-platform capable, the command will error out if the platform does not match.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const platform = f.values.platform as string;
    return inspectAll(ctx, f.args, f.values.format as string, (ref) =>
      ctx.client().text('GET', `/images/${encPath(ref)}/json`, {
        query: { platform: platform ? JSON.stringify(platformObject(platform)) : undefined },
      }),
    );
  },
});

// ---- history -----------------------------------------------------------------

interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags?: string[] | null;
  Size: number;
  Comment: string;
}

const HISTORY_HEADER: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};

const EPOCH_2000 = Date.UTC(2000, 0, 1) / 1000;

/** docker's *image.historyContext. */
export class HistoryRow {
  readonly [GO_TYPE] = '*image.historyContext';

  constructor(
    private readonly h: HistoryItem,
    private readonly trunc: boolean,
    private readonly human: boolean,
    private readonly now = Date.now(),
  ) {}

  get ID(): string {
    return this.trunc ? truncateID(this.h.Id) : this.h.Id;
  }
  get CreatedAt(): string {
    return goRFC3339(this.h.Created);
  }
  get CreatedSince(): string {
    if (!this.human) return this.CreatedAt;
    if (this.h.Created <= EPOCH_2000) return 'N/A';
    return humanDuration(this.now - this.h.Created * 1000) + ' ago';
  }
  get CreatedBy(): string {
    const s = this.h.CreatedBy.replace(/\t/g, ' ');
    return this.trunc ? ellipsis(s, 45) : s;
  }
  get Size(): string {
    return this.human ? humanSizeWithPrecision(this.h.Size, 3) : String(this.h.Size);
  }
  get Comment(): string {
    return this.h.Comment;
  }
  [GO_JSON](): string {
    return marshalFields(this as unknown as Record<string, unknown>, ['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
  }
}

export function historyFormat(source: string, quiet: boolean, human: boolean): string {
  if (source !== 'table') return source;
  if (quiet) return '{{.ID}}';
  return human
    ? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}'
    : 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
}

export function historyRows(items: readonly HistoryItem[], trunc: boolean, human: boolean, now = Date.now()): HistoryRow[] {
  return items.map((h) => new HistoryRow(h, trunc, human, now));
}

export { HISTORY_HEADER };

export const history = (path = 'history'): CommandSpec => ({
  path,
  usage: '[OPTIONS] IMAGE',
  short: 'Show the history of an image',
  aliases: 'berth image history, berth history',
  args: { exact: 1 },
  flags: [
    { name: 'human', short: 'H', kind: 'bool', default: true, usage: 'Print sizes and dates in human readable format' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'platform', kind: 'string', usage: 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
  ],
  async run(ctx: Ctx, f: ParsedFlags) {
    const platform = f.values.platform as string;
    const items = await ctx.client().json<HistoryItem[]>('GET', `/images/${encPath(f.args[0]!)}/history`, {
      query: { platform: platform ? JSON.stringify(platformObject(platform)) : undefined },
    });
    const human = f.values.human as boolean;
    const format = historyFormat((f.values.format as string) || 'table', f.values.quiet as boolean, human);
    ctx.out(formatRows(format, historyRows(items ?? [], !f.values['no-trunc'], human), HISTORY_HEADER));
  },
});
