/**
 * `berth image ls` / `berth images`: GET /images/json rendered by docker's image formatter
 * (formatter/image.go): one row per repository:tag (per digest with --digests), dangling
 * images as <none>:<none>, sizes with 3 significant digits, the default table
 *
 *   REPOSITORY   TAG       IMAGE ID       CREATED         SIZE
 */
import type { CommandSpec, Ctx } from '../command';
import { invalidFlag } from '../command';
import type { ParsedFlags } from '../flags';
import { encodeFilters } from '../errors';
import { formatRows, GO_TYPE, GO_JSON, marshalFields } from '../template';
import { goTimeString, humanSize, humanSizeWithPrecision, humanDuration, truncateID } from '../format/units';
import { FORMAT_HELP } from './common';

/** GET /images/json items (moby ImageSummary). */
export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

const DEFAULT_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
const DEFAULT_TABLE_DIGEST =
  'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

export const IMAGE_HEADER: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

const FIELDS = ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize'];

/** One row of the list: docker's *formatter.imageContext (fields are its methods). */
export class ImageRow {
  readonly [GO_TYPE] = '*formatter.imageContext';

  constructor(
    private readonly i: ImageSummary,
    private readonly trunc: boolean,
    readonly Repository: string,
    readonly Tag: string,
    readonly Digest: string,
    private readonly now = Date.now(),
  ) {}

  get ID(): string {
    return this.trunc ? truncateID(this.i.Id) : this.i.Id;
  }
  get CreatedSince(): string {
    return humanDuration(this.now - this.i.Created * 1000) + ' ago';
  }
  get CreatedAt(): string {
    return goTimeString(this.i.Created);
  }
  get Size(): string {
    return humanSizeWithPrecision(this.i.Size, 3);
  }
  get Containers(): string {
    const c = this.i.Containers ?? -1;
    return c === -1 ? 'N/A' : String(c);
  }
  get VirtualSize(): string {
    return humanSize(this.i.Size);
  }
  get SharedSize(): string {
    const s = this.i.SharedSize ?? -1;
    return s === -1 ? 'N/A' : humanSize(s);
  }
  get UniqueSize(): string {
    const s = this.i.SharedSize ?? -1;
    return this.i.Size === -1 || s === -1 ? 'N/A' : humanSize(this.i.Size - s);
  }
  [GO_JSON](): string {
    return marshalFields(this as unknown as Record<string, unknown>, FIELDS);
  }
}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** The rows for the images, as imageFormat/imageFormatTaggedAndDigest build them. */
export function imageRows(images: readonly ImageSummary[], opts: { trunc: boolean; digest: boolean; needDigest: boolean }, now = Date.now()): ImageRow[] {
  const { parseNormalizedNamed } = require('../../image/reference') as typeof import('../../image/reference');
  const rows: ImageRow[] = [];
  for (const img of images) {
    if (isDangling(img)) {
      rows.push(new ImageRow(img, opts.trunc, '<none>', '<none>', '<none>', now));
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const s of img.RepoTags ?? []) {
      try {
        const ref = parseNormalizedNamed(s);
        if (ref.tag === undefined) continue;
        const name = ref.familiarName();
        repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
      } catch {
        /* skipped as docker does */
      }
    }
    for (const s of img.RepoDigests ?? []) {
      try {
        const ref = parseNormalizedNamed(s);
        if (ref.digest === undefined) continue;
        const name = ref.familiarName();
        repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
      } catch {
        /* skipped */
      }
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!opts.needDigest) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) rows.push(new ImageRow(img, opts.trunc, repo, tag, '<none>', now));
        for (const d of digests) rows.push(new ImageRow(img, opts.trunc, repo, tag, d, now));
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digest) for (const d of digests) rows.push(new ImageRow(img, opts.trunc, repo, '<none>', d, now));
      else rows.push(new ImageRow(img, opts.trunc, repo, '<none>', '', now));
    }
  }
  return rows;
}

/** formatter.NewImageFormat. */
export function imageFormat(source: string, quiet: boolean, digest: boolean): string {
  if (source === 'table') return quiet ? '{{.ID}}' : digest ? DEFAULT_TABLE_DIGEST : DEFAULT_TABLE;
  if (source === 'raw') {
    if (quiet) return 'image_id: {{.ID}}';
    return `repository: {{ .Repository }}\ntag: {{.Tag}}\n${digest ? 'digest: {{.Digest}}\n' : ''}image_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n`;
  }
  if (source.startsWith('table') && digest && !source.includes('{{.Digest}}')) return source + '\t{{.Digest}}';
  return source;
}

const AMBIGUOUS = new Set(['build', 'history', 'import', 'inspect', 'list', 'load', 'ls', 'prune', 'pull', 'push', 'rm', 'save', 'tag']);

function imagesSpec(path: string, usage: string): CommandSpec {
  return {
    path,
    usage,
    short: 'List images',
    aliases: 'berth image ls, berth image list, berth images',
    args: { max: 1 },
    flags: [
      { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
      { name: 'all', short: 'a', kind: 'bool', usage: 'Show all images (default hides intermediate images)' },
      { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
      { name: 'digests', kind: 'bool', usage: 'Show digests' },
      { name: 'format', kind: 'string', usage: FORMAT_HELP },
      { name: 'filter', short: 'f', kind: 'list', typeName: 'filter', usage: 'Filter output based on conditions provided' },
    ],
    async run(ctx: Ctx, f: ParsedFlags) {
      const filterValues = f.values.filter as string[];
      let filters: string | undefined;
      try {
        filters = encodeFilters(filterValues, f.args[0] ? [['reference', f.args[0]]] : []);
      } catch (e) {
        const bad = filterValues.find((v) => !v.includes('=')) ?? '';
        throw invalidFlag({ name: 'filter', short: 'f' }, bad, (e as Error).message);
      }
      const images = await ctx.client().json<ImageSummary[]>('GET', '/images/json', {
        query: { all: f.values.all ? true : undefined, filters },
      });
      const quiet = f.values.quiet as boolean;
      const digest = f.values.digests as boolean;
      let source = f.values.format as string;
      if (source === '') source = 'table';
      const format = imageFormat(source, quiet, digest);
      const rows = imageRows(images ?? [], { trunc: !f.values['no-trunc'], digest, needDigest: digest || format.includes('{{.Digest}}') });
      ctx.out(formatRows(format, rows, IMAGE_HEADER));
      if (f.args[0] && (images ?? []).length === 0 && path === 'images' && AMBIGUOUS.has(f.args[0])) {
        ctx.err(`\nNo images found matching ${JSON.stringify(f.args[0])}: did you mean "berth image ${f.args[0]}"?\n`);
      }
    },
  };
}

export const imageLs = (): CommandSpec => imagesSpec('image ls', '[OPTIONS] [REPOSITORY[:TAG]]');
export const images = (): CommandSpec => imagesSpec('images', '[OPTIONS] [REPOSITORY[:TAG]]');
