// Idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP, Linux 5.12+): the rootfs and bind mounts are
// shown with the container's ownership, and nothing is chowned on disk.
//
// Two ways to ask for one:
// - The rootfs: the annotation "org.berth.rootfs.idmap": "true" (set by the engine) with a new
//   user namespace. The rootfs is idmapped with the container's own linux.uidMappings and
//   gidMappings: a file owned by uid 0 on disk is seen inside as owned by the container's uid 0
//   (host uid 100000 with "0 100000 65536"), and a file the container's root creates is written
//   to disk as uid 0, exactly as if the image had been chowned and the container ran unmapped.
// - A bind mount (OCI 1.1): mounts[].uidMappings/gidMappings, or the options "idmap" (the mount
//   itself) and "ridmap" (every mount below it too). A mapping {containerID, hostID, size} maps
//   the ID on disk (containerID) to a host ID (hostID), as runc and crun read it. "idmap" without
//   mappings of its own maps the mount like the container's user namespace.
//
// The plan (native/stage/idmap.c): `idmap_userns <n> <uid_map> <gid_map>` (a user namespace the
// stage parent makes with exactly these maps), `mount_clone <i> <source> <open_tree flags>
// <userns n|-1> <mount_setattr flags>` (a detached clone the stage parent makes as host root
// before it forks), and `op:attach_clone <i> <target> <abs|dir|file|none>` (the init moves clone i
// onto its target). Before a launch berth-runtime asks the kernel through the stage (mode
// idmap_probe) whether it accepts each idmapped mount. Where it refuses (a filesystem without
// idmapped mount support, an old kernel), the rootfs falls back to a copy chowned to the
// container's IDs, with a warning naming the path and the errno; an idmapped bind mount is refused
// instead, since a copy would silently stop sharing the directory with the host.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { STAGE_BINARY } from '../../kernel/stage';
import { RuntimeError } from '../errors';
import type { LinuxIDMapping, Mount, Spec } from '../spec/types';
import { PlanRecord, encodePlan } from './encode';
import type { LaunchPlan } from './plan';

/** berth's annotation asking for an idmapped rootfs ("true" or "false"). */
export const ROOTFS_IDMAP_ANNOTATION = 'org.berth.rootfs.idmap';

export const OPEN_TREE_CLONE = 0x1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
/** The owner the kernel shows for an ID an idmapping does not cover (kernel.overflowuid). */
export const OVERFLOW_ID = 65534;

export interface IdMaps {
  uid: LinuxIDMapping[];
  gid: LinuxIDMapping[];
}

export interface CloneRequest {
  /** Where the request comes from, for messages: "config.json: mounts[2]", "the rootfs /b/rootfs". */
  what: string;
  source: string;
  /** Clone the mounts below source too (rbind). */
  recursive: boolean;
  /** Idmap the mounts below source too (ridmap). */
  recursiveIdmap: boolean;
  maps: IdMaps;
  /** Where the kernel refuses the idmapped mount: a chowned copy (the rootfs) or an error. */
  onRefusal: 'copy' | 'error';
}

/** The stage's answer for one request: the call that failed ("ok" if none) and its errno. */
export interface ProbeResult {
  step: 'ok' | 'userns' | 'open_tree' | 'mount_setattr';
  errno: number;
}
export type IdmapProbe = (requests: readonly CloneRequest[]) => ProbeResult[];

export type IdmapOutcome = { kind: 'idmap' } | { kind: 'copy'; reason: string };

export interface FinishOptions {
  /** How to ask the kernel (default: the stage in mode idmap_probe); tests pass a fake. */
  probe?: IdmapProbe;
  /** Where a chowned copy may be made: the container's state directory, removed with it. */
  copyDir?: string;
  warn: (msg: string) => void;
}

const mapText = (m: LinuxIDMapping[]) => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join('');
export const cloneFlags = (r: CloneRequest) => OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (r.recursive ? AT_RECURSIVE : 0);
export const setattrFlags = (r: CloneRequest) => AT_EMPTY_PATH | (r.recursiveIdmap ? AT_RECURSIVE : 0);

/** True when the spec asks for an idmapped rootfs; a value other than "true"/"false" is an error. */
export function rootfsIdmapRequested(spec: Spec): boolean {
  const v = spec.annotations?.[ROOTFS_IDMAP_ANNOTATION];
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw new RuntimeError(`config.json: annotations["${ROOTFS_IDMAP_ANNOTATION}"]: must be "true" or "false" (got ${JSON.stringify(v)})`);
}

/** The rootfs's clone when the spec asks for an idmapped rootfs; undefined when it does not. */
export function rootfsIdmapRequest(spec: Spec, rootfs: string, containerMaps: IdMaps | undefined, newMountNs: boolean): CloneRequest | undefined {
  if (!rootfsIdmapRequested(spec)) return undefined;
  const where = `config.json: annotations["${ROOTFS_IDMAP_ANNOTATION}"]`;
  if (!containerMaps || !containerMaps.uid.length || !containerMaps.gid.length) {
    throw new RuntimeError(`${where}: an idmapped rootfs needs a new user namespace with uid and gid mappings (add {"type": "user"} to linux.namespaces, and linux.uidMappings/gidMappings)`);
  }
  if (!newMountNs) throw new RuntimeError(`${where}: an idmapped rootfs needs a new mount namespace; a joined one already has its root`);
  return { what: `the rootfs ${rootfs}`, source: rootfs, recursive: true, recursiveIdmap: true, maps: containerMaps, onRefusal: 'copy' };
}

/** How mounts[i] is idmapped, or undefined when it is not; an impossible request is an error. */
export function mountIdmap(m: Mount, where: string, containerMaps: IdMaps | undefined): { recursiveIdmap: boolean; maps: IdMaps } | undefined {
  const opts = m.options ?? [];
  const idmap = opts.includes('idmap');
  const ridmap = opts.includes('ridmap');
  const own = m.uidMappings !== undefined || m.gidMappings !== undefined;
  if (!idmap && !ridmap && !own) return undefined;
  if (m.type !== 'bind' && !opts.some((o) => o === 'bind' || o === 'rbind')) {
    throw new RuntimeError(`config.json: ${where}: id-mapped mounts must be bind mounts (type "bind", or the option "bind" or "rbind")`);
  }
  if (idmap && ridmap) throw new RuntimeError(`config.json: ${where}.options: "idmap" and "ridmap" exclude each other`);
  if (own) {
    if (!m.uidMappings?.length || !m.gidMappings?.length) {
      throw new RuntimeError(`config.json: ${where}: an id-mapped mount needs both uidMappings and gidMappings, each with at least one entry`);
    }
    return { recursiveIdmap: ridmap, maps: { uid: m.uidMappings, gid: m.gidMappings } };
  }
  if (!containerMaps || !containerMaps.uid.length || !containerMaps.gid.length) {
    throw new RuntimeError(
      `config.json: ${where}.options: "${ridmap ? 'ridmap' : 'idmap'}" without uidMappings/gidMappings maps the mount like the container's user namespace, and this container has no new one (give the mount its own mappings)`,
    );
  }
  return { recursiveIdmap: ridmap, maps: containerMaps };
}

function errnoText(errno: number): string {
  let name: string;
  try {
    name = util.getSystemErrorName(-errno);
  } catch {
    name = `errno ${errno}`;
  }
  return name;
}

const HINTS: Record<string, string> = {
  EINVAL: 'the filesystem does not support idmapped mounts on this kernel',
  ENOSYS: 'this kernel has no idmapped mounts (Linux 5.12 or later)',
  EPERM: 'already idmapped, or a filesystem mounted in another user namespace',
  EOPNOTSUPP: 'not supported',
};
const REFUSALS = new Set(Object.keys(HINTS));

/**
 * What to do with one request, given the kernel's answer: idmap it, copy it (the kernel refuses
 * an idmapped mount and the request allows a copy), or an error that says which call failed.
 */
export function idmapOutcome(req: CloneRequest, res: ProbeResult | undefined): IdmapOutcome {
  if (!res) throw new RuntimeError(`${req.what}: berth-stage gave no answer about its idmapped mount`);
  if (res.step === 'ok') return { kind: 'idmap' };
  const name = errnoText(res.errno);
  if (res.step === 'userns') throw new RuntimeError(`${req.what}: creating a user namespace for its idmapped mount: ${name}`);
  const call = res.step === 'open_tree' ? 'open_tree' : 'mount_setattr(MOUNT_ATTR_IDMAP)';
  const refused = res.step === 'mount_setattr' ? REFUSALS.has(name) : name === 'ENOSYS';
  if (!refused) throw new RuntimeError(`${req.what}: ${call} of ${req.source}: ${name}`);
  const reason = `${call}: ${name}, ${HINTS[name]}`;
  if (req.onRefusal === 'copy') return { kind: 'copy', reason };
  throw new RuntimeError(
    `${req.what}: the kernel refuses an idmapped mount of ${req.source} (${reason}); berth-runtime does not copy a bind mount's source, which would no longer be shared with the host (chown the source instead, or drop the mount's idmapping)`,
  );
}

/** The host ID an idmapping gives the on-disk `id`, or undefined when it has none. */
export function mapId(id: number, maps: readonly LinuxIDMapping[]): number | undefined {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

/**
 * The fallback: `dst` becomes a copy of `src` (cp -a: modes, times, hard links, xattrs, device
 * nodes) owned as the idmapped mount would have shown it. An ID the maps do not cover goes to
 * the overflow ID and loses its set-id bit, as the kernel would show and honour it.
 */
export function chownCopy(src: string, dst: string, maps: IdMaps): void {
  const cp = spawnSync('cp', ['-a', '--reflink=auto', '-T', '--', src, dst], { encoding: 'utf8' });
  if (cp.error || cp.status !== 0) {
    throw new RuntimeError(`copying ${src} to ${dst}: ${cp.error?.message ?? (cp.stderr.trim() || `cp exited with ${cp.status}`)}`);
  }
  const walk = (rel: string): void => {
    const s = fs.lstatSync(path.join(src, rel));
    const d = path.join(dst, rel);
    const uid = mapId(s.uid, maps.uid);
    const gid = mapId(s.gid, maps.gid);
    fs.lchownSync(d, uid ?? OVERFLOW_ID, gid ?? OVERFLOW_ID);
    if (!s.isSymbolicLink()) {
      let mode = s.mode & 0o7777;
      if (uid === undefined) mode &= ~0o4000;
      if (gid === undefined) mode &= ~0o2000;
      // chown(2) clears the set-id bits: put back the ones that stay.
      if (mode & 0o6000 || mode !== (s.mode & 0o7777)) fs.chmodSync(d, mode);
    }
    if (s.isDirectory()) for (const name of fs.readdirSync(path.join(src, rel))) walk(path.join(rel, name));
  };
  walk('');
}

/** Header records for clones: [source, request, idmapped?] in clone order. */
function cloneRecords(entries: { source: string; req: CloneRequest; idmap: boolean }[]): PlanRecord[] {
  const userns = new Map<string, number>();
  const usernsRecs: PlanRecord[] = [];
  const cloneRecs: PlanRecord[] = [];
  entries.forEach(({ source, req, idmap }, i) => {
    let n = -1;
    if (idmap) {
      const uid = mapText(req.maps.uid);
      const gid = mapText(req.maps.gid);
      const key = `${uid}\0${gid}`;
      n = userns.get(key) ?? -1;
      if (n < 0) {
        n = userns.size;
        userns.set(key, n);
        usernsRecs.push(['idmap_userns', n, uid, gid]);
      }
    }
    cloneRecs.push(['mount_clone', i, source, cloneFlags(req), n, idmap ? setattrFlags(req) : 0]);
  });
  return [...usernsRecs, ...cloneRecs];
}

function parseProbeOutput(text: string, count: number): ProbeResult[] {
  const out: ProbeResult[] = new Array(count);
  for (const line of text.split('\n')) {
    const m = line.match(/^idmap (\d+) (ok|userns|open_tree|mount_setattr) (\d+)$/);
    if (m) {
      out[Number(m[1])] = { step: m[2] as ProbeResult['step'], errno: Number(m[3]) };
      continue;
    }
    const e = line.match(/^error -?\d+ \d+ (.*)$/);
    if (e) throw new RuntimeError(`asking the kernel about idmapped mounts: ${e[1]}`);
  }
  return out;
}

/**
 * The real probe: the stage in mode idmap_probe makes each clone (and throws it away) and answers
 * "idmap <i> <step> <errno>". It runs synchronously, so fd 3 (plan in, answers out) is an unlinked
 * temp file: the stage reads the plan from its start and appends its answers after it.
 */
export function probeWithStage(requests: readonly CloneRequest[]): ProbeResult[] {
  const plan = encodePlan([['mode', 'idmap_probe'], ...cloneRecords(requests.map((req) => ({ source: req.source, req, idmap: true })))]);
  const file = path.join(os.tmpdir(), `berth-idmap-probe-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(file, 'wx+', 0o600);
  try {
    fs.unlinkSync(file);
    fs.writeSync(fd, plan, 0, plan.length, 0); // pwrite: the offset stays at 0 for the stage
    const r = spawnSync(STAGE_BINARY, [], { stdio: ['ignore', 'ignore', 'pipe', fd], env: {}, timeout: 30_000 });
    if (r.error) throw new RuntimeError(`asking the kernel about idmapped mounts: cannot run ${STAGE_BINARY}: ${r.error.message}`);
    const size = fs.fstatSync(fd).size;
    const answer = Buffer.alloc(Math.max(0, size - plan.length));
    if (answer.length) fs.readSync(fd, answer, 0, answer.length, plan.length);
    const results = parseProbeOutput(answer.toString('utf8'), requests.length);
    if (r.status !== 0) {
      throw new RuntimeError(`asking the kernel about idmapped mounts: berth-stage exited with ${r.status ?? r.signal}: ${String(r.stderr ?? '').trim()}`);
    }
    return results;
  } finally {
    fs.closeSync(fd);
  }
}

/** The clones of one launch: requests while the plan is built, decisions and records at the end. */
export class MountClones {
  readonly requests: CloneRequest[] = [];

  /** Registers a clone; the index goes into its op:attach_clone. */
  add(req: CloneRequest): number {
    this.requests.push(req);
    return this.requests.length - 1;
  }

  /** Asks the kernel, makes the fallback copies, and writes the header records. */
  finish(plan: LaunchPlan, opts: FinishOptions): void {
    if (!this.requests.length) return;
    const results = (opts.probe ?? probeWithStage)(this.requests);
    const entries = this.requests.map((req, i) => {
      const outcome = idmapOutcome(req, results[i]);
      if (outcome.kind === 'idmap') return { source: req.source, req, idmap: true };
      const refused = `the kernel refuses an idmapped mount of ${req.what} (${outcome.reason})`;
      if (!opts.copyDir) throw new RuntimeError(`${refused}, and there is no place for a chowned copy`);
      // Host root only (0700): the stage parent clones the copy, the container never walks to it,
      // and no host user may reach a set-id file owned by a container ID.
      const parent = path.join(opts.copyDir, 'idmap-copies');
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      const copy = path.join(parent, String(i));
      opts.warn(`${refused}; using a copy chowned to the container's IDs instead: ${copy}`);
      chownCopy(req.source, copy, req.maps);
      return { source: copy, req, idmap: false };
    });
    plan.header.push(...cloneRecords(entries));
  }
}
