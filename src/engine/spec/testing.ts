// Shared fixtures of the spec builder's unit tests: a deterministic host, a fake image with
// /etc/passwd and /etc/group, and helpers to build or expect a refusal.

import * as assert from 'node:assert/strict';
import { KNOWN_CAPABILITIES } from './capabilities';
import type { ContainerSpecInput, ContainerSpecResult } from './build';
import { buildContainerSpec } from './build';
import type { ContainerConfig, HostConfig } from './docker-types';
import { SpecInputError } from './errors';
import type { HostInfo } from './host-info';
import type { ResolvedContainer } from './namespaces';

export const ID = '0123456789abcdef'.repeat(4);

export const HOST: HostInfo = {
  cgroupV2: false,
  swapLimit: true,
  memorySwappiness: true,
  oomKillDisable: true,
  cpuRealtime: true,
  blkioWeight: true,
  blkioWeightDevice: true,
  blkioThrottle: true,
  cpus: '0-3',
  mems: '0',
  numCpus: 4,
  timeNamespace: true,
  kernelRelease: '6.8.0-generic',
};

/** What root holds on this test host: everything but CAP_SYS_RESOURCE. */
export const HELD = KNOWN_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'tty:x:5:',
  'wheel:x:10:root,app',
  'users:x:100:app',
  'app:x:1000:',
  'nogroup:x:65534:',
].join('\n');

export const CONTAINERS: Record<string, ResolvedContainer> = {
  web: { id: 'f'.repeat(64), pid: 4242, hostname: 'webhost', domainname: 'example.org', ipcMode: 'shareable', shmPath: '/var/lib/berth/containers/web/shm' },
  plain: { id: 'c'.repeat(64), pid: 4444 },
  priv: { id: 'e'.repeat(64), pid: 4343, ipcMode: 'private' },
  stopped: { id: 'd'.repeat(64), pid: 0 },
};

export interface Opts extends Partial<Omit<ContainerSpecInput, 'config' | 'hostConfig'>> {
  config?: ContainerConfig;
  hostConfig?: HostConfig;
  files?: Record<string, string | undefined>;
}

export function input(o: Opts = {}): ContainerSpecInput {
  const files: Record<string, string | undefined> = { '/etc/passwd': PASSWD, '/etc/group': GROUP, ...o.files };
  const { files: _f, config, hostConfig, ...rest } = o;
  return {
    id: ID,
    image: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    config: config ?? {},
    hostConfig: hostConfig ?? {},
    rootfs: '/var/lib/berth/rootfs/' + ID,
    readFile: (p) => files[p],
    resolveContainer: (x) => CONTAINERS[x] ?? Object.values(CONTAINERS).find((c) => c.id === x),
    capabilitiesHeld: HELD,
    host: HOST,
    statDevice: (p) => {
      const known: Record<string, { major: number; minor: number }> = { '/dev/sda': { major: 8, minor: 0 }, '/dev/null': { major: 1, minor: 3 } };
      const d = known[p];
      if (!d) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return d;
    },
    hasSysctl: () => true,
    checkHostPropagation: () => {},
    ...rest,
  };
}

export function build(o: Opts = {}): ContainerSpecResult {
  return buildContainerSpec(input(o));
}

/** The build must fail with a SpecInputError whose message matches. */
export function refuses(o: Opts, message: RegExp | string): SpecInputError {
  let err: unknown;
  try {
    build(o);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SpecInputError, `expected a SpecInputError matching ${message}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  if (typeof message === 'string') assert.ok(err.message.includes(message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(message)}`);
  else assert.match(err.message, message);
  return err;
}

/** The mount at `destination`, or a failure. */
export function mountAt(r: ContainerSpecResult, destination: string) {
  const m = r.spec.mounts?.find((x) => x.destination === destination);
  assert.ok(m, `no mount at ${destination}: ${JSON.stringify(r.spec.mounts?.map((x) => x.destination))}`);
  return m;
}
