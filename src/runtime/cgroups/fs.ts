// Thin filesystem seam for cgroupfs. Drivers do all I/O through CgroupFs so
// unit tests can run against FakeCgroupFs and assert every file written.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DirEntry {
  name: string;
  isDirectory: boolean;
}

export interface CgroupFs {
  readFile(file: string): string;
  /** One write(2) of the whole value; cgroupfs treats each write as one command. */
  writeFile(file: string, data: string): void;
  /** Single level (not -p); EEXIST is reported as an error with code 'EEXIST'. */
  mkdir(dir: string): void;
  rmdir(dir: string): void;
  exists(p: string): boolean;
  readdir(dir: string): DirEntry[];
}

/** Error carrying an errno-style code (EBUSY, ENOENT, ...) and the path involved. */
export function fsError(code: string, op: string, p: string, detail?: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${op} ${p}${detail ? `: ${detail}` : ''}`);
  err.code = code;
  err.path = p;
  return err;
}

/** Re-throw a node fs error with op and path in the message (writeSync errors lack the path). */
function rethrow(e: unknown, op: string, p: string): never {
  const ne = e as NodeJS.ErrnoException;
  if (typeof ne?.code === 'string') throw fsError(ne.code, op, p, ne.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, ''));
  throw e;
}

export const nodeCgroupFs: CgroupFs = {
  readFile(file) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      rethrow(e, 'read', file);
    }
  },
  writeFile(file, data) {
    let fd: number;
    // No O_CREAT: control files always exist, a missing one must fail with ENOENT. O_TRUNC as runc does.
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    } catch (e) {
      rethrow(e, 'open', file);
    }
    try {
      fs.writeSync(fd, data);
    } catch (e) {
      rethrow(e, `write ${JSON.stringify(data)} to`, file);
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdir(dir) {
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      rethrow(e, 'mkdir', dir);
    }
  },
  rmdir(dir) {
    try {
      fs.rmdirSync(dir);
    } catch (e) {
      rethrow(e, 'rmdir', dir);
    }
  },
  exists(p) {
    return fs.existsSync(p);
  },
  readdir(dir) {
    try {
      return fs.readdirSync(dir, { withFileTypes: true }).map((d) => ({ name: d.name, isDirectory: d.isDirectory() }));
    } catch (e) {
      rethrow(e, 'readdir', dir);
    }
  },
};

export const joinPath = path.posix.join;
