/** What the API handlers reach: the configuration and the subsystems berthd runs. */
import type { DaemonConfig } from './config';
import type { ImageService } from '../image/service';
import type { ImageUsage } from '../image/remove';
import type { Snapshotter } from '../storage/snapshotter';
import type { EventBus } from '../engine/events';

export interface DaemonContext {
  config: DaemonConfig;
  version: string;
  startedAt: Date;
  images: ImageService;
  /** The storage driver in use and why it was chosen. */
  storage: { driver: string; reason: string };
  snapshotter: Snapshotter;
  events: EventBus;
  /** IDs of the exec sessions of a container (inspect's ExecIDs). */
  execIdsOf(containerId: string): string[];
  /** Containers' use of images (rmi/prune conflicts). */
  imageUsage(): Promise<ImageUsage>;
  containerCounts(): { total: number; running: number; paused: number; stopped: number };
  log(line: string): void;
}
