/**
 * One small JSON document on disk, written atomically (temp + fsync + rename + fsync of the
 * directory), so a crash leaves either the old or the new complete version. Read-modify-write
 * cycles within this process are serialised. The image metadata DBs (refs, images) are built on it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';

export class AtomicJsonFile<T> {
  readonly file: string;
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * `empty` makes the document when the file does not exist; `check` validates what was read
   * (return an error message, or undefined when it is fine).
   */
  constructor(
    file: string,
    private readonly what: string,
    private readonly empty: () => T,
    private readonly check: (data: unknown) => string | undefined,
  ) {
    this.file = path.resolve(file);
  }

  private async load(): Promise<T> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw e;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new Error(`${this.what} ${this.file} is corrupt: ${(e as Error).message}`);
    }
    const problem = this.check(data);
    if (problem !== undefined) throw new Error(`${this.what} ${this.file} ${problem}`);
    return data as T;
  }

  private async save(data: T): Promise<void> {
    const dir = path.dirname(this.file);
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
      try {
        await fh.writeFile(JSON.stringify(data, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    const dfh = await fsp.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    try {
      await dfh.sync();
    } finally {
      await dfh.close();
    }
  }

  /** Run `fn` on the current document and write the result; cycles never interleave. */
  mutate<R>(fn: (data: T) => R | Promise<R>): Promise<R> {
    const run = this.chain.then(async () => {
      const data = await this.load();
      const result = await fn(data);
      await this.save(data);
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The current document (after any mutation already queued). */
  async read(): Promise<T> {
    await this.chain;
    return this.load();
  }
}
