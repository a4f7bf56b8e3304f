/**
 * `berth cp` / `berth container cp`: docker/cli cp.go with moby's pkg/archive copy rules.
 *
 *   berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-     GET /containers/{id}/archive?path=
 *   berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH     HEAD (stat) + PUT /containers/{id}/archive
 *
 * Destination rules (archive.PrepareArchiveCopy): an existing directory receives the source
 * under its own name; an existing file is replaced (a directory onto a file is an error); a
 * missing destination takes the source's contents under the destination's name, provided its
 * parent exists ("dir/" for a file source: "no such directory"); "src/." copies the contents.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { CommandSpec, Ctx } from '../command';
import { StatusError } from '../command';
import { humanSize } from '../format/units';

const enc = encodeURIComponent;
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

const hasTrailingSep = (p: string) => p.length > 0 && p.endsWith('/');
const specifiesCurrentDir = (p: string) => path.basename(p) === '.' && (p === '.' || p.endsWith('/.'));

/** archive.SplitPathDirEntry. */
export function splitPathDirEntry(p: string): [string, string] {
  let cleaned = path.normalize(p);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return [path.dirname(cleaned), path.basename(cleaned) || '/'];
}

/** archive.PreserveTrailingDotOrSeparator. */
function preserveTrailing(cleaned: string, original: string): string {
  if (specifiesCurrentDir(original) && !specifiesCurrentDir(cleaned)) {
    if (!hasTrailingSep(cleaned)) cleaned += '/';
    cleaned += '.';
  }
  if (hasTrailingSep(original) && !hasTrailingSep(cleaned)) cleaned += '/';
  return cleaned;
}

/** archive.GetRebaseName. */
function getRebaseName(p: string, resolved: string): [string, string] {
  let rebase = '';
  if (specifiesCurrentDir(p) && !specifiesCurrentDir(resolved)) resolved += '/.';
  if (hasTrailingSep(p) && !hasTrailingSep(resolved)) resolved += '/';
  if (path.basename(p) !== path.basename(resolved)) rebase = path.basename(p);
  return [resolved, rebase];
}

/** strings.Replace(s, old, new, 1). */
function replaceFirst(s: string, oldS: string, newS: string): string {
  const i = s.indexOf(oldS);
  return i < 0 ? s : s.slice(0, i) + newS + s.slice(i + oldS.length);
}

function rebaseName(name: string, oldBase: string, newBase: string): string {
  if (oldBase === '/') return name.startsWith(newBase) ? name : path.join(newBase, name);
  return replaceFirst(name, oldBase, newBase);
}

interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName: string;
}

/** archive.PrepareArchiveCopy: where to extract, and how to rename the archive's entries. */
function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dir: string; rename?: [string, string] } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  let [, srcBase] = splitPathDirEntry(src.path);
  if (dst.exists && dst.isDir) return { dir: dst.path };
  if (dst.exists && src.isDir) throw new StatusError('cannot copy directory', 1);
  if (src.rebaseName) srcBase = src.rebaseName;
  if (dst.exists || src.isDir) return { dir: dstDir, rename: [srcBase, dstBase] };
  if (hasTrailingSep(dst.path) || specifiesCurrentDir(dst.path)) throw new StatusError('no such directory', 1);
  return { dir: dstDir, rename: [srcBase, dstBase] };
}

function errnoMessage(e: NodeJS.ErrnoException, op: string, p: string): string {
  const msgs: Record<string, string> = { ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EACCES: 'permission denied', ELOOP: 'too many levels of symbolic links' };
  return `${op} ${p}: ${msgs[e.code ?? ''] ?? e.message}`;
}

/** archive.CopyInfoDestinationPath on the local filesystem. */
function localDestination(p: string): CopyInfo {
  const original = p;
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StatusError(errnoMessage(e as NodeJS.ErrnoException, 'lstat', p), 1);
  }
  for (let n = 0; st?.isSymbolicLink(); n++) {
    if (n > 10) throw new StatusError(`too many symlinks in ${original}`, 1);
    let target = fs.readlinkSync(p);
    if (!path.isAbsolute(target)) target = path.join(splitPathDirEntry(p)[0], target);
    p = target;
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StatusError(errnoMessage(e as NodeJS.ErrnoException, 'lstat', p), 1);
      st = undefined;
    }
  }
  if (st) return { path: p, exists: true, isDir: st.isDirectory(), rebaseName: '' };
  const parent = splitPathDirEntry(p)[0];
  let pst: fs.Stats;
  try {
    pst = fs.statSync(parent);
  } catch (e) {
    throw new StatusError(errnoMessage(e as NodeJS.ErrnoException, 'stat', parent), 1);
  }
  if (!pst.isDirectory()) throw new StatusError('not a directory', 1);
  return { path: p, exists: false, isDir: false, rebaseName: '' };
}

function resolveLocalPath(p: string): string {
  return preserveTrailing(path.resolve(p), p);
}

/** command.ValidateOutputPath. */
function validateOutputPath(p: string): void {
  const dir = path.dirname(path.normalize(p));
  if (dir !== '' && dir !== '.' && !fs.existsSync(dir)) throw new StatusError(`invalid output path: directory ${JSON.stringify(dir)} does not exist`, 1);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return;
  }
  if (st.isDirectory() || st.isFile()) return;
  const what = st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'named pipe' : st.isSocket() ? 'socket' : 'device file';
  throw new StatusError(`invalid output path: ${JSON.stringify(p)} must be a directory or a regular file: got a ${what}`, 1);
}

async function statPath(ctx: Ctx, container: string, p: string): Promise<PathStat | undefined> {
  const res = await ctx.client().request('HEAD', `/containers/${enc(container)}/archive`, { query: { path: p } });
  res.body.resume();
  if (res.statusCode !== 200) return undefined;
  const h = res.headers['x-docker-container-path-stat'];
  if (typeof h !== 'string') return undefined;
  return JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as PathStat;
}

/** Extract a tar stream under `dir` (archive.Untar with NoLchown, NoOverwriteDirNonDir). */
async function untar(stream: Readable, dir: string, rename: [string, string] | undefined, chown: boolean): Promise<number> {
  const tar = require('tar-stream') as typeof import('tar-stream');
  const extract = tar.extract();
  const root = path.resolve(dir);
  const dirTimes: Array<[string, Date]> = [];
  let total = 0;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (hdr, body, next) => {
      (async () => {
        let name = hdr.name;
        if (rename) name = rebaseName(name, rename[0], rename[1]);
        const target = path.join(root, name);
        if (target !== root && !target.startsWith(root + '/')) throw new Error(`invalid tar header: ${hdr.name} is outside of ${dir}`);
        let existing: fs.Stats | undefined;
        try {
          existing = fs.lstatSync(target);
        } catch {
          existing = undefined;
        }
        const isDirEntry = hdr.type === 'directory';
        if (existing) {
          if (existing.isDirectory() && !isDirEntry) throw new Error(`cannot overwrite directory ${JSON.stringify(target)} with non-directory ${JSON.stringify(root)}`);
          if (!existing.isDirectory() && isDirEntry) throw new Error(`cannot overwrite non-directory ${JSON.stringify(target)} with directory ${JSON.stringify(root)}`);
          if (!existing.isDirectory()) fs.rmSync(target, { force: true });
        }
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const mode = (hdr.mode ?? 0o644) & 0o7777;
        const mtime = hdr.mtime ?? new Date();
        switch (hdr.type) {
          case 'directory':
            if (!existing) fs.mkdirSync(target, { mode });
            if (name !== '.' && name !== './') fs.chmodSync(target, mode);
            dirTimes.push([target, mtime]);
            break;
          case 'file':
          case 'contiguous-file':
            await pipeline(body, fs.createWriteStream(target, { mode }));
            fs.chmodSync(target, mode);
            total += hdr.size ?? 0;
            break;
          case 'symlink':
            fs.symlinkSync(hdr.linkname ?? '', target);
            break;
          case 'link': {
            let ln = hdr.linkname ?? '';
            if (rename) ln = rebaseName(ln, rename[0], rename[1]);
            const src = path.join(root, ln);
            if (!src.startsWith(root + '/')) throw new Error(`invalid hardlink ${JSON.stringify(hdr.linkname)}`);
            fs.linkSync(src, target);
            break;
          }
          default:
            break;
        }
        body.resume();
        if (chown && hdr.type !== 'link') {
          try {
            fs.lchownSync(target, hdr.uid ?? 0, hdr.gid ?? 0);
          } catch {
            /* not permitted: keep ours */
          }
        }
        if (hdr.type === 'file' || hdr.type === 'contiguous-file') fs.utimesSync(target, mtime, mtime);
        else if (hdr.type === 'symlink') fs.lutimesSync(target, mtime, mtime);
      })().then(() => next(), (e) => {
        body.resume();
        next(e as Error);
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.on('error', reject);
  });
  stream.pipe(extract);
  await done;
  for (const [d, t] of dirTimes.reverse()) {
    try {
      fs.utimesSync(d, t, t);
    } catch {
      /* ignore */
    }
  }
  return total;
}

/** archive.TarResourceRebase: the local source as a tar, entries under `base` (or `rebase`) → `dstName`. */
function tarLocal(srcPath: string, rebase: string, rename: [string, string] | undefined): { stream: Readable; size: () => number } {
  const tar = require('tar-stream') as typeof import('tar-stream');
  const pack = tar.pack();
  const [srcDir, srcBase] = splitPathDirEntry(srcPath);
  let size = 0;
  const nameOf = (rel: string): string => {
    let n = rel;
    if (rebase) n = replaceFirst(n, srcBase, rebase);
    if (rename) n = rebaseName(n, rename[0], rename[1]);
    return n;
  };
  const inodes = new Map<string, string>();
  const add = async (abs: string, rel: string): Promise<void> => {
    const st = fs.lstatSync(abs);
    const base = { name: nameOf(rel), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      pack.entry({ ...base, type: 'directory', name: base.name.endsWith('/') ? base.name : base.name + '/' });
      for (const e of fs.readdirSync(abs).sort()) await add(path.join(abs, e), rel === '.' ? `./${e}` : `${rel}/${e}`);
    } else if (st.isSymbolicLink()) {
      pack.entry({ ...base, type: 'symlink', linkname: fs.readlinkSync(abs) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && inodes.has(key)) {
        pack.entry({ ...base, type: 'link', linkname: inodes.get(key)! });
        return;
      }
      if (st.nlink > 1) inodes.set(key, base.name);
      size += st.size;
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
        const rs = fs.createReadStream(abs);
        rs.on('error', reject);
        rs.pipe(entry);
      });
    } else if (st.isFIFO()) {
      pack.entry({ ...base, type: 'fifo' });
    }
  };
  void (async () => {
    try {
      await add(path.join(srcDir, srcBase), srcBase);
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  return { stream: pack as unknown as Readable, size: () => size };
}

function splitCpArg(arg: string): [string, string] {
  if (arg.startsWith('/')) return ['', arg];
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return ['', arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export const cp = (p = 'cp'): CommandSpec => ({
  path: p,
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  short: 'Copy files/folders between a container and the local filesystem',
  long: `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.`,
  aliases: 'berth container cp, berth cp',
  args: { exact: 2 },
  flags: [
    { name: 'archive', short: 'a', kind: 'bool', usage: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', kind: 'bool', usage: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  async run(ctx, f) {
    const [srcArg, dstArg] = f.args as [string, string];
    const [srcC, srcPath] = splitCpArg(srcArg);
    const [dstC, dstPath] = splitCpArg(dstArg);
    if (srcC !== '' && dstC !== '') throw new StatusError('copying between containers is not supported', 1);
    if (srcC === '' && dstC === '') throw new StatusError('must specify at least one container source', 1);
    if (srcPath === '') throw new StatusError('source can not be empty', 1);
    if (dstPath === '') throw new StatusError('destination can not be empty', 1);
    const progress = !f.values.quiet && Boolean((ctx.stderr as { isTTY?: boolean }).isTTY);
    const follow = f.values['follow-link'] as boolean;
    const client = ctx.client();
    if (srcC !== '') {
      let src = srcPath;
      let rebase = '';
      let dst = dstPath;
      if (dst !== '-') {
        dst = resolveLocalPath(dst);
        validateOutputPath(dst);
      }
      if (follow) {
        const st = await statPath(ctx, srcC, src).catch(() => undefined);
        if (st && st.mode & MODE_SYMLINK) {
          let target = st.linkTarget;
          if (!path.isAbsolute(target)) target = path.join(splitPathDirEntry(src)[0], target);
          [src, rebase] = getRebaseName(src, target);
        }
      }
      const res = await client.call('GET', `/containers/${enc(srcC)}/archive`, { query: { path: src } });
      if (dst === '-') {
        await pipeline(res.body, ctx.stdout);
        return;
      }
      const h = res.headers['x-docker-container-path-stat'];
      const st = typeof h === 'string' ? (JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as PathStat) : undefined;
      const srcInfo: CopyInfo = { path: src, exists: true, isDir: Boolean(st && st.mode & MODE_DIR), rebaseName: rebase };
      let rename: [string, string] | undefined;
      if (rebase) rename = [splitPathDirEntry(src)[1], rebase];
      let dstInfo: CopyInfo;
      let prepared: { dir: string; rename?: [string, string] };
      try {
        dstInfo = localDestination(dst);
        prepared = prepareArchiveCopy(srcInfo, dstInfo);
      } catch (e) {
        // Drained rather than cut: berthd's archive writer does not survive a client hanging up.
        res.body.resume();
        throw e;
      }
      // Both renames apply in order (RebaseArchiveEntries twice): the -L one, then the destination's.
      const first = rename;
      const second = prepared.rename;
      const combined: [string, string] | undefined = first && second ? [first[0], second[1]] : (second ?? first);
      const copied = await untar(res.body, prepared.dir, combined, false).catch((e: Error) => {
        throw new StatusError(e.message, 1);
      });
      if (progress) ctx.err(`Successfully copied ${humanSize(copied)} to ${dst}\n`);
      return;
    }
    // Local → container.
    const container = dstC;
    let dstInfo: CopyInfo = { path: dstPath, exists: false, isDir: false, rebaseName: '' };
    let st = await statPath(ctx, container, dstPath).catch(() => undefined);
    if (st && st.mode & MODE_SYMLINK) {
      let target = st.linkTarget;
      if (!path.isAbsolute(target)) target = path.join(splitPathDirEntry(dstPath)[0], target);
      dstInfo.path = target;
      st = await statPath(ctx, container, target).catch(() => undefined);
    }
    if (st) {
      const isDir = Boolean(st.mode & MODE_DIR);
      const irregular = st.mode & ((1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19));
      if (irregular) throw new StatusError(`destination "${container}:${dstPath}" must be a directory or a regular file`, 1);
      dstInfo = { ...dstInfo, exists: true, isDir };
    }
    let content: Readable | NodeJS.ReadableStream;
    let resolvedDst: string;
    let size = () => 0;
    if (srcPath === '-') {
      if (!dstInfo.isDir) throw new StatusError(`destination "${container}:${dstPath}" must be a directory`, 1);
      content = ctx.stdin;
      resolvedDst = dstInfo.path;
    } else {
      const local = resolveLocalPath(srcPath);
      let resolved: string;
      let rebase = '';
      try {
        if (follow) {
          [resolved, rebase] = getRebaseName(local, fs.realpathSync(local));
        } else {
          const d = path.dirname(local.replace(/\/+$/, '') || '/');
          const b = local.endsWith('/.') ? '.' : path.basename(local);
          resolved = path.join(fs.realpathSync(d), b);
          resolved = preserveTrailing(resolved, local);
          if (hasTrailingSep(local) && path.basename(local) !== path.basename(resolved)) rebase = path.basename(local);
        }
      } catch (e) {
        throw new StatusError(errnoMessage(e as NodeJS.ErrnoException, 'lstat', local), 1);
      }
      let lst: fs.Stats;
      try {
        lst = fs.lstatSync(resolved);
      } catch (e) {
        throw new StatusError(errnoMessage(e as NodeJS.ErrnoException, 'lstat', resolved), 1);
      }
      const srcInfo: CopyInfo = { path: resolved, exists: true, isDir: lst.isDirectory(), rebaseName: rebase };
      const prepared = prepareArchiveCopy(srcInfo, dstInfo);
      const packed = tarLocal(resolved, rebase, prepared.rename && [rebase || splitPathDirEntry(resolved)[1], prepared.rename[1]]);
      content = packed.stream;
      size = packed.size;
      resolvedDst = prepared.dir;
    }
    await client.call('PUT', `/containers/${enc(container)}/archive`, {
      query: { path: resolvedDst, noOverwriteDirNonDir: true, copyUIDGID: f.values.archive ? true : undefined },
      body: content,
    });
    if (progress) ctx.err(`Successfully copied ${humanSize(size())} to ${container}:${dstPath}\n`);
  },
});
