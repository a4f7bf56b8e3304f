// One directory per container under the runtime root, holding state.json
// (written atomically) and the exec fifo while the container is "created".
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Spec } from '../spec/types';
import type { SavedCgroup } from '../cgroups/manager';
import { RuntimeError, errnoCode } from '../errors';
import { parseJson, stringifyJson } from '../spec/json';
import { writeFileAtomic } from '../../kernel/atomic-file';

export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  /** /proc/<pid>/stat start time: tells our init from a recycled pid. */
  pidStartTime?: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  cgroup: SavedCgroup;
  /** The config as it was at create: hooks and the exec template come from here. */
  config: Spec;
}

const ID_RE = /^[\w+.-]+$/;

export function validateId(id: string | undefined): string {
  if (!id) throw new RuntimeError('container id cannot be empty');
  // 255: the id names a directory.
  if (!ID_RE.test(id) || id === '.' || id === '..' || Buffer.byteLength(id) > 255) {
    throw new RuntimeError(`invalid container id ${JSON.stringify(id)}: use letters, digits, "_", "+", "-" and "."`);
  }
  return id;
}

export class StateStore {
  constructor(readonly root: string) {}

  /** Every path of the store goes through here: an id can never reach outside the root. */
  dir(id: string): string {
    return path.join(this.root, validateId(id));
  }
  fifo(id: string): string {
    return path.join(this.dir(id), 'exec.fifo');
  }
  /** Written by the init if it fails between `start` and exec. */
  statusFile(id: string): string {
    return path.join(this.dir(id), 'exec.status');
  }

  /** Claims the id: fails if a container with this id exists. */
  claim(id: string): void {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') throw new RuntimeError(`container with id ${id} already exists`);
      throw new RuntimeError(`cannot create the state directory ${this.dir(id)}: ${(e as Error).message}`);
    }
  }

  write(state: ContainerState): void {
    // stringifyJson/parseJson keep 64-bit rlimits exact.
    writeFileAtomic(path.join(this.dir(state.id), 'state.json'), stringifyJson(state, 0));
  }

  read(id: string): ContainerState {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir(id), 'state.json'), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new RuntimeError(`container ${id} does not exist`);
      throw e;
    }
    return parseJson(text) as ContainerState;
  }

  /** Ids with a state directory (complete or not). */
  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => ID_RE.test(n)).sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  hasDir(id: string): boolean {
    return fs.existsSync(this.dir(id));
  }

  /** A claimed id whose create never finished: neither state.json nor a live create. */
  hasStateFile(id: string): boolean {
    return fs.existsSync(path.join(this.dir(id), 'state.json'));
  }

  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }
}
