/**
 * OCI image-spec v1.1 types (index, manifest, config, descriptor) and the
 * Docker schema2 media types that registries still serve.
 */
import type { Digest } from './digest';

// ---- media types -------------------------------------------------------------
export const MediaTypes = {
  OCI_DESCRIPTOR: 'application/vnd.oci.descriptor.v1+json',
  OCI_LAYOUT: 'application/vnd.oci.layout.header.v1+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  OCI_LAYER: 'application/vnd.oci.image.layer.v1.tar',
  OCI_LAYER_GZIP: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCI_LAYER_ZSTD: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OCI_LAYER_NONDIST: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OCI_LAYER_NONDIST_GZIP: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OCI_LAYER_NONDIST_ZSTD: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OCI_EMPTY: 'application/vnd.oci.empty.v1+json',

  DOCKER_MANIFEST_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_MANIFEST_V1: 'application/vnd.docker.distribution.manifest.v1+json',
  DOCKER_MANIFEST_V1_SIGNED: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DOCKER_CONFIG: 'application/vnd.docker.container.image.v1+json',
  DOCKER_LAYER: 'application/vnd.docker.image.rootfs.diff.tar',
  DOCKER_LAYER_GZIP: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DOCKER_LAYER_FOREIGN_GZIP: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DOCKER_PLUGIN_CONFIG: 'application/vnd.docker.plugin.v1+json',
} as const;
export type KnownMediaType = (typeof MediaTypes)[keyof typeof MediaTypes];

/** Media types that are an index / manifest list (multi-platform). */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST_LIST];
/** Media types that are a single-platform image manifest. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST];
/** Media types that are an image config. */
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaTypes.OCI_CONFIG, MediaTypes.DOCKER_CONFIG];
/** Accept header value for a registry manifest GET. */
export const MANIFEST_ACCEPT: string = [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].join(', ');

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt !== undefined && INDEX_MEDIA_TYPES.includes(mt);
}
export function isManifestMediaType(mt: string | undefined): boolean {
  return mt !== undefined && MANIFEST_MEDIA_TYPES.includes(mt);
}
export function isLayerMediaType(mt: string | undefined): boolean {
  return (
    mt !== undefined &&
    (mt.startsWith('application/vnd.oci.image.layer.') || mt.startsWith('application/vnd.docker.image.rootfs.'))
  );
}

// ---- descriptor --------------------------------------------------------------
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

// ---- index / manifest list ------------------------------------------------------
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: typeof MediaTypes.OCI_INDEX | typeof MediaTypes.DOCKER_MANIFEST_LIST;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

// ---- manifest ----------------------------------------------------------------
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: typeof MediaTypes.OCI_MANIFEST | typeof MediaTypes.DOCKER_MANIFEST;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

// ---- config --------------------------------------------------------------------
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The `config` member of an image config (OCI ImageConfig + Docker extensions). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  // Docker extensions
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface RootFS {
  type: 'layers';
  /** Uncompressed layer digests (DiffIDs), bottom first. */
  diff_ids: Digest[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: RootFS;
  history?: HistoryEntry[];
}

// ---- OCI image layout (index.json / oci-layout) -------------------------------------
export interface OciLayout {
  imageLayoutVersion: '1.0.0';
}

/** Standard annotation keys. */
export const Annotations = {
  REF_NAME: 'org.opencontainers.image.ref.name',
  CREATED: 'org.opencontainers.image.created',
  BASE_NAME: 'org.opencontainers.image.base.name',
  BASE_DIGEST: 'org.opencontainers.image.base.digest',
  /** containerd's full image name annotation (used by `docker save` in OCI form). */
  CONTAINERD_IMAGE_NAME: 'io.containerd.image.name',
} as const;
