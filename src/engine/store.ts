/**
 * The container records on disk, one directory per container under `<data-root>/containers`,
 * each record written atomically; in memory, lookups by ID, unique ID prefix and name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerRecord } from './container';
import { writeFileAtomic } from '../kernel/atomic-file';

export class NoSuchContainerError extends Error {
  constructor(readonly ref: string) {
    super(`No such container: ${ref}`);
    this.name = 'NoSuchContainerError';
  }
}

export class NameConflictError extends Error {}

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();

  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  /** Loads every record; returns the ids of unreadable ones (left in place, reported). */
  load(): string[] {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const bad: string[] = [];
    for (const id of fs.readdirSync(this.root)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      try {
        const rec = JSON.parse(fs.readFileSync(path.join(this.dir(id), 'container.json'), 'utf8')) as ContainerRecord;
        this.byId.set(rec.Id, rec);
        this.names.set(rec.Name, rec.Id);
      } catch {
        bad.push(id);
      }
    }
    return bad;
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Reserves `name` for `id`; a name in use is a conflict, as in Docker. */
  reserveName(name: string, id: string): void {
    const holder = this.names.get(name);
    if (holder !== undefined && holder !== id) {
      throw new NameConflictError(`Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.names.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  nameTaken(name: string): boolean {
    return this.names.has(name);
  }

  /** By full ID, name (with or without "/"), or unique ID prefix — Docker's order. */
  get(ref: string): ContainerRecord {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.names.get(ref.replace(/^\//, ''));
    if (byName !== undefined) return this.byId.get(byName)!;
    if (/^[0-9a-f]+$/.test(ref)) {
      const hits = [...this.byId.keys()].filter((k) => k.startsWith(ref));
      if (hits.length === 1) return this.byId.get(hits[0]!)!;
      if (hits.length > 1) throw new NameConflictError(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NoSuchContainerError(ref);
  }

  find(ref: string): ContainerRecord | undefined {
    try {
      return this.get(ref);
    } catch (e) {
      if (e instanceof NoSuchContainerError) return undefined;
      throw e;
    }
  }

  /** Writes the record (temp + fsync + rename) and keeps it in memory. */
  save(rec: ContainerRecord): void {
    this.write(rec, true);
  }

  /**
   * Records a state change (running, exited): temp + rename without fsync. After a machine
   * crash the last durable record says "running", and reconciling finds no monitor and marks it
   * exited; no configuration is lost. Saves an fsync on each start and exit.
   */
  saveState(rec: ContainerRecord): void {
    this.write(rec, false);
  }

  private write(rec: ContainerRecord, durable: boolean): void {
    const dir = this.dir(rec.Id);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(dir, 'container.json'), JSON.stringify(rec), { durable });
    this.byId.set(rec.Id, rec);
    this.names.set(rec.Name, rec.Id);
  }

  rename(rec: ContainerRecord, newName: string): void {
    this.reserveName(newName, rec.Id);
    const old = rec.Name;
    rec.Name = newName;
    try {
      this.save(rec);
    } catch (e) {
      rec.Name = old;
      this.releaseName(newName, rec.Id);
      throw e;
    }
    this.releaseName(old, rec.Id);
  }

  delete(rec: ContainerRecord): void {
    fs.rmSync(this.dir(rec.Id), { recursive: true, force: true });
    this.byId.delete(rec.Id);
    this.releaseName(rec.Name, rec.Id);
  }
}
