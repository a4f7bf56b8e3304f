/**
 * `docker commit`: a container's changes (a layer tar made by the snapshotter from its writable
 * layer, init files excluded) become a new image on top of the container's image.
 */
import type { Readable } from 'node:stream';
import { applyChanges, storeGzipLayer } from './archive/import';
import { digestOf } from './digest';
import { MediaTypes, type ContainerConfig, type ImageConfig, type ImageManifest } from './oci-types';
import { parseDockerRef } from './reference';
import type { Image, ImageService } from './service';

export interface CommitOptions {
  /** Repository[:tag] to tag the new image with. */
  ref?: string;
  author?: string;
  comment?: string;
  /** Dockerfile instructions applied on top (`--change`). */
  changes?: string[];
  /** The container's config (Cmd, Env, ...), which becomes the image's config as in Docker. */
  config?: ContainerConfig;
  /** What the history entry says created the layer (the container's command). */
  createdBy?: string;
  created?: Date;
}

/** Stores `diffTar` as a new layer on `base` (undefined: a container of no image) and records the image. */
export async function commitImage(svc: ImageService, base: Image | undefined, diffTar: Readable, opts: CommitOptions = {}): Promise<Image> {
  // Bad --change values fail before a byte is stored.
  const config = applyChanges(opts.changes ?? [], { ...(base?.config.config ?? {}), ...(opts.config ?? {}) });
  const tagRef = opts.ref !== undefined && opts.ref !== '' ? parseDockerRef(opts.ref).toString() : undefined;
  return svc.writing(async () => {
    const { layer, diffId } = await storeGzipLayer(svc.content, diffTar);
    const created = (opts.created ?? new Date()).toISOString();
    const history = [...(base?.config.history ?? [])];
    history.push({
      created,
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.createdBy ? { created_by: opts.createdBy } : {}),
      ...(opts.comment ? { comment: opts.comment } : {}),
    });
    const imageConfig: ImageConfig = {
      architecture: base?.config.architecture ?? 'amd64',
      os: base?.config.os ?? 'linux',
      ...(base?.config.variant ? { variant: base.config.variant } : {}),
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config,
      rootfs: { type: 'layers', diff_ids: [...(base?.config.rootfs.diff_ids ?? []), diffId] },
      history,
    };
    const cfgBuf = Buffer.from(JSON.stringify(imageConfig));
    const cfg = await svc.content.put(cfgBuf, digestOf(cfgBuf));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.DOCKER_MANIFEST,
      config: { mediaType: MediaTypes.DOCKER_CONFIG, digest: cfg.digest, size: cfg.size },
      layers: [...(base?.manifest.layers ?? []), { mediaType: MediaTypes.DOCKER_LAYER_GZIP, digest: layer.digest, size: layer.size }],
    };
    const manBuf = Buffer.from(JSON.stringify(manifest));
    const man = await svc.content.put(manBuf, digestOf(manBuf));
    const entry = await svc.register(man.digest, { mediaType: MediaTypes.DOCKER_MANIFEST });
    if (tagRef !== undefined) {
      await svc.refs.tag(tagRef, entry.manifest, entry.manifestMediaType);
      await svc.images.markTagged(entry.id);
    }
    return svc.get(entry.id);
  });
}
