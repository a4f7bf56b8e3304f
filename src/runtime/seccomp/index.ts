// seccomp for berth: OCI profiles compiled to classic BPF in TypeScript (no libseccomp).
//   compileSeccomp(profile) → { program, flags, listenerPath?, listenerMetadata? }
//   compileCached(profile, cacheDir?) → the same through a content-addressed cache
//   dockerDefaultProfile({ capabilities }) → Docker's default profile for a container
// The semantics, and where they follow runc/libseccomp, are described in compile.ts.

export { BAD_ARCH_RETURN, ENOSYS_RETURN, SeccompError, actionReturn, compileSeccomp } from './compile';
export type { CompileOptions, CompiledSeccomp } from './compile';
export { canonicalJson, clearSeccompMemoryCache, compileCached, seccompCacheKey } from './cache';
export type { CachedSeccomp } from './cache';
export { DOCKER_DEFAULT_CAPABILITIES, DOCKER_DEFAULT_PROFILE, UNCONFINED, dockerDefaultProfile, expandDockerProfile } from './default-profile';
export type { DockerDefaultProfileOptions, DockerSeccompProfile } from './default-profile';
export { checkFilter, runFilter } from './interp';
export type { SeccompData } from './interp';
export { disassemble } from './bpf';
