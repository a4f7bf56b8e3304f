/**
 * `PUT /containers/{id}/archive`: a tar (hostile input) extracted into a directory of a
 * container, as moby's archive.Untar does it inside the container's root:
 *
 *  - entry names are cleaned; one that leaves the extraction directory (`../x`, `a/../../x`) is
 *    refused (moby's breakoutError), as are NUL bytes and over-long names;
 *  - parents are looked up with symlinks evaluated inside the container's root (`resolveIn`), so
 *    an entry below a symlinked directory lands where the container would see it, never outside
 *    the root; missing parents are created 0755;
 *  - an existing entry is replaced unless both are directories (merged, metadata applied);
 *    `noOverwriteDirNonDir` refuses a directory ↔ non-directory replacement;
 *  - a relative symlink whose target leaves the extraction directory is refused, as is a hard
 *    link to a path outside it or to a directory (moby's checks);
 *  - owners from the tar (or `chown` for every entry: `copyUIDGID`), then modes, then times;
 *    directory times last. Devices and fifos are skipped (Node cannot mknod); so are sockets.
 */
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { tarBlockWalker } from '../image/layer/tar-blocks';
import { resolveIn, type WritableTree } from './archive-fs';

const PATH_MAX = 4096;
const NAME_MAX = 255;

export class ArchiveInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveInputError';
  }
}

export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  /** every entry owned by this user (copyUIDGID); otherwise the tar's owners */
  chown?: { uid: number; gid: number };
}

export interface ExtractSummary {
  entries: number;
  skipped: string[];
}

/** Components of a tar name relative to the extraction dir; throws when it escapes. */
export function entryComps(name: string): string[] {
  if (name.includes('\0')) throw new ArchiveInputError(`tar entry ${JSON.stringify(name)}: name contains a NUL byte`);
  if (Buffer.byteLength(name) > PATH_MAX) throw new ArchiveInputError(`tar entry name longer than ${PATH_MAX} bytes`);
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw new ArchiveInputError(`tar entry ${JSON.stringify(name)} is outside of the extraction directory`);
      out.pop();
      continue;
    }
    if (Buffer.byteLength(c) > NAME_MAX) throw new ArchiveInputError(`tar entry ${JSON.stringify(name)}: a component is longer than ${NAME_MAX} bytes`);
    out.push(c);
  }
  return out;
}

/** Does relative symlink `linkname` at entry `rel` point outside the extraction dir (lexically)? */
export function symlinkEscapes(rel: string[], linkname: string): boolean {
  if (linkname.startsWith('/')) return false;
  const stack = rel.slice(0, -1);
  for (const c of linkname.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) return true;
      stack.pop();
    } else stack.push(c);
  }
  return false;
}

const isDirType = (t: string | null | undefined): boolean => t === 'directory';

export async function extractInto(tree: WritableTree, dest: string[], input: Readable, opts: ExtractOptions): Promise<ExtractSummary> {
  const summary: ExtractSummary = { entries: 0, skipped: [] };
  const dirTimes: { comps: string[]; mtime: Date }[] = [];

  /** The real location of entry `rel`'s parent, created as needed (symlinks evaluated in scope). */
  async function parentOf(rel: string[]): Promise<string[]> {
    const resolved = await resolveIn(tree, [...dest, ...rel.slice(0, -1)]);
    for (let i = 1; i <= resolved.length; i++) {
      const sub = resolved.slice(0, i);
      const st = await tree.lstat(sub);
      if (st?.isDirectory()) continue;
      if (st) throw new ArchiveInputError(`/${sub.join('/')}: not a directory`);
      await tree.prepare(sub);
      await tree.mkdir(sub, 0o755);
    }
    return resolved;
  }

  async function handle(h: tar.Header, body: AsyncIterable<unknown>): Promise<void> {
    const type = h.type ?? 'file';
    const rel = entryComps(h.name);
    if (rel.length === 0) return; // "." : the extraction dir itself, left as it is (moby)
    const where = [...(await parentOf(rel)), rel[rel.length - 1]!];
    const shown = `/${where.join('/')}`;
    const existing = await tree.lstat(where);
    const entryIsDir = isDirType(type);
    if (existing) {
      if (opts.noOverwriteDirNonDir && existing.isDirectory() && !entryIsDir) {
        throw new ArchiveInputError(`cannot overwrite directory ${JSON.stringify(shown)} with non-directory ${JSON.stringify(h.name)}`);
      }
      if (opts.noOverwriteDirNonDir && !existing.isDirectory() && entryIsDir) {
        throw new ArchiveInputError(`cannot overwrite non-directory ${JSON.stringify(shown)} with directory ${JSON.stringify(h.name)}`);
      }
    }
    if (type === 'character-device' || type === 'block-device' || type === 'fifo') {
      summary.skipped.push(`${h.name}: ${type} entries are not supported`);
      return;
    }
    if (!['directory', 'file', 'contiguous-file', 'symlink', 'link'].includes(type)) {
      summary.skipped.push(`${h.name}: unsupported entry type ${type}`);
      return;
    }
    let linkSrc: string[] | undefined;
    if (type === 'symlink') {
      const ln = h.linkname ?? '';
      if (ln === '' || ln.includes('\0')) throw new ArchiveInputError(`invalid symlink ${JSON.stringify(h.name)}`);
      if (symlinkEscapes(rel, ln)) throw new ArchiveInputError(`invalid symlink ${JSON.stringify(h.name)} -> ${JSON.stringify(ln)}`);
    }
    if (type === 'link') {
      let lrel: string[];
      try {
        lrel = entryComps(h.linkname ?? '');
      } catch {
        throw new ArchiveInputError(`invalid hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}`);
      }
      if (lrel.length === 0) throw new ArchiveInputError(`invalid hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}`);
      linkSrc = [...(await resolveIn(tree, [...dest, ...lrel.slice(0, -1)])), lrel[lrel.length - 1]!];
      const lst = await tree.lstat(linkSrc);
      if (!lst || lst.isDirectory()) throw new ArchiveInputError(`hardlink ${JSON.stringify(h.name)}: target ${JSON.stringify(h.linkname)} is missing or a directory`);
      if (linkSrc.join('/') === where.join('/')) return;
    }

    await tree.prepare(where);
    if (existing && !(existing.isDirectory() && entryIsDir)) await tree.remove(where);
    const uid = opts.chown?.uid ?? h.uid ?? 0;
    const gid = opts.chown?.gid ?? h.gid ?? 0;
    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date();
    switch (type) {
      case 'directory':
        if (!existing?.isDirectory()) await tree.mkdir(where, 0o700);
        await tree.lchown(where, uid, gid);
        await tree.chmod(where, mode);
        dirTimes.push({ comps: where, mtime });
        return;
      case 'file':
      case 'contiguous-file': {
        const fh = await tree.create(where);
        try {
          for await (const chunk of body) {
            const buf = chunk as Buffer;
            for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
          }
          await fh.chown(uid, gid);
          await fh.chmod(mode);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'symlink':
        await tree.symlink(where, h.linkname!);
        await tree.lchown(where, uid, gid);
        break;
      case 'link':
        await tree.link(where, linkSrc!);
        return; // shares the inode's metadata
    }
    await tree.lutimes(where, mtime);
  }

  const ex = tar.extract();
  let exError: Error | null = null;
  ex.on('error', (e: Error) => {
    exError ??= e;
  });
  const blocks = tarBlockWalker({ completePadding: true }).stream;
  const onSrcError = (e: Error): void => {
    ex.destroy(e);
  };
  input.on('error', onSrcError);
  blocks.on('error', onSrcError);
  input.pipe(blocks).pipe(ex);
  try {
    for await (const entry of ex) {
      summary.entries++;
      try {
        await handle(entry.header, entry);
      } catch (e) {
        if (exError) throw new ArchiveInputError(`corrupt or truncated tar: ${(exError as Error).message}`);
        throw e;
      }
      entry.resume();
    }
  } catch (e) {
    input.unpipe(blocks);
    blocks.unpipe(ex);
    blocks.destroy();
    ex.destroy();
    if (e instanceof ArchiveInputError || (e as NodeJS.ErrnoException).code) throw e;
    throw new ArchiveInputError(`corrupt or truncated tar: ${(e as Error)?.message ?? String(e)}`);
  } finally {
    input.off('error', onSrcError);
  }
  for (let i = dirTimes.length - 1; i >= 0; i--) {
    const { comps, mtime } = dirTimes[i]!;
    if ((await tree.lstat(comps))?.isDirectory()) await tree.lutimes(comps, mtime).catch(() => undefined);
  }
  return summary;
}
