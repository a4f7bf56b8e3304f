/** What the API handlers reach: the configuration and the subsystems berthd runs. */
import type { DaemonConfig } from './config';
import type { ImageService } from '../image/service';
import type { ImageUsage } from '../image/remove';

export interface DaemonContext {
  config: DaemonConfig;
  version: string;
  startedAt: Date;
  images: ImageService;
  /** The storage driver in use and why it was chosen. */
  storage: { driver: string; reason: string };
  /** Containers' use of images (rmi/prune conflicts). */
  imageUsage(): Promise<ImageUsage>;
  log(line: string): void;
}
