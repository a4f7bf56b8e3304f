/**
 * Image wire types of the Docker Engine API (moby api/swagger.yaml: ImageSummary, ImageInspect,
 * HistoryResponseItem), built from the image service's records.
 */
import type { Image } from '../../image/service';
import type { ContainerConfig } from '../../image/oci-types';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

const unix = (iso: string): number => Math.floor(Date.parse(iso) / 1000) || 0;

export function imageSummary(img: Image, containers = -1): ImageSummary {
  return {
    Id: img.id,
    ParentId: '',
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Created: unix(img.created),
    Size: img.size,
    SharedSize: -1,
    Labels: img.config.config?.Labels ?? {},
    Containers: containers,
  };
}

/** The image config as the API shows it (Docker fills the unset fields with zero values). */
function apiConfig(c: ContainerConfig | undefined): Record<string, unknown> {
  return {
    User: c?.User ?? '',
    Env: c?.Env ?? null,
    Cmd: c?.Cmd ?? null,
    Entrypoint: c?.Entrypoint ?? null,
    WorkingDir: c?.WorkingDir ?? '',
    Labels: c?.Labels ?? null,
    ...(c?.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    ...(c?.Volumes ? { Volumes: c.Volumes } : {}),
    ...(c?.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c?.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(c?.Shell ? { Shell: c.Shell } : {}),
    ...(c?.OnBuild ? { OnBuild: c.OnBuild } : {}),
    ...(c?.ArgsEscaped ? { ArgsEscaped: c.ArgsEscaped } : {}),
  };
}

export function imageInspect(img: Image, driver: { name: string; data: Record<string, string> }): Record<string, unknown> {
  const last = img.config.history?.filter((h) => !h.empty_layer).at(-1);
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: last?.comment ?? '',
    Created: img.created,
    DockerVersion: '',
    Author: img.config.author ?? '',
    Config: apiConfig(img.config.config),
    Architecture: img.config.architecture,
    ...(img.config.variant ? { Variant: img.config.variant } : {}),
    Os: img.config.os,
    ...(img.config['os.version'] ? { OsVersion: img.config['os.version'] } : {}),
    Size: img.size,
    GraphDriver: { Name: driver.name, Data: driver.data },
    RootFS: { Type: 'layers', Layers: img.config.rootfs.diff_ids },
    Metadata: { LastTagTime: img.entry.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}
