// features and spec: what this runtime supports, and a starting config.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAPABILITIES, NAMESPACE_TYPES, HOOK_NAMES, SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from '../../spec/constants';
import { defaultSpec } from '../../spec/default-spec';
import { stringifyJson } from '../../spec/json';
import { RuntimeError } from '../../errors';
import { bool, parseArgs, str } from '../args';
import { detectLayout } from '../../cgroups';

const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'idmap', 'lazytime', 'loud', 'mand', 'noatime', 'nodev',
  'nodiratime', 'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'rbind',
  'relatime', 'remount', 'ridmap', 'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared', 'silent', 'slave', 'strictatime',
  'suid', 'symfollow', 'sync', 'unbindable',
];

export async function cmdFeatures(): Promise<number> {
  const layout = detectLayout();
  const features = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: [...HOOK_NAMES],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: layout.mode !== 'unified', v2: !!layout.unified, systemd: false, systemdUser: false, rdma: false },
      // Our own compiler (src/runtime/seccomp): every OCI action, operator and flag.
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: [...SECCOMP_FLAGS],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: { 'org.opencontainers.runc.version': 'berth-runtime 0.1.0' },
  };
  process.stdout.write(JSON.stringify(features, null, '    ') + '\n');
  return 0;
}

export async function cmdSpec(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { bundle: { kind: 'string', alias: ['b'] }, rootless: { kind: 'bool' } });
  const dir = path.resolve(str(p, 'bundle') ?? '.');
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new RuntimeError(`spec: bundle directory ${dir} does not exist`);
  const file = path.join(dir, 'config.json');
  if (fs.existsSync(file)) throw new RuntimeError(`${file} exists; remove it first`);
  fs.writeFileSync(file, stringifyJson(defaultSpec({ rootless: bool(p, 'rootless') }), '\t') + '\n', { mode: 0o666 });
  return 0;
}
