/**
 * Safe extraction of an OCI/Docker layer tar (hostile input) into a directory.
 *
 * Guarantees (single-writer assumption: nobody else mutates targetDir while we run):
 *  - every entry name is normalised (leading "/" and "./" stripped, "." dropped,
 *    ".." resolved lexically) and rejected if it escapes targetDir, contains NUL,
 *    is longer than PATH_MAX (4096 bytes) or has a component longer than 255 bytes;
 *  - every parent component is walked with lstat: missing parents are created
 *    (0755, 0:0), a symlinked or non-directory parent aborts extraction, so no
 *    symlink that exists in targetDir (from a lower layer or this one) is ever
 *    followed;
 *  - regular files are created with O_CREAT|O_EXCL|O_NOFOLLOW after removing
 *    whatever non-directory (or directory, for a non-directory entry) was there;
 *  - hard links must point at an existing non-directory inside targetDir, found
 *    by the same symlink-refusing walk;
 *  - chown happens before chmod (so setuid/setgid survive); mtimes via lutimes,
 *    directory mtimes are applied at the end (re-validated, never through symlinks).
 *
 * Not done here (Node has no mknod/setxattr) and returned to the caller instead:
 *  devices (char/block/fifo), overlay whiteouts (0:0 char devices), opaque dirs
 *  (trusted.overlay.opaque=y), and SCHILY.xattr.* PAX xattrs.
 *
 * On error the function rejects with a LayerExtractError naming the entry; what
 * was extracted so far stays in targetDir (including possibly a partially written
 * regular file when the tar is truncated in the middle of its data). Callers
 * must extract into a fresh temporary directory and rename it on success only.
 */
import { constants as C, promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { tarBlockWalker } from './tar-blocks';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

const PATH_MAX = 4096;
const NAME_MAX = 255;

export type WhiteoutMode = 'overlay' | 'delete';

export interface ExtractOptions {
  whiteouts: WhiteoutMode;
}

export interface DeviceEntry {
  /** path relative to targetDir ("a/b/c"); the path has been cleared (nothing exists there). */
  path: string;
  type: 'char' | 'block' | 'fifo';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

export interface XattrEntry {
  /** path relative to targetDir */
  path: string;
  /** xattr name (e.g. "security.capability") → value as decoded by the PAX parser (utf-8 string) */
  xattrs: Record<string, string>;
}

export interface ExtractResult {
  /** tar entries processed (including whiteout markers, excluding PAX/GNU meta headers) */
  entries: number;
  /** bytes of regular-file data written */
  bytes: number;
  devices: DeviceEntry[];
  /** overlay mode: paths (relative) where a 0:0 char device whiteout must be created */
  whiteouts: string[];
  /** overlay mode: directories (relative, "" = root) needing trusted.overlay.opaque=y */
  opaque: string[];
  xattrs: XattrEntry[];
  warnings: string[];
}

export class LayerExtractError extends Error {
  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`layer entry ${JSON.stringify(entry)}: ${reason}`);
    this.name = 'LayerExtractError';
  }
}

/**
 * Normalise a tar path to a list of components relative to the root.
 * Returns [] for the root itself. Throws (with reason) on hostile names.
 */
export function normaliseEntryPath(name: string): string[] {
  if (name.includes('\0')) throw new Error('name contains a NUL byte');
  if (Buffer.byteLength(name) > PATH_MAX) throw new Error(`path longer than ${PATH_MAX} bytes`);
  const out: string[] = [];
  for (const comp of name.split('/')) {
    if (comp === '' || comp === '.') continue;
    if (comp === '..') {
      if (out.length === 0) throw new Error('path escapes the target directory');
      out.pop();
      continue;
    }
    if (Buffer.byteLength(comp) > NAME_MAX) throw new Error(`path component longer than ${NAME_MAX} bytes`);
    out.push(comp);
  }
  return out;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
}

export async function extractLayer(
  tarStream: Readable,
  targetDir: string,
  opts: ExtractOptions,
): Promise<ExtractResult> {
  if (opts.whiteouts !== 'overlay' && opts.whiteouts !== 'delete') {
    throw new Error(`extractLayer: invalid whiteouts mode ${String(opts.whiteouts)}`);
  }
  const root = await fsp.realpath(targetDir);
  const rootSt = await fsp.lstat(root);
  if (!rootSt.isDirectory()) throw new Error(`extractLayer: ${targetDir} is not a directory`);

  const result: ExtractResult = {
    entries: 0,
    bytes: 0,
    devices: [],
    whiteouts: [],
    opaque: [],
    xattrs: [],
    warnings: [],
  };
  /** relative paths created or written by this layer (for opaque handling in delete mode) */
  const layerPaths = new Set<string>();
  /**
   * Relative paths seen (lstat) or made (mkdir) as real directories by this extraction, so each
   * parent is checked once per layer instead of once per entry below it. Under the single-writer
   * assumption only this function changes targetDir, and everything that can replace a directory
   * goes through clear() or purgeExcept(), which forget() it and all below it first.
   */
  const knownDirs = new Set<string>();
  const dirTimes: Array<{ rel: string[]; mtime: Date }> = [];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  const abs = (comps: string[]): string => (comps.length ? path.join(root, ...comps) : root);

  /**
   * Walk the parents of comps (all but the last component) with lstat.
   * create=true: create missing dirs; false: return false if one is missing.
   * Throws on a symlinked / non-directory parent.
   */
  async function walkParents(comps: string[], create: boolean, upto = comps.length - 1): Promise<boolean> {
    // All parents already seen as real directories: nothing to lstat (see knownDirs).
    if (upto > 0 && knownDirs.has(comps.slice(0, upto).join('/'))) return true;
    for (let i = 0; i < upto; i++) {
      const sub = comps.slice(0, i + 1);
      const key = sub.join('/');
      if (knownDirs.has(key)) continue;
      const p = abs(sub);
      const st = await lstatOrNull(p);
      if (st === null) {
        if (!create) return false;
        await fsp.mkdir(p, 0o755);
        layerPaths.add(key);
        knownDirs.add(key);
        continue;
      }
      if (st.isSymbolicLink()) throw new Error(`parent ${JSON.stringify(key)} is a symlink`);
      if (!st.isDirectory()) throw new Error(`parent ${JSON.stringify(key)} is not a directory`);
      knownDirs.add(key);
    }
    return true;
  }

  /** A directory at `p` was removed: it and everything below it are no longer known. */
  function forget(p: string): void {
    const rel = path.relative(root, p);
    for (const d of knownDirs) if (d === rel || d.startsWith(rel + '/')) knownDirs.delete(d);
  }

  /** Remove whatever is at p (no symlink following: rm removes the link itself). */
  async function clear(p: string, keepDir: boolean): Promise<Stats | null> {
    const st = await lstatOrNull(p);
    if (st === null) return null;
    if (st.isDirectory()) {
      if (keepDir) return st;
      forget(p);
      await fsp.rm(p, { recursive: true, force: true });
      return null;
    }
    await fsp.unlink(p);
    return null;
  }

  async function chownSafe(fn: () => Promise<void>, what: string): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (!isRoot && (errno(e) === 'EPERM' || errno(e) === 'EINVAL')) {
        result.warnings.push(`${what}: chown not permitted (not root), ownership not applied`);
        return;
      }
      throw e;
    }
  }

  /** Delete-mode opaque: remove everything under relDir not written by this layer. */
  async function purgeExcept(comps: string[]): Promise<void> {
    const dir = abs(comps);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw e;
    }
    for (const n of names) {
      const sub = [...comps, n];
      const p = abs(sub);
      if (!layerPaths.has(sub.join('/'))) {
        forget(p);
        await fsp.rm(p, { recursive: true, force: true });
        continue;
      }
      const st = await fsp.lstat(p);
      if (st.isDirectory()) await purgeExcept(sub);
    }
  }

  async function handle(header: tar.Header, entry: AsyncIterable<unknown>): Promise<void> {
    const type = header.type ?? 'file';
    const comps = normaliseEntryPath(header.name);
    const rel = comps.join('/');
    const base = comps.length ? comps[comps.length - 1]! : '';
    const mode = (header.mode ?? 0o644) & 0o7777;
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;
    const mtime = header.mtime ?? new Date(0);

    // ---- whiteouts ----
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const parent = comps.slice(0, -1);
      if (base === WHITEOUT_OPAQUE) {
        if (opts.whiteouts === 'overlay') {
          await walkParents(comps, true);
          result.opaque.push(parent.join('/'));
        } else {
          // the directory itself must be a real directory (walk includes it as a parent)
          if (await walkParents(comps, false)) await purgeExcept(parent);
        }
        return;
      }
      if (base.startsWith(WHITEOUT_META_PREFIX)) {
        result.warnings.push(`${rel}: unsupported AUFS meta whiteout ignored`);
        return;
      }
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === '' || victim === '.' || victim === '..') throw new Error('invalid whiteout name');
      const victimComps = [...parent, victim];
      if (opts.whiteouts === 'overlay') {
        await walkParents(victimComps, true);
        await clear(abs(victimComps), false);
        layerPaths.delete(victimComps.join('/'));
        result.whiteouts.push(victimComps.join('/'));
      } else if (await walkParents(victimComps, false)) {
        await clear(abs(victimComps), false);
        layerPaths.delete(victimComps.join('/'));
      }
      return;
    }

    if (comps.length === 0) {
      if (type !== 'directory') throw new Error('non-directory entry for the root directory');
      result.warnings.push(`${header.name}: root directory entry, metadata not applied`);
      return;
    }

    await walkParents(comps, true);
    const target = abs(comps);

    const pax = (header.pax ?? null) as Record<string, string> | null;
    if (pax) {
      const x: Record<string, string> = {};
      let any = false;
      for (const [k, v] of Object.entries(pax)) {
        if (k.startsWith('SCHILY.xattr.')) {
          x[k.slice('SCHILY.xattr.'.length)] = v;
          any = true;
        }
      }
      if (any) result.xattrs.push({ path: rel, xattrs: x });
    }

    switch (type) {
      case 'directory': {
        const existing = await clear(target, true);
        if (!existing) await fsp.mkdir(target, 0o700);
        await chownSafe(() => fsp.lchown(target, uid, gid), rel);
        await fsp.chmod(target, mode); // target is a real directory (lstat'd / just created)
        dirTimes.push({ rel: comps, mtime });
        break;
      }
      case 'file':
      case 'contiguous-file': {
        await clear(target, false);
        const fh = await fsp.open(target, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of entry) {
            const buf = chunk as Buffer;
            let off = 0;
            while (off < buf.length) {
              const { bytesWritten } = await fh.write(buf, off, buf.length - off);
              off += bytesWritten;
            }
            result.bytes += buf.length;
          }
          await chownSafe(() => fh.chown(uid, gid), rel);
          await fh.chmod(mode);
        } finally {
          await fh.close();
        }
        await fsp.lutimes(target, mtime, mtime);
        break;
      }
      case 'symlink': {
        const linkname = header.linkname ?? '';
        if (linkname === '' || linkname.includes('\0')) throw new Error('invalid symlink target');
        await clear(target, false);
        await fsp.symlink(linkname, target);
        await chownSafe(() => fsp.lchown(target, uid, gid), rel);
        await fsp.lutimes(target, mtime, mtime);
        break;
      }
      case 'link': {
        let lcomps: string[];
        try {
          lcomps = normaliseEntryPath(header.linkname ?? '');
        } catch (e) {
          throw new Error(`hardlink target ${JSON.stringify(header.linkname)}: ${(e as Error).message}`);
        }
        if (lcomps.length === 0) throw new Error('hardlink to the root directory');
        try {
          await walkParents(lcomps, false);
        } catch (e) {
          throw new Error(`hardlink target ${JSON.stringify(header.linkname)}: ${(e as Error).message}`);
        }
        const src = abs(lcomps);
        const st = await lstatOrNull(src);
        if (!st) throw new Error(`hardlink target ${JSON.stringify(header.linkname)} does not exist in the layer`);
        if (st.isDirectory()) throw new Error(`hardlink target ${JSON.stringify(header.linkname)} is a directory`);
        if (src === target) break;
        await clear(target, false);
        await fsp.link(src, target); // linkat without AT_SYMLINK_FOLLOW: a symlink target is linked, not followed
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await clear(target, false);
        result.devices.push({
          path: rel,
          type: type === 'fifo' ? 'fifo' : type === 'block-device' ? 'block' : 'char',
          major: header.devmajor ?? 0,
          minor: header.devminor ?? 0,
          mode,
          uid,
          gid,
          mtime,
        });
        break;
      }
      default:
        result.warnings.push(`${rel}: unsupported entry type ${String(type)} skipped`);
        return;
    }
    layerPaths.add(rel);
  }

  const ex = tar.extract();
  let exError: Error | null = null;
  ex.on('error', (e: Error) => {
    exError ??= e;
  });
  const onSrcError = (e: Error): void => {
    ex.destroy(e);
  };
  // Accept a tar that stops right after its last entry's data, as Go's archive/tar does.
  const blocks = tarBlockWalker({ completePadding: true }).stream;
  tarStream.on('error', onSrcError);
  blocks.on('error', onSrcError);
  tarStream.pipe(blocks).pipe(ex);
  let current = '';
  const corrupt = (e: unknown): LayerExtractError =>
    new LayerExtractError(current === '' ? '<stream>' : current, `corrupt or truncated tar: ${(e as Error)?.message ?? String(e)}`);
  try {
    for await (const entry of ex) {
      current = entry.header.name;
      result.entries++;
      try {
        await handle(entry.header, entry);
      } catch (e) {
        if (e instanceof LayerExtractError) throw e;
        // a failure while reading entry data comes from the tar stream, not from the entry
        if (exError) throw corrupt(exError);
        throw new LayerExtractError(current, (e as Error)?.message ?? String(e));
      }
      entry.resume(); // drain anything not consumed (devices, links, skipped types)
    }
  } catch (e) {
    tarStream.unpipe(blocks);
    blocks.unpipe(ex);
    tarStream.destroy();
    blocks.destroy();
    ex.destroy();
    if (e instanceof LayerExtractError) throw e;
    throw corrupt(e);
  } finally {
    tarStream.off('error', onSrcError);
  }

  // Directory mtimes last (children changed them), deepest first, never through symlinks.
  for (let i = dirTimes.length - 1; i >= 0; i--) {
    const { rel, mtime } = dirTimes[i]!;
    let ok = false;
    try {
      ok = await walkParents(rel, false);
    } catch {
      ok = false;
    }
    if (!ok) continue;
    const st = await lstatOrNull(abs(rel));
    if (st && st.isDirectory()) await fsp.lutimes(abs(rel), mtime, mtime);
  }
  return result;
}
