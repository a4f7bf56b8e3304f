/**
 * `berth version` (docker's own template, tabwriter minwidth 20 / padding 1) and `berth info`
 * (the subset of docker's pretty printer that berthd reports).
 */
import type { CommandSpec, Ctx } from '../command';
import { StatusError } from '../command';
import type { ParsedFlags } from '../flags';
import { API_VERSION } from '../client';
import { compile, TemplateError, type Template } from '../template';
import { TabWriter } from '../format/tabwriter';
import { bytesSize, goANSIC } from '../format/units';
import { INSPECT_FORMAT_HELP } from './common';

export const VERSION = '0.1.0';

const VERSION_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:	{{.Version}}
 API version:	{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Go version:	{{.GoVersion}}
 Git commit:	{{.GitCommit}}
 Built:	{{.BuildTime}}
 OS/Arch:	{{.Os}}/{{.Arch}}
 Context:	{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else }}
  Version:	{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:	{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

function reformatDate(s: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s)) return s;
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : goANSIC(new Date(t));
}

function arch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
}

/** docker's clientVersion: JSON key "ApiVersion", template field .APIVersion (not in JSON). */
function clientVersion(): Record<string, unknown> {
  const v: Record<string, unknown> = {
    Version: VERSION,
    ApiVersion: API_VERSION,
    DefaultAPIVersion: API_VERSION,
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: arch(),
    Context: 'default',
    GitCommit: '',
    BuildTime: '',
  };
  Object.defineProperty(v, 'APIVersion', { value: API_VERSION, enumerable: false });
  return v;
}

interface ServerVersion {
  Platform?: { Name?: string };
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, string> }>;
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

export const version = (): CommandSpec => ({
  path: 'version',
  usage: '[OPTIONS]',
  short: 'Show the Berth version information',
  args: { none: true },
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  async run(ctx: Ctx, f: ParsedFlags) {
    const format = f.values.format as string;
    let tmpl: Template;
    try {
      const src = format === '' ? VERSION_TEMPLATE : format === 'json' ? '{{json .}}' : format;
      tmpl = compile(src, {
        getDetailsOrder: (c) => Object.keys((c as { Details?: object }).Details ?? {}).sort(),
      });
    } catch (e) {
      if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
      throw e;
    }
    const data: { Client: Record<string, unknown>; Server: ServerVersion | null } = { Client: clientVersion(), Server: null };
    let failure: Error | undefined;
    try {
      const sv = await ctx.client().json<ServerVersion>('GET', '/version');
      const components = sv.Components ?? [];
      const engine = components.find((c) => c.Name === 'Engine');
      if (engine) {
        if (engine.Details?.BuildTime !== undefined) engine.Details.BuildTime = reformatDate(engine.Details.BuildTime);
      } else {
        components.push({
          Name: 'Engine',
          Version: sv.Version ?? '',
          Details: {
            ApiVersion: sv.ApiVersion ?? '',
            MinAPIVersion: sv.MinAPIVersion ?? '',
            GitCommit: sv.GitCommit ?? '',
            GoVersion: sv.GoVersion ?? '',
            Os: sv.Os ?? '',
            Arch: sv.Arch ?? '',
            BuildTime: reformatDate(sv.BuildTime ?? ''),
            Experimental: String(Boolean(sv.Experimental)),
          },
        });
      }
      sv.Components = components;
      sv.Platform ??= { Name: '' };
      data.Server = sv;
    } catch (e) {
      failure = e as Error;
    }
    let text: string;
    try {
      text = tmpl.execute(data);
    } catch (e) {
      text = (e as { partial?: string }).partial ?? '';
      if (!failure) failure = new Error(`template: ${(e as Error).message}`);
    }
    const tw = new TabWriter(20, 1);
    tw.write(text + '\n');
    ctx.out(tw.flush());
    if (failure) throw failure;
  },
});

type Info = Record<string, unknown> & {
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  ServerVersion?: string;
  Driver?: string;
  DriverStatus?: Array<[string, string]> | null;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Plugins?: { Volume?: string[] | null; Network?: string[] | null; Authorization?: string[] | null; Log?: string[] | null };
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Name?: string;
  ID?: string;
  DockerRootDir?: string;
  Debug?: boolean;
  Warnings?: string[] | null;
};

function prettyInfo(info: Info, debug: boolean): [string, string] {
  let o = `Client:\n Version:    ${VERSION}\n Context:    default\n Debug Mode: ${debug}\n\nServer:\n`;
  const line = (k: string, v: unknown) => (o += ` ${k}: ${v}\n`);
  const nonEmpty = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') line(k, v);
  };
  line('Containers', info.Containers ?? 0);
  o += `  Running: ${info.ContainersRunning ?? 0}\n  Paused: ${info.ContainersPaused ?? 0}\n  Stopped: ${info.ContainersStopped ?? 0}\n`;
  line('Images', info.Images ?? 0);
  nonEmpty('Server Version', info.ServerVersion);
  nonEmpty('Storage Driver', info.Driver);
  for (const [k, v] of info.DriverStatus ?? []) o += `  ${k}: ${v}\n`;
  nonEmpty('Logging Driver', info.LoggingDriver);
  nonEmpty('Cgroup Driver', info.CgroupDriver);
  nonEmpty('Cgroup Version', info.CgroupVersion);
  const p = info.Plugins ?? {};
  o += ' Plugins:\n';
  o += `  Volume: ${(p.Volume ?? []).join(' ')}\n  Network: ${(p.Network ?? []).join(' ')}\n`;
  if ((p.Authorization ?? []).length) o += `  Authorization: ${(p.Authorization ?? []).join(' ')}\n`;
  o += `  Log: ${(p.Log ?? []).join(' ')}\n`;
  if (info.Runtimes && Object.keys(info.Runtimes).length) {
    line('Runtimes', Object.keys(info.Runtimes).join(' '));
    line('Default Runtime', info.DefaultRuntime ?? '');
  }
  nonEmpty('Kernel Version', info.KernelVersion);
  nonEmpty('Operating System', info.OperatingSystem);
  nonEmpty('OSType', info.OSType);
  nonEmpty('Architecture', info.Architecture);
  line('CPUs', info.NCPU ?? 0);
  line('Total Memory', bytesSize(info.MemTotal ?? 0));
  nonEmpty('Name', info.Name);
  nonEmpty('ID', info.ID);
  line('Berth Root Dir', info.DockerRootDir ?? '');
  line('Debug Mode', Boolean(info.Debug));
  const warnings = (info.Warnings ?? []).join('\n');
  return [o, warnings];
}

export const info = (p = 'info'): CommandSpec => ({
  path: p,
  usage: '[OPTIONS]',
  short: 'Display system-wide information',
  aliases: 'berth system info, berth info',
  args: { none: true },
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  async run(ctx: Ctx, f: ParsedFlags) {
    const format = f.values.format as string;
    let tmpl: Template | undefined;
    if (format !== '') {
      try {
        tmpl = compile(format === 'json' ? '{{json .}}' : format);
      } catch (e) {
        if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
        throw e;
      }
    }
    const inf = await ctx.client().json<Info>('GET', '/info');
    if (tmpl) {
      const data = { ...inf, ClientInfo: { Debug: false, Context: 'default', Version: VERSION, Plugins: [], Warnings: null } };
      try {
        ctx.out(tmpl.execute(data) + '\n');
      } catch (e) {
        throw new Error(`template: ${(e as Error).message}`);
      }
      return;
    }
    const [text, warnings] = prettyInfo(inf, false);
    ctx.out(text);
    if (warnings) ctx.err(warnings + '\n');
  },
});
