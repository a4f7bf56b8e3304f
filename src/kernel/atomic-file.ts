// Files replaced whole: a temp file beside the target (a fresh name each time), then a rename,
// so a reader sees the old content or the new, never half of it. No node:crypto for the name:
// berth-runtime keeps it off its start-up path, and uniqueness is all that is needed here.
import * as fs from 'node:fs';

export interface AtomicWriteOptions {
  /** Mode of a new file (default 0600). */
  mode?: number;
  /**
   * fsync before the rename, so the content survives a machine crash. Configuration wants it;
   * what describes processes (runtime state, pid files) does not: a crash ends them anyway.
   */
  durable?: boolean;
}

export function writeFileAtomic(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): void {
  const tmp = `${file}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
  const fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o600);
  let written = false;
  try {
    fs.writeFileSync(fd, data);
    if (opts.durable) fs.fsyncSync(fd);
    written = true;
  } finally {
    fs.closeSync(fd);
    if (!written) fs.rmSync(tmp, { force: true });
  }
  fs.renameSync(tmp, file);
}
