// Helpers for the snapshotter tests: layer tars, images in a ContentStore, a bundle around a
// snapshotter's rootfs run with bin/berth-runtime, tar reading, the mount-leak check.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { ContentStore } from '../../src/image/content/store';
import { digestOf, type Digest } from '../../src/image/digest';
import { MediaTypes, type ImageConfig, type ImageManifest } from '../../src/image/oci-types';
import type { ContainerRootfs } from '../../src/storage/snapshotter';
import { dirToTar } from '../../src/storage/tree';
import { cachedRootfs, defaultSpec, randomTestId, type TestSpec } from '../fixtures/busybox';
import { runtimeCli, type CliResult } from '../fixtures/runtime';

export type Ent =
  | { name: string; type?: 'file'; body?: string; mode?: number; uid?: number; gid?: number }
  | { name: string; type: 'directory'; mode?: number; uid?: number; gid?: number }
  | { name: string; type: 'symlink' | 'link'; linkname: string }
  | { name: string; type: 'fifo' }
  | { name: string; type: 'character-device'; devmajor: number; devminor: number; mode?: number };

export async function tarOf(entries: Ent[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((res, rej) => {
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const mode = ('mode' in e && e.mode !== undefined ? e.mode : undefined) ?? (type === 'directory' ? 0o755 : 0o644);
    const h: Parameters<tar.Pack['entry']>[0] = { name: e.name, type, mode, uid: 0, gid: 0, mtime: new Date(1_700_000_000_000) };
    if ('uid' in e && e.uid !== undefined) h.uid = e.uid;
    if ('gid' in e && e.gid !== undefined) h.gid = e.gid;
    if ('linkname' in e) h.linkname = e.linkname;
    if ('devmajor' in e) {
      h.devmajor = e.devmajor;
      h.devminor = e.devminor;
    }
    if (type === 'file') pack.entry(h, 'body' in e ? (e.body ?? '') : '');
    else pack.entry(h);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export async function streamToBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The busybox test rootfs as an (uncompressed) layer tar. */
export async function busyboxLayer(): Promise<Buffer> {
  return streamToBuffer(dirToTar(cachedRootfs()));
}

/** An image of `layers` (uncompressed tars) in `store`. */
export async function imageOf(store: ContentStore, layers: Buffer[]): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
  const descs = [];
  const diffIds: Digest[] = [];
  for (const raw of layers) {
    diffIds.push(digestOf(raw));
    const r = await store.ingest([raw]);
    descs.push({ mediaType: MediaTypes.OCI_LAYER, digest: r.digest, size: raw.length });
  }
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } };
  const cfg = Buffer.from(JSON.stringify(config));
  const c = await store.ingest([cfg]);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_MANIFEST,
    config: { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: cfg.length },
    layers: descs,
  };
  return { manifest, config };
}

export interface TarEntry {
  type: string;
  mode: number;
  uid: number;
  linkname?: string;
  body: string;
}

/** Entries of a tar by name (trailing "/" dropped), in order. */
export async function readTar(s: Readable | Buffer): Promise<Map<string, TarEntry>> {
  const buf = Buffer.isBuffer(s) ? s : await streamToBuffer(s);
  const ex = tar.extract();
  const out = new Map<string, TarEntry>();
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header;
      out.set(h.name.replace(/\/+$/, ''), {
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        ...(h.linkname ? { linkname: h.linkname } : {}),
        body: Buffer.concat(chunks).toString(),
      });
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

function bundleOn(rootfs: ContainerRootfs, script: string, modify?: (s: TestSpec) => void): { id: string; dir: string; cleanup(): void } {
  const id = randomTestId();
  // Inside the test's own temp dir when the rootfs is in one, so the test's cleanup covers it too.
  const tmpRoot = os.tmpdir();
  const owner = rootfs.path.startsWith(`${tmpRoot}/berth-test-`) ? path.join(tmpRoot, rootfs.path.slice(tmpRoot.length + 1).split('/')[0]!) : tmpRoot;
  const dir = fs.mkdtempSync(path.join(owner, 'berth-test-bundle-'));
  const spec = defaultSpec(id, ['sh', '-c', script]);
  spec.root = { path: rootfs.path, readonly: false };
  spec.annotations = { ...(spec.annotations ?? {}), ...rootfs.annotations };
  modify?.(spec);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return {
    id,
    dir,
    cleanup() {
      const res = runtimeCli(['delete', '--force', id]);
      if (res.code !== 0 && !/does not exist/.test(res.stderr)) throw new Error(`delete ${id}: ${res.stderr}`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A bundle whose root is `rootfs` (a snapshotter's), run in the foreground with `sh -c script`. */
export function runOn(rootfs: ContainerRootfs, script: string, modify?: (s: TestSpec) => void): CliResult {
  const b = bundleOn(rootfs, script, modify);
  try {
    return runtimeCli(['run', '--bundle', b.dir, b.id], { timeoutMs: 60_000 });
  } finally {
    b.cleanup();
  }
}

/** A created (not started) container on `rootfs`: its root is mounted until cleanup() deletes it. */
export function createOn(rootfs: ContainerRootfs): { id: string; cleanup(): void } {
  const b = bundleOn(rootfs, 'true');
  const res = runtimeCli(['create', '--bundle', b.dir, b.id]);
  if (res.code !== 0) {
    b.cleanup();
    throw new Error(`create: ${res.stderr}`);
  }
  return b;
}

/** Nothing mounted at or below `dir` in our namespace (the runtime mounts only in the container's). */
export function assertNoMountsUnder(dir: string): void {
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
  assert.deepEqual(lines, [], `mounts left below ${dir}`);
}
