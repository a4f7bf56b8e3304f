// Public surface of the Docker request -> OCI spec builder.
export { buildContainerSpec, CONTAINER_INIT_PATH, DEFAULT_CGROUP_PARENT, DEFAULT_SHM_SIZE, defaultMaskedPaths } from './build';
export type { ContainerSpecInput, ContainerSpecResult } from './build';
export type * from './docker-types';
export { SpecInputError } from './errors';
export { parseSignal, SIGNALS } from './signal';
export type { ResolvedContainer } from './namespaces';
export type { HostInfo } from './host-info';
export { detectHostInfo, hostInfo } from './host-info';
