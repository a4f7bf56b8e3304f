/**
 * Produce a layer tar from an overlayfs upper directory.
 *
 *  - overlay whiteouts (0:0 char devices) → empty regular file "dir/.wh.NAME"
 *  - opaque directories (isOpaque predicate; reading trusted.overlay.opaque needs
 *    native code, default: none) → "dir/.wh..wh..opq" right after the dir entry
 *  - dirs, files, symlinks, fifos, char/block devices with uid/gid/mode/mtime
 *  - the same inode seen twice → hard link entry to the first path
 *  - sockets are skipped (like Docker)
 *  - order is deterministic: a directory, then (if opaque) its marker, then its
 *    children sorted by name (code-unit order), depth first
 *
 * xattrs are not emitted (no getxattr in Node).
 */
import { constants as C, promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './extract';

export interface DiffOptions {
  /** absolute dir path → whether it is an overlay opaque dir (trusted.overlay.opaque=y) */
  isOpaque?: (absDir: string) => boolean | Promise<boolean>;
}

export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

function addEntry(pack: tar.Pack, header: Parameters<tar.Pack['entry']>[0], buf?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (buf) pack.entry(header, buf, cb);
    else pack.entry(header, cb);
  });
}

export function diffToTar(upperDir: string, opts: DiffOptions = {}): Readable {
  const pack = tar.pack();
  const isOpaque = opts.isOpaque ?? (() => false);
  const seen = new Map<string, string>(); // dev:ino → first tar path

  async function walk(relDir: string): Promise<void> {
    const dirAbs = relDir ? path.join(upperDir, relDir) : upperDir;
    const names = (await fsp.readdir(dirAbs)).sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const p = path.join(upperDir, rel);
      const st = await fsp.lstat(p);
      const base = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtime: st.mtime };
      if (isOverlayWhiteout(st)) {
        const wh = relDir ? `${relDir}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`;
        await addEntry(pack, { name: wh, type: 'file', size: 0, mode: 0o600, uid: 0, gid: 0, mtime: st.mtime }, Buffer.alloc(0));
      } else if (st.isDirectory()) {
        await addEntry(pack, { ...base, name: rel, type: 'directory' });
        if (await isOpaque(p)) {
          await addEntry(pack, { name: `${rel}/${WHITEOUT_OPAQUE}`, type: 'file', size: 0, mode: 0o600, uid: 0, gid: 0, mtime: st.mtime }, Buffer.alloc(0));
        }
        await walk(rel);
      } else if (st.isSymbolicLink()) {
        await addEntry(pack, { ...base, name: rel, type: 'symlink', linkname: await fsp.readlink(p) });
      } else if (st.isSocket()) {
        continue;
      } else {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seen.get(key) : undefined;
        if (first !== undefined) {
          await addEntry(pack, { ...base, name: rel, type: 'link', linkname: first, size: 0 });
          continue;
        }
        if (st.nlink > 1) seen.set(key, rel);
        if (st.isFile()) {
          const fh = await fsp.open(p, C.O_RDONLY | C.O_NOFOLLOW);
          try {
            const fst = await fh.stat();
            if (!fst.isFile() || fst.ino !== st.ino) throw new Error(`${rel}: changed while reading`);
            let done!: Promise<void>;
            const sink = (() => {
              let s!: ReturnType<tar.Pack['entry']>;
              done = new Promise<void>((resolve, reject) => {
                s = pack.entry({ ...base, name: rel, type: 'file', size: fst.size }, (err) => (err ? reject(err) : resolve()));
              });
              return s;
            })();
            const buf = Buffer.alloc(64 * 1024);
            let remaining = fst.size;
            while (remaining > 0) {
              const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, remaining), null);
              if (bytesRead === 0) throw new Error(`${rel}: file shrank while reading`);
              remaining -= bytesRead;
              if (!sink.write(Buffer.from(buf.subarray(0, bytesRead)))) {
                await new Promise<void>((r) => sink.once('drain', () => r()));
              }
            }
            (sink as unknown as { end(): void }).end();
            await done;
          } finally {
            await fh.close();
          }
        } else if (st.isFIFO()) {
          await addEntry(pack, { ...base, name: rel, type: 'fifo', size: 0 });
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          await addEntry(pack, {
            ...base,
            name: rel,
            type: st.isCharacterDevice() ? 'character-device' : 'block-device',
            devmajor: devMajor(st.rdev),
            devminor: devMinor(st.rdev),
            size: 0,
          });
        }
      }
    }
  }

  (async () => {
    await walk('');
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));

  // expose a plain Node Readable
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
