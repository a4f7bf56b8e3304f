/**
 * Container wire types of the Engine API (moby api/swagger.yaml: ContainerSummary for
 * `GET /containers/json`, ContainerInspectResponse for `GET /containers/{id}/json`).
 */
import type { ContainerRecord } from '../../engine/container';
import { statusText } from '../../engine/container';

const unix = (iso: string): number => Math.floor(Date.parse(iso) / 1000) || 0;

function networks(rec: ContainerRecord): Record<string, unknown> {
  const mode = rec.HostConfig.NetworkMode || 'none';
  if (mode.startsWith('container:')) return {};
  const name = mode === 'default' || mode === 'bridge' ? 'none' : mode;
  return {
    [name]: {
      IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, NetworkID: '', EndpointID: '',
      Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
    },
  };
}

function mounts(rec: ContainerRecord): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of rec.HostConfig.Binds ?? []) {
    const [src, dst, opts = ''] = b.split(':');
    out.push({ Type: 'bind', Source: src, Destination: dst, Mode: opts, RW: !opts.split(',').includes('ro'), Propagation: 'rprivate' });
  }
  for (const m of rec.HostConfig.Mounts ?? []) {
    out.push({ Type: m.Type, Source: m.Source ?? '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: m.BindOptions?.Propagation ?? (m.Type === 'bind' ? 'rprivate' : '') });
  }
  for (const dst of Object.keys(rec.HostConfig.Tmpfs ?? {})) out.push({ Type: 'tmpfs', Source: '', Destination: dst, Mode: '', RW: true, Propagation: '' });
  return out;
}

export function containerSummary(rec: ContainerRecord, extra: { sizeRw?: number } = {}): Record<string, unknown> {
  const command = [rec.Path, ...rec.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return {
    Id: rec.Id,
    Names: [`/${rec.Name}`],
    Image: rec.Config.Image ?? '',
    ImageID: rec.Image,
    Command: command,
    Created: unix(rec.Created),
    Ports: [],
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: statusText(rec.State),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode || 'none' },
    NetworkSettings: { Networks: networks(rec) },
    Mounts: mounts(rec),
    ...(extra.sizeRw !== undefined ? { SizeRw: extra.sizeRw, SizeRootFs: extra.sizeRw } : {}),
  };
}

export function containerInspect(rec: ContainerRecord, extra: { execIds: string[]; graphDriver: Record<string, string> }): Record<string, unknown> {
  return {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: rec.State,
    Image: rec.Image,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: rec.LogPath,
    Name: `/${rec.Name}`,
    RestartCount: rec.RestartCount,
    Driver: rec.Driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: extra.execIds.length ? extra.execIds : null,
    HostConfig: rec.HostConfig,
    GraphDriver: { Name: rec.Driver, Data: extra.graphDriver },
    Mounts: mounts(rec),
    Config: rec.Config,
    NetworkSettings: {
      Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
      IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '', Networks: networks(rec),
    },
  };
}
