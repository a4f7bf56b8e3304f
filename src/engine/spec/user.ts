// Config.User and HostConfig.GroupAdd -> process.user, as dockerd does it with
// github.com/moby/sys/user (runc's libcontainer/user): GetExecUser against the image's
// /etc/passwd and /etc/group, then GetAdditionalGroups for GroupAdd. The files are read
// through the caller (inside the rootfs, never following a link out of it).

import type { User } from '../../runtime/spec/types';
import { SpecInputError } from './errors';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;
const RANGE_ERROR = 'uids and gids must be in range 0-2147483647';

/** Go's strconv.Atoi for the values we care about: an optional sign and decimal digits. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Fields of a `:`-separated line, as moby/sys/user's parseLine (missing ones are ""). */
function fields(line: string, n: number): string[] {
  const parts = line.split(':');
  while (parts.length < n) parts.push('');
  return parts;
}

/** name:password:UID:GID:GECOS:directory:shell; malformed numbers read as 0, as Go does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const [name, , uid, gid, , home] = fields(line, 7) as [string, string, string, string, string, string];
    out.push({ name, uid: atoi(uid) ?? 0, gid: atoi(gid) ?? 0, home });
  }
  return out;
}

/** group_name:password:GID:user_list */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const [name, , gid, list] = fields(line, 4) as [string, string, string, string];
    out.push({ name, gid: atoi(gid) ?? 0, members: list === '' ? [] : list.split(',') });
  }
  return out;
}

export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary groups from /etc/group membership (only when the user was named implicitly). */
  sgids: number[];
  home: string;
}

/**
 * GetExecUser: `spec` is "", "user", "uid", "user:group", "uid:gid" (mixes allowed). Absent
 * files (undefined) behave as moby's: names cannot be found, numbers are taken as is.
 */
export function getExecUser(spec: string, passwd: string | undefined, group: string | undefined): ExecUser {
  const [userArg = '', groupArg = ''] = spec.split(':');
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);
  const user: ExecUser = { uid: 0, gid: 0, sgids: [], home: '' };

  const users = (passwd === undefined ? [] : parsePasswd(passwd)).filter((u) => {
    if (userArg === '') return u.uid === user.uid;
    if (uidArg !== undefined) return u.uid === uidArg;
    return u.name === userArg;
  });
  let matchedName = '';
  if (users.length > 0) {
    const u = users[0]!;
    matchedName = u.name;
    user.uid = u.uid;
    user.gid = u.gid;
    user.home = u.home;
  } else if (userArg !== '') {
    if (uidArg === undefined) {
      throw new SpecInputError(
        `unable to find user ${userArg}: no matching entries in passwd file` +
          ` (user ${JSON.stringify(spec)}: the container's /etc/passwd has no such user; use a name it lists or a numeric uid)`,
      );
    }
    if (uidArg < 0 || uidArg > MAX_ID) throw new SpecInputError(`Config.User ${JSON.stringify(spec)}: ${RANGE_ERROR}`);
    user.uid = uidArg;
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = (group === undefined ? [] : parseGroup(group)).filter((g) => {
      if (groupArg === '') return g.members.includes(matchedName);
      if (gidArg !== undefined) return g.gid === gidArg;
      return g.name === groupArg;
    });
    if (groupArg !== '') {
      if (groups.length > 0) {
        user.gid = groups[0]!.gid;
      } else {
        if (gidArg === undefined) {
          throw new SpecInputError(
            `unable to find group ${groupArg}: no matching entries in group file` +
              ` (Config.User ${JSON.stringify(spec)}: the image's /etc/group has no such group; use a name it lists or a numeric gid)`,
          );
        }
        if (gidArg < 0 || gidArg > MAX_ID) throw new SpecInputError(`Config.User ${JSON.stringify(spec)}: ${RANGE_ERROR}`);
        user.gid = gidArg;
      }
    } else {
      // Supplementary groups only in the implicit form.
      user.sgids = groups.map((g) => g.gid);
    }
  }
  return user;
}

/**
 * GetAdditionalGroups: each entry is a group name or gid of the image's /etc/group, or any
 * number. Duplicates are kept once, in request order (moby returns them in map order).
 */
export function getAdditionalGroups(additional: readonly string[], group: string | undefined): number[] {
  const groups = group === undefined ? [] : parseGroup(group);
  const out: number[] = [];
  for (const ag of additional) {
    const g = groups.find((x) => x.name === ag || String(x.gid) === ag);
    let gid: number;
    if (g) {
      gid = g.gid;
    } else {
      const n = atoi(ag);
      if (n === undefined) {
        throw new SpecInputError(
          `HostConfig.GroupAdd: Unable to find group ${ag}: no matching entries in group file` +
            ' (the image\'s /etc/group has no such group; use a name it lists or a numeric gid)',
        );
      }
      if (n < 0 || n > MAX_ID) throw new SpecInputError(`HostConfig.GroupAdd ${JSON.stringify(ag)}: ${RANGE_ERROR}`);
      gid = n;
    }
    if (!out.includes(gid)) out.push(gid);
  }
  return out;
}

/**
 * daemon/oci_linux.go getUser: uid, gid, and additionalGids = [gid, ...membership groups,
 * ...GroupAdd] (the primary gid is listed first, as dockerd does).
 */
export function resolveUser(
  spec: string,
  groupAdd: readonly string[],
  readFile: (pathInRootfs: string) => string | undefined,
): User & { home: string } {
  const passwd = readFile('/etc/passwd');
  const group = readFile('/etc/group');
  const eu = getExecUser(spec, passwd, group);
  const extra = groupAdd.length > 0 ? getAdditionalGroups(groupAdd, group) : [];
  return { uid: eu.uid, gid: eu.gid, additionalGids: [eu.gid, ...eu.sgids, ...extra], home: eu.home };
}
