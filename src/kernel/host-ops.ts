// Kernel calls Node cannot make, done by the native stage in "host" mode:
// attaching a cgroup v2 device filter (bpf(2)) and v1 OOM notifications (eventfd).
import { encodePlan } from '../runtime/plan/encode';
import { StageChannel } from './stage';
import type { DeviceEntry } from '../image/layer/extract';

export class HostOpError extends Error {}

/** Loads `program` (struct bpf_insn[], compiled in TypeScript) and attaches it to `cgroupDir`, replacing the previous one. */
export async function attachDeviceFilter(cgroupDir: string, program: Buffer): Promise<void> {
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ['op:bpf_devices', cgroupDir, program]]), 'ignore');
  for (;;) {
    const m = await ch.next();
    if (m.kind === 'done') return;
    if (m.kind === 'error') throw new HostOpError(m.message);
    if (m.kind === 'eof') return;
  }
}

export interface OomWatch {
  /** Resolves once the kernel registration is in place. */
  ready: Promise<void>;
  close(): void;
}

/** cgroup v1: calls onOom for each OOM event in `memoryDir`, until close() or the cgroup is removed. */
export function watchOomV1(memoryDir: string, onOom: () => void, onGone?: () => void): OomWatch {
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ['op:oomwatch', memoryDir]]), 'ignore');
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  let gone = false;
  const fireGone = () => {
    if (!gone) {
      gone = true;
      onGone?.();
    }
  };
  void (async () => {
    for (;;) {
      const m = await ch.next();
      if (m.kind === 'error') return rejectReady(new HostOpError(m.message));
      if (m.kind === 'eof') return fireGone();
      if (m.kind === 'ready') resolveReady();
      else if (m.kind === 'oom') onOom();
      else if (m.kind === 'gone') fireGone();
    }
  })();
  return { ready, close: () => ch.kill() };
}

/** What `applyLayerMeta` writes: the parts of `extractLayer`'s result Node cannot create. */
export interface LayerMeta {
  devices: DeviceEntry[];
  whiteouts: string[];
  opaque: string[];
  /** values: strings are written as their UTF-8 bytes, Buffers as they are */
  xattrs: { path: string; xattrs: Record<string, string | Buffer> }[];
}

/** The host-op records for `meta` (exported for the unit tests). Order: devices, whiteouts, xattrs, opaque. */
export function layerMetaRecords(layerDir: string, meta: LayerMeta): (string | Buffer)[][] {
  const recs: (string | Buffer)[][] = [];
  for (const d of meta.devices) {
    const ms = d.mtime.getTime();
    const sec = Math.floor(ms / 1000);
    const t = d.type === 'char' ? 'c' : d.type === 'block' ? 'b' : 'p';
    recs.push(['op:layer_dev', layerDir, d.path, t, String(d.major), String(d.minor), String(d.mode & 0o7777),
      String(d.uid), String(d.gid), String(sec), String((ms - sec * 1000) * 1_000_000)]);
  }
  for (const w of meta.whiteouts) recs.push(['op:layer_whiteout', layerDir, w]);
  for (const x of meta.xattrs) {
    for (const [name, v] of Object.entries(x.xattrs)) {
      const bytes = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
      recs.push(['op:layer_xattr', layerDir, x.path, name, bytes.toString('hex')]);
    }
  }
  // Last: an opaque directory may itself carry (and replace) xattrs from the tar.
  for (const o of meta.opaque) recs.push(['op:layer_opaque', layerDir, o]);
  return recs;
}

/**
 * Creates devices/fifos, overlay whiteouts (0:0 char devices), opaque markers
 * (trusted.overlay.opaque=y) and xattrs inside `layerDir`, every path resolved strictly
 * inside it by the stage (openat2 RESOLVE_IN_ROOT). Xattrs on symlinks are skipped.
 * Rejects with a HostOpError naming the path on the first failure.
 */
export async function applyLayerMeta(layerDir: string, meta: LayerMeta): Promise<void> {
  const recs = layerMetaRecords(layerDir, meta);
  if (recs.length === 0) return;
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ...recs]), 'ignore');
  for (;;) {
    const m = await ch.next();
    if (m.kind === 'done') return;
    if (m.kind === 'error') throw new HostOpError(`layer ${layerDir}: ${m.message}`);
    if (m.kind === 'eof') throw new HostOpError(`layer ${layerDir}: the stage exited without reporting`);
  }
}

/**
 * The value of xattr `name` on each of `rels` (paths resolved strictly inside `layerDir`), or
 * undefined where it is absent or the path is a symlink. One stage for the whole batch.
 * (Node has no getxattr; the storage drivers read overlay opaque markers with it.)
 */
export async function readLayerXattrs(layerDir: string, rels: string[], name: string): Promise<(Buffer | undefined)[]> {
  if (rels.length === 0) return [];
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ...rels.map((r) => ['op:layer_getxattr', layerDir, r, name])]), 'ignore');
  const out: (Buffer | undefined)[] = [];
  for (;;) {
    const m = await ch.next();
    if (m.kind === 'xattr') out.push(m.value === '-' ? undefined : Buffer.from(m.value, 'hex'));
    else if (m.kind === 'done') break;
    else if (m.kind === 'error') throw new HostOpError(`layer ${layerDir}: ${m.message}`);
    else if (m.kind === 'eof') throw new HostOpError(`layer ${layerDir}: the stage exited without reporting`);
  }
  if (out.length !== rels.length) throw new HostOpError(`layer ${layerDir}: ${out.length} xattr answers for ${rels.length} paths`);
  return out;
}

/**
 * Storage probe: in a throwaway mount namespace of a stage of its own (never the host's),
 * mounts overlay over `<dir>/{lower,upper,work}` on `<dir>/merged`, deletes `merged/f` and
 * creates `merged/n`. The caller prepares `dir` and checks `upper` afterwards.
 */
export async function probeOverlayMount(dir: string): Promise<void> {
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ['op:overlay_probe', dir]]), 'ignore');
  for (;;) {
    const m = await ch.next();
    if (m.kind === 'done') return;
    if (m.kind === 'error') throw new HostOpError(m.message);
    if (m.kind === 'eof') throw new HostOpError('the stage exited without reporting');
  }
}
