/**
 * The image records: one per image ID (the config digest, as Docker names images), with the
 * manifest it was stored under. Tags live in the refs DB; an image with no tag left is
 * "dangling" (`<none>:<none>`) until rmi or prune removes it. Records are the GC roots.
 */
import { parseDigest, type Digest } from '../digest';
import { AtomicJsonFile } from './json-file';

export interface ImageEntry {
  /** Config digest: Docker's image ID. */
  id: Digest;
  /** The platform manifest the image was stored with. */
  manifest: Digest;
  manifestMediaType: string;
  /** The index / manifest list the manifest was selected from, when pulled through one. */
  index?: Digest;
  /** `docker images` SIZE: the unpacked layers' bytes (or, without a snapshotter, config + compressed layers). */
  size: number;
  /** When the image arrived in this store (ISO). */
  added: string;
  /** When a tag last pointed at it (ISO; Docker's Metadata.LastTagTime). */
  lastTagTime?: string;
}

interface ImagesFile {
  version: 1;
  images: Record<string, ImageEntry>;
}

export class ImageDb {
  private readonly db: AtomicJsonFile<ImagesFile>;

  constructor(file: string) {
    this.db = new AtomicJsonFile<ImagesFile>(file, 'image database', () => ({ version: 1, images: {} }), (d) => {
      const f = d as ImagesFile;
      const ok = typeof f === 'object' && f !== null && f.version === 1 && typeof f.images === 'object' && f.images !== null;
      return ok ? undefined : 'has an unsupported format';
    });
  }

  /** Add or refresh a record (keeps `added` of an existing one). */
  put(entry: ImageEntry): Promise<ImageEntry> {
    const id = parseDigest(entry.id);
    return this.db.mutate((data) => {
      const prev = data.images[id];
      const next: ImageEntry = { ...entry, id, added: prev?.added ?? entry.added };
      if (entry.lastTagTime === undefined && prev?.lastTagTime !== undefined) next.lastTagTime = prev.lastTagTime;
      data.images[id] = next;
      return next;
    });
  }

  markTagged(id: Digest, when = new Date()): Promise<void> {
    return this.db.mutate((data) => {
      const e = data.images[id];
      if (e) e.lastTagTime = when.toISOString();
    });
  }

  remove(id: Digest): Promise<ImageEntry | undefined> {
    return this.db.mutate((data) => {
      const e = data.images[id];
      delete data.images[id];
      return e;
    });
  }

  async get(id: Digest): Promise<ImageEntry | undefined> {
    return (await this.db.read()).images[id];
  }

  async list(): Promise<ImageEntry[]> {
    return Object.values((await this.db.read()).images);
  }
}
