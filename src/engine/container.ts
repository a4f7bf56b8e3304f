/**
 * A container as the engine keeps it: Docker's own shape (what `docker inspect` shows, kept in
 * `<data-root>/containers/<id>/container.json`), plus what berth needs to find its pieces again
 * after a restart (the monitor dir, the runtime's state root).
 */
import type { ContainerConfig, HostConfig } from './spec/docker-types';
import { humanDuration } from '../format/go-units';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

export interface ContainerStateRecord {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ContainerRecord {
  Id: string;
  /** Without the leading slash (the API adds it). */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  /** The merged config (image defaults + request), as Docker shows it. */
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** Image ID (config digest). */
  Image: string;
  State: ContainerStateRecord;
  RestartCount: number;
  LogPath: string;
  Driver: string;
  /** Layer ids of the image the rootfs was prepared from. */
  layers: string[];
  /** Set by `docker stop`/`kill` (unless-stopped and always restart policies honour it). */
  manuallyStopped: boolean;
  /** Whether it was ever started (restart policies apply only then). */
  hasBeenStarted: boolean;
}

export function initialState(): ContainerStateRecord {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

export function setRunning(s: ContainerStateRecord, pid: number): void {
  Object.assign(s, { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() });
}

export function setExited(s: ContainerStateRecord, exitCode: number, finishedAt: string, oomKilled: boolean, error = ''): void {
  Object.assign(s, { Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: exitCode, FinishedAt: finishedAt, OOMKilled: oomKilled, Error: error });
  if (s.Health) s.Health.Status = 'unhealthy';
}

/** "Up 3 minutes", "Exited (0) 2 hours ago" — the STATUS column of `docker ps`. */
export function statusText(s: ContainerStateRecord, now = Date.now()): string {
  const ago = (iso: string) => humanDuration(now - Date.parse(iso));
  const health = s.Health && s.Health.Status !== 'none' ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : '';
  switch (s.Status) {
    case 'running':
      return `Up ${ago(s.StartedAt)}${health}`;
    case 'paused':
      return `Up ${ago(s.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${ago(s.FinishedAt)} ago`;
    case 'exited':
      return s.FinishedAt === ZERO_TIME ? 'Created' : `Exited (${s.ExitCode}) ${ago(s.FinishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}
