// linux.sysctl: Docker's defaults for a container with its own network (withCommonOptions),
// Config.Domainname as kernel.domainname (setLinuxDomainname), HostConfig.Sysctls over them
// (WithSysctls), and runc's rule that only sysctls of a namespace the container has of its
// own may be set (libcontainer/configs/validate sysctl): anything else would change the host.

import * as fs from 'node:fs';
import type { LinuxNamespace } from '../../runtime/spec/types';
import { SpecInputError, q } from './errors';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** sysctlExists: the host's kernel has it (runc fails on unknown ones). */
export const hostHasSysctl = (name: string): boolean => fs.existsSync(`/proc/sys/${name.replace(/\./g, '/')}`);

export interface SysctlInput {
  /** A network namespace of the container's own making (not host, not another container's). */
  privateNetwork: boolean;
  domainname?: string;
  requested: Record<string, string> | null | undefined;
  namespaces: readonly LinuxNamespace[];
  hasSysctl?: (name: string) => boolean;
}

/** runc's check, with the request field in the message. */
export function checkSysctl(key: string, namespaces: readonly LinuxNamespace[]): void {
  const k = key.replace(/\//g, '.');
  const has = (t: string) => namespaces.some((n) => n.type === t);
  const where = `(HostConfig.Sysctls ${q(key)})`;
  if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) {
    if (!has('ipc')) throw new SpecInputError(`sysctl ${q(key)} is not allowed in the hosts ipc namespace ${where}: it needs IpcMode other than host`);
    return;
  }
  if (k.startsWith('net.')) {
    // A joined namespace (another container's) is not the host's; none at all is.
    if (!has('network')) throw new SpecInputError(`sysctl ${q(key)} not allowed in host network namespace ${where}: it needs NetworkMode other than host`);
    return;
  }
  if (has('uts')) {
    if (k === 'kernel.domainname') return;
    if (k === 'kernel.hostname') {
      throw new SpecInputError(`sysctl ${q(key)} is not allowed as it conflicts with the OCI "hostname" field ${where}: use Config.Hostname`);
    }
  }
  throw new SpecInputError(
    `sysctl ${q(key)} is not in a separate kernel namespace ${where}: only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.* and kernel.domainname can be set for a container`,
  );
}

export function buildSysctls(input: SysctlInput): Record<string, string> | undefined {
  const hasSysctl = input.hasSysctl ?? hostHasSysctl;
  const out: Record<string, string> = {};
  if (input.privateNetwork) {
    // Unprivileged ICMP echo sockets without CAP_NET_RAW; ports below 1024 without CAP_NET_BIND_SERVICE.
    if (hasSysctl('net.ipv4.ping_group_range')) out['net.ipv4.ping_group_range'] = '0 2147483647';
    if (hasSysctl('net.ipv4.ip_unprivileged_port_start')) out['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  if (input.domainname) {
    if (!input.namespaces.some((n) => n.type === 'uts')) {
      throw new SpecInputError(`Config.Domainname ${q(input.domainname)}: a domain name needs a UTS namespace of the container's own (not HostConfig.UTSMode host)`);
    }
    out['kernel.domainname'] = input.domainname;
  }
  for (const [k, v] of Object.entries(input.requested ?? {})) {
    if (typeof v !== 'string') throw new SpecInputError(`HostConfig.Sysctls ${q(k)}: the value must be a string (got ${q(v)})`);
    checkSysctl(k, input.namespaces);
    out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}
