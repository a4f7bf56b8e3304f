// OCI namespace types → clone flags and /proc/<pid>/ns file names, and the join order.
import { CLONE } from '../../kernel/constants';
import type { NamespaceType } from '../spec/types';

export const NS_INFO: Record<NamespaceType, { flag: number; file: string }> = {
  user: { flag: CLONE.NEWUSER, file: 'user' },
  cgroup: { flag: CLONE.NEWCGROUP, file: 'cgroup' },
  ipc: { flag: CLONE.NEWIPC, file: 'ipc' },
  uts: { flag: CLONE.NEWUTS, file: 'uts' },
  network: { flag: CLONE.NEWNET, file: 'net' },
  pid: { flag: CLONE.NEWPID, file: 'pid' },
  time: { flag: CLONE.NEWTIME, file: 'time' },
  mount: { flag: CLONE.NEWNS, file: 'mnt' },
};

/**
 * Join order: the user namespace first (it grants the capabilities to join the
 * others it owns), the mount namespace last (joining it changes how the later
 * paths would resolve).
 */
export const JOIN_ORDER: NamespaceType[] = ['user', 'cgroup', 'ipc', 'uts', 'network', 'pid', 'time', 'mount'];
