/**
 * Restart policies as Docker applies them: `no`, `on-failure[:N]` (non-zero exit, at most N
 * restarts), `always`, `unless-stopped` (both: not after a manual stop). The delay doubles from
 * 100 ms up to a minute, and resets after a run of 10 s or more (moby restartmanager).
 */
import type { ContainerRecord } from './container';

export function shouldRestart(rec: ContainerRecord): boolean {
  const p = rec.HostConfig.RestartPolicy;
  const name = p?.Name ?? 'no';
  if (name === '' || name === 'no') return false;
  if (rec.manuallyStopped) return false;
  if (name === 'always' || name === 'unless-stopped') return true;
  if (name === 'on-failure') {
    const max = p?.MaximumRetryCount ?? 0;
    return rec.State.ExitCode !== 0 && (max === 0 || rec.RestartCount < max);
  }
  return false;
}

export function restartDelay(rec: ContainerRecord): number {
  const ran = Date.parse(rec.State.FinishedAt) - Date.parse(rec.State.StartedAt);
  if (ran >= 10_000) return 100;
  return Math.min(60_000, 100 * 2 ** Math.min(rec.RestartCount, 10));
}

export function validateRestartPolicy(p: { Name?: string; MaximumRetryCount?: number } | undefined, autoRemove: boolean): string | undefined {
  const name = p?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) return `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'unless-stopped', or 'on-failure'`;
  if ((p?.MaximumRetryCount ?? 0) < 0) return 'invalid restart policy: maximum retry count cannot be negative';
  if (name !== 'on-failure' && (p?.MaximumRetryCount ?? 0) > 0) return `invalid restart policy: maximum retry count can only be used with 'on-failure'`;
  if (autoRemove && name !== '' && name !== 'no') return `conflicting options: cannot combine restart policy with auto-remove`;
  return undefined;
}
