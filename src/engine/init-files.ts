/** The files of a container's init layer: /etc/hosts, /etc/hostname, /etc/resolv.conf. */
import * as fs from 'node:fs';
import type { InitFiles } from '../storage/snapshotter';
import type { ContainerConfig, HostConfig } from './spec/docker-types';

/** The host's resolv.conf without loopback nameservers (unreachable from a container's own net ns). */
export function containerResolvConf(host = '/etc/resolv.conf', dns: string[] = [], search: string[] = [], options: string[] = []): string {
  let text = '';
  try {
    text = fs.readFileSync(host, 'utf8');
  } catch {
    text = '';
  }
  const lines = text.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (dns.length) {
    const kept = lines.filter((l) => !/^\s*nameserver\s/.test(l));
    lines.length = 0;
    lines.push(...kept, ...dns.map((d) => `nameserver ${d}`));
  }
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.filter((l, i, a) => l !== '' || i < a.length - 1).join('\n').trim() + '\n';
}

export function initFiles(config: ContainerConfig, host: HostConfig): InitFiles {
  const hostname = config.Hostname ?? '';
  const fqdn = config.Domainname ? `${hostname}.${config.Domainname}` : hostname;
  const extra = (host.ExtraHosts ?? []).map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}`;
  });
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...extra,
    ...(host.NetworkMode === 'host' ? [] : [`127.0.1.1\t${fqdn === hostname ? hostname : `${fqdn} ${hostname}`}`]),
  ].join('\n') + '\n';
  return {
    hosts,
    hostname: `${hostname}\n`,
    resolvConf: containerResolvConf('/etc/resolv.conf', host.Dns ?? [], host.DnsSearch ?? [], host.DnsOptions ?? []),
  };
}
