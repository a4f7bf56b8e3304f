/** `/_ping`, `/version`, `/info`, `/auth`: what the docker CLI asks before anything else. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { DaemonContext } from '../../daemon/context';
import { API_VERSION, MIN_API_VERSION, filtersParam, jsonBody, sendJson, type Router } from '../http';
import { badRequest } from '../errors';
import { login } from '../../image/registry/credentials';
import { DOCKER_HUB_AUTH_KEY } from '../../image/registry/auth';
import { detectLayout } from '../../runtime/cgroups/layout';

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {
    /* fall through */
  }
  return 'Linux';
}

export function systemRoutes(r: Router, ctx: DaemonContext): void {
  r.add('GET', '/_ping', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Docker-Experimental': 'false', 'Builder-Version': '' });
    res.end(res.req.method === 'HEAD' ? undefined : 'OK');
  });

  r.add('GET', '/version', (_req, res) => {
    const details = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: os.release(),
      BuildTime: '',
    };
    sendJson(res, 200, {
      Platform: { Name: 'berth' },
      Components: [{ Name: 'Engine', Version: ctx.version, Details: details }],
      Version: ctx.version,
      ...details,
    });
  });

  r.add('GET', '/info', async (_req, res) => {
    const images = await ctx.images.list();
    let cgroupVersion = '1';
    try {
      cgroupVersion = detectLayout().mode === 'unified' ? '2' : '1';
    } catch {
      /* keep 1 */
    }
    const counts = ctx.containerCounts();
    sendJson(res, 200, {
      ID: ctx.config.dataRoot,
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: images.length,
      Driver: ctx.storage.driver === 'overlay' ? 'overlay2' : ctx.storage.driver,
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Chosen because', ctx.storage.reason],
      ],
      Plugins: { Volume: ['local'], Network: ['none', 'host'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: false,
      Debug: ctx.config.debug,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion,
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
      IndexServerAddress: DOCKER_HUB_AUTH_KEY,
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], Mirrors: [] },
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: ctx.config.dataRoot,
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ctx.version,
      Runtimes: { 'berth-runtime': { path: 'berth-runtime' } },
      DefaultRuntime: 'berth-runtime',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: ctx.config.liveRestore,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
      Warnings: ['WARNING: no bridge network yet: containers run with --network none unless host or container:<name> is asked for'],
    });
  });

  // Checks credentials against the registry; the client stores them (docker login).
  // berth has no user-defined networks and no build cache yet: nothing to prune, but a
  // `docker system prune` asks for both after the containers and must not fail there.
  r.add('POST', '/networks/prune', (req, res) => {
    filtersParam(req.query, ['until', 'label', 'label!']);
    sendJson(res, 200, { NetworksDeleted: null });
  });
  r.add('POST', '/build/prune', (req, res) => {
    filtersParam(req.query, ['until', 'label', 'label!', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private']);
    sendJson(res, 200, { CachesDeleted: null, SpaceReclaimed: 0 });
  });

  r.add('POST', '/auth', async (req, res) => {
    const body = await jsonBody<{ username?: string; password?: string; serveraddress?: string }>(req);
    if (!body.username || !body.password) throw badRequest('username and password are required');
    const server = (body.serveraddress ?? '').replace(/^https?:\/\//, '').replace(/\/.*$/, '') || 'docker.io';
    await login(ctx.images.registry(), server === 'index.docker.io' ? 'docker.io' : server, body.username, body.password, { save: false });
    sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
}
