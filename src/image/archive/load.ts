/**
 * `docker load`: one entry point for both archive formats.
 *
 * The archive is read once (blobs verified into the store as they stream past) and the format
 * decided from what it held:
 *   - index.json (an OCI image layout: skopeo/containerd oci-archive, docker ≥ 25 save) → OCI;
 *   - manifest.json only (docker save before 25, skopeo docker-archive) → docker-archive.
 * A docker ≥ 25 archive holds both, describing the same images. The OCI index is preferred:
 * it is the exact content (manifest digests, hence image identity, preserved; layers as
 * shipped, compressed or not; multi-platform indexes kept) and every blob is checked against
 * its digest, while manifest.json is Docker's single-platform compatibility view from which
 * a new manifest has to be synthesised. This is also what Docker with the containerd image
 * store does. manifest.json still supplies names (its RepoTags, matched by config digest) for
 * index.json entries that carry none.
 */
import type { Readable } from 'node:stream';
import type { ContentStore } from '../content/store';
import type { RefStore } from '../content/refs';
import { ArchiveError, readArchive, type LoadedImage } from './archive-io';
import { dockerArchiveNames, importDockerArchive } from './docker-archive';
import { importOciLayout } from './oci-archive';

/** Load a docker-archive or an OCI-archive tar (optionally gzip/zstd-compressed). */
export async function loadArchive(store: ContentStore, refs: RefStore, input: Readable): Promise<LoadedImage[]> {
  const contents = await readArchive(store, input);
  if (contents.has('index.json')) {
    const hasDocker = contents.has('manifest.json');
    return importOciLayout(refs, contents, hasDocker ? { fallbackNames: () => dockerArchiveNames(contents) } : {});
  }
  if (contents.has('manifest.json')) {
    return importDockerArchive(store, refs, contents);
  }
  throw new ArchiveError(
    'load: the archive has neither manifest.json (docker save) nor index.json (OCI image layout): not an image archive, or truncated (a filesystem tarball is loaded with import)',
  );
}
