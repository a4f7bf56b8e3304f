// Kernel calls Node cannot make, done by the native stage in "host" mode:
// attaching a cgroup v2 device filter (bpf(2)) and v1 OOM notifications (eventfd).
import { encodePlan } from '../runtime/plan/encode';
import { StageChannel } from './stage';

export class HostOpError extends Error {}

/** Loads `program` (struct bpf_insn[], compiled in TypeScript) and attaches it to `cgroupDir`, replacing the previous one. */
export async function attachDeviceFilter(cgroupDir: string, program: Buffer): Promise<void> {
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ['op:bpf_devices', cgroupDir, program]]), 'ignore');
  for (;;) {
    const m = await ch.next();
    if (m.kind === 'done') return;
    if (m.kind === 'error') throw new HostOpError(m.message);
    if (m.kind === 'eof') return;
  }
}

export interface OomWatch {
  /** Resolves once the kernel registration is in place. */
  ready: Promise<void>;
  close(): void;
}

/** cgroup v1: calls onOom for each OOM event in `memoryDir`, until close() or the cgroup is removed. */
export function watchOomV1(memoryDir: string, onOom: () => void, onGone?: () => void): OomWatch {
  const ch = StageChannel.start(encodePlan([['mode', 'host'], ['op:oomwatch', memoryDir]]), 'ignore');
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  let gone = false;
  const fireGone = () => {
    if (!gone) {
      gone = true;
      onGone?.();
    }
  };
  void (async () => {
    for (;;) {
      const m = await ch.next();
      if (m.kind === 'error') return rejectReady(new HostOpError(m.message));
      if (m.kind === 'eof') return fireGone();
      if (m.kind === 'ready') resolveReady();
      else if (m.kind === 'oom') onOom();
      else if (m.kind === 'gone') fireGone();
    }
  })();
  return { ready, close: () => ch.kill() };
}
