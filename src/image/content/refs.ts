/**
 * A small metadata DB of image references → manifest digest, kept in one JSON
 * file written atomically (temp + fsync + rename + fsync dir). Mutations in one
 * process are serialised; the on-disk file is always either the old or the new
 * complete version.
 */
import { AtomicJsonFile } from './json-file';
import { parseDigest, type Digest } from '../digest';
import { normalizeReference, ReferenceError } from '../reference';
import { isIndexMediaType, isManifestMediaType, type ImageIndex, type ImageManifest } from '../oci-types';

export interface RefRecord {
  /** Canonical reference, e.g. "docker.io/library/busybox:latest". */
  name: string;
  /** Digest of the manifest (or index) the name points at. */
  target: Digest;
  mediaType?: string;
  /** ISO timestamp of the last (re)tag. */
  updatedAt: string;
}

interface RefsFile {
  version: 1;
  refs: Record<string, RefRecord>;
}

const FILE_VERSION = 1;

/** Canonical key for a reference string ("busybox" → "docker.io/library/busybox:latest"). */
export function canonicalRefName(ref: string): string {
  const r = normalizeReference(ref);
  if (r.name() === '') throw new ReferenceError('no-name', `reference ${ref} has no name`);
  return r.toString();
}

export class RefStore {
  readonly file: string;
  private readonly db: AtomicJsonFile<RefsFile>;

  /** `file` is the JSON path, e.g. <root>/refs.json. */
  constructor(file: string) {
    this.db = new AtomicJsonFile<RefsFile>(file, 'refs database', () => ({ version: FILE_VERSION, refs: {} }), (d) => {
      const f = d as RefsFile;
      const ok = typeof f === 'object' && f !== null && f.version === FILE_VERSION && typeof f.refs === 'object' && f.refs !== null;
      return ok ? undefined : 'has an unsupported format';
    });
    this.file = this.db.file;
  }

  private mutate<T>(fn: (data: RefsFile) => T | Promise<T>): Promise<T> {
    return this.db.mutate(fn);
  }

  /** Point `ref` at `target`; returns the previous target if any. */
  tag(ref: string, target: Digest | string, mediaType?: string): Promise<Digest | undefined> {
    const name = canonicalRefName(ref);
    const d = parseDigest(target);
    return this.mutate((data) => {
      const prev = data.refs[name]?.target;
      const rec: RefRecord = { name, target: d, updatedAt: new Date().toISOString() };
      if (mediaType !== undefined) rec.mediaType = mediaType;
      data.refs[name] = rec;
      return prev;
    });
  }

  /** Remove `ref`; returns the record removed, or undefined. */
  untag(ref: string): Promise<RefRecord | undefined> {
    const name = canonicalRefName(ref);
    return this.mutate((data) => {
      const rec = data.refs[name];
      delete data.refs[name];
      return rec;
    });
  }

  /** Look up a reference (familiar or canonical). */
  async resolve(ref: string): Promise<RefRecord | undefined> {
    const name = canonicalRefName(ref);
    return (await this.db.read()).refs[name];
  }

  /** All records, sorted by name; optionally only those pointing at `target`. */
  async list(target?: Digest | string): Promise<RefRecord[]> {
    const want = target !== undefined ? parseDigest(target) : undefined;
    return Object.values((await this.db.read()).refs)
      .filter((r) => want === undefined || r.target === want)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** Reads a manifest/index blob; return undefined if it is not present. */
export type ManifestReader = (digest: Digest) => Promise<Buffer | undefined>;

/**
 * Every blob reachable from `roots` (manifest or index digests): the roots
 * themselves, child manifests of indexes (recursively), configs and layers.
 * Missing children are reported as referenced but not traversed. For GC.
 */
export async function referencedBlobs(roots: Iterable<Digest | string>, read: ManifestReader): Promise<Set<Digest>> {
  const seen = new Set<Digest>();
  const queue: Digest[] = [];
  const mark = (d: string) => {
    const dg = parseDigest(d);
    if (!seen.has(dg)) {
      seen.add(dg);
      return dg;
    }
    return undefined;
  };
  for (const r of roots) {
    const d = mark(r);
    if (d) queue.push(d);
  }
  while (queue.length > 0) {
    const d = queue.shift()!;
    const buf = await read(d);
    if (buf === undefined) continue;
    let doc: Partial<ImageIndex & ImageManifest> & { mediaType?: string };
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch {
      continue; // not JSON: a leaf blob
    }
    if (typeof doc !== 'object' || doc === null) continue;
    const isIndex = isIndexMediaType(doc.mediaType) || (doc.mediaType === undefined && Array.isArray(doc.manifests));
    const isManifest = isManifestMediaType(doc.mediaType) || (doc.mediaType === undefined && doc.config !== undefined);
    if (isIndex && Array.isArray(doc.manifests)) {
      for (const m of doc.manifests) {
        const c = mark(m.digest);
        if (c) queue.push(c);
      }
    } else if (isManifest) {
      if (doc.config?.digest) mark(doc.config.digest);
      for (const l of doc.layers ?? []) mark(l.digest);
    }
    if (doc.subject?.digest) mark(doc.subject.digest);
  }
  return seen;
}
