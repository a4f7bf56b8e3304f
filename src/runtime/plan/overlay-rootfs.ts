// The annotation `org.berth.rootfs.overlay` (set by the engine from its overlay snapshotter): the
// container's root is an overlay mounted by the init inside the container's own mount namespace,
// so no host mount exists that could leak. Value (JSON):
//   {"base": "/var/lib/berth/storage/overlay", "lower": ["l/ABC…", …], "upper": "<id>/diff", "work": "<id>/work"}
// `lower` is top first; each entry a moby short link `l/[A-Z0-9]{26}` relative to `base`;
// `upper`/`work` are relative to `base` (no "..") or absolute. The stage chdirs to `base` and
// mounts with the relative paths, which keeps a 125-layer image's options under a page.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../errors';

export const ROOTFS_OVERLAY_ANNOTATION = 'org.berth.rootfs.overlay';

/** The kernel copies at most one page of mount data. */
export const MOUNT_DATA_MAX = 4095;

/** What the TypeScript side of the snapshotter does not interpret: kept explicit so a host default cannot change it. */
const FIXED_OPTIONS = 'redirect_dir=off,metacopy=off';

export interface OverlayRootfsSpec {
  /** Absolute directory the mount is made from (`<storage root>/overlay`). */
  base: string;
  /** Short links relative to `base`, top first. */
  lower: string[];
  upper: string;
  work: string;
}

const LOWER_RE = /^l\/[A-Z0-9]{26}$/;
/** A path component we let into mount data: no ",", ":", "\\", "=", whitespace or control characters. */
const COMPONENT_RE = /^[A-Za-z0-9_.+@-]+$/;

function fail(what: string, why: string): never {
  throw new RuntimeError(`config.json: annotations["${ROOTFS_OVERLAY_ANNOTATION}"]: ${what}${why}`);
}

function checkPath(p: unknown, what: string, relativeOk: boolean): string {
  if (typeof p !== 'string' || p === '') fail(what, ' must be a non-empty string');
  const abs = p.startsWith('/');
  if (!abs && !relativeOk) fail(what, ` must be an absolute path (got ${JSON.stringify(p)})`);
  const comps = (abs ? p.slice(1) : p).split('/');
  if (abs && p === '/') fail(what, ' must not be /');
  for (const c of comps) {
    if (c === '' || c === '.' || c === '..') fail(what, ` must be a normalised path without "." or ".." or empty components (got ${JSON.stringify(p)})`);
    if (!COMPONENT_RE.test(c)) fail(what, ` has a character not allowed in overlay mount options (got ${JSON.stringify(p)}; allowed: letters, digits, "_.+@-")`);
  }
  return p;
}

/** Parses and validates the annotation value; throws a RuntimeError saying what is wrong. */
export function parseOverlayRootfs(value: string): OverlayRootfsSpec {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    fail('', `not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('', 'must be a JSON object {"base", "lower", "upper", "work"}');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['base', 'lower', 'upper', 'work'].includes(k)) fail('', `unknown field ${JSON.stringify(k)}`);
  const base = checkPath(o.base, 'base', false);
  if (!Array.isArray(o.lower) || o.lower.length === 0) fail('lower', ' must be a non-empty array of short links "l/<26 of A-Z0-9>"');
  const lower = o.lower.map((l, i) => {
    if (typeof l !== 'string' || !LOWER_RE.test(l)) fail(`lower[${i}]`, ` must be a short link "l/<26 of A-Z0-9>" (got ${JSON.stringify(l)})`);
    return l;
  });
  if (new Set(lower).size !== lower.length) fail('lower', ' lists a layer twice');
  const upper = checkPath(o.upper, 'upper', true);
  const work = checkPath(o.work, 'work', true);
  if (upper === work) fail('work', ' must differ from upper');
  const spec = { base, lower, upper, work };
  const data = overlayMountData(spec);
  if (Buffer.byteLength(data) > MOUNT_DATA_MAX) {
    fail('lower', ` has ${lower.length} layers: the mount options (${Buffer.byteLength(data)} bytes) exceed the kernel's page (${MOUNT_DATA_MAX})`);
  }
  return spec;
}

/** The mount data, paths relative to `base` (where the stage chdirs before mounting). */
export function overlayMountData(s: OverlayRootfsSpec): string {
  return `lowerdir=${s.lower.join(':')},upperdir=${s.upper},workdir=${s.work},${FIXED_OPTIONS}`;
}

/** The annotation's spec, or undefined when absent; the directories are checked to exist. */
export function overlayRootfsRequest(annotations: Record<string, string> | undefined): OverlayRootfsSpec | undefined {
  const raw = annotations?.[ROOTFS_OVERLAY_ANNOTATION];
  if (raw === undefined) return undefined;
  const s = parseOverlayRootfs(raw);
  const isDir = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
  if (!isDir(s.base)) fail('base', ` ${s.base} is not a directory`);
  for (const [what, rel] of [['upper', s.upper], ['work', s.work], ...s.lower.map((l, i) => [`lower[${i}]`, l])] as [string, string][]) {
    const p = path.resolve(s.base, rel);
    if (!isDir(p)) fail(what, ` ${p} is not a directory`);
  }
  return s;
}
