// Validation of config.json's `process` (also the shape of `exec --process`).

import { CAPABILITIES, IOPRIO_CLASSES, RLIMITS, SCHED_FLAGS, SCHED_POLICIES } from './constants';
import type {
  Box, CPUAffinity, LinuxCapabilities, LinuxIOPriority, POSIXRlimit, Process, Scheduler, User,
} from './types';
import {
  absPath, arr, at, bool, compact, enumStr, fail, got, int, int64, isAbsent, key, noNul, obj, opt, req,
  str, strArray,
} from './validate-util';

const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

/** Validate and copy a Process object found at `path` (throws FieldError). */
export function processAt(raw: unknown, path: string): Process {
  const o = obj(raw, path);
  const args = o.args;
  if (!Array.isArray(args) || args.length === 0) fail(key(path, 'args'), 'must be a non-empty array of strings');
  const p: Process = {
    terminal: opt(o, 'terminal', path, bool),
    consoleSize: opt(o, 'consoleSize', path, box),
    // Go's zero value: a missing user runs as uid 0 / gid 0, as with runc.
    user: isAbsent(o.user) ? { uid: 0, gid: 0 } : user(o.user, key(path, 'user')),
    args: args.map((a, i) => {
      const q = at(key(path, 'args'), i);
      const s = str(a, q);
      noNul(s, q);
      return s;
    }),
    commandLine: opt(o, 'commandLine', path, str),
    env: opt(o, 'env', path, env),
    cwd: req(o, 'cwd', path, absPath),
    capabilities: opt(o, 'capabilities', path, capabilities),
    rlimits: opt(o, 'rlimits', path, rlimits),
    noNewPrivileges: opt(o, 'noNewPrivileges', path, bool),
    apparmorProfile: opt(o, 'apparmorProfile', path, str),
    // The kernel accepts only OOM_SCORE_ADJ_MIN..OOM_SCORE_ADJ_MAX.
    oomScoreAdj: opt(o, 'oomScoreAdj', path, (v, q) => int(v, q, [-1000, 1000])),
    scheduler: opt(o, 'scheduler', path, scheduler),
    selinuxLabel: opt(o, 'selinuxLabel', path, str),
    ioPriority: opt(o, 'ioPriority', path, ioPriority),
    execCPUAffinity: opt(o, 'execCPUAffinity', path, cpuAffinity),
  };
  return compact(p);
}

function box(v: unknown, path: string): Box {
  const o = obj(v, path);
  // struct winsize holds unsigned shorts.
  return {
    height: req(o, 'height', path, (x, q) => int(x, q, 'uint16')),
    width: req(o, 'width', path, (x, q) => int(x, q, 'uint16')),
  };
}

function user(v: unknown, path: string): User {
  const o = obj(v, path);
  return compact({
    uid: opt(o, 'uid', path, (x, q) => int(x, q, 'uint32')) ?? 0,
    gid: opt(o, 'gid', path, (x, q) => int(x, q, 'uint32')) ?? 0,
    umask: opt(o, 'umask', path, (x, q) => int(x, q, 'uint32')),
    additionalGids: opt(o, 'additionalGids', path, (x, q) =>
      arr(x, q, 'an array of integers').map((g, i) => int(g, at(q, i), 'uint32')),
    ),
    username: opt(o, 'username', path, str),
  });
}

/** NAME=value entries, checked the way runc checks them before execve. */
export function env(v: unknown, path: string): string[] {
  return strArray(v, path).map((e, i) => {
    const q = at(path, i);
    const eq = e.indexOf('=');
    if (eq < 0) fail(q, `${JSON.stringify(e)} is not of the form NAME=value`);
    if (eq === 0) fail(q, `${JSON.stringify(e)} has an empty variable name`);
    noNul(e, q);
    return e;
  });
}

function capabilities(v: unknown, path: string): LinuxCapabilities {
  const o = obj(v, path);
  const out: LinuxCapabilities = {};
  for (const set of CAP_SETS) {
    const names = opt(o, set, path, strArray);
    if (names === undefined) continue;
    names.forEach((n, i) => {
      if (!Object.prototype.hasOwnProperty.call(CAPABILITIES, n)) {
        const hint = /^CAP_/.test(n) ? '' : ' (names are upper case and start with CAP_, e.g. CAP_CHOWN)';
        fail(at(key(path, set), i), `unknown capability ${JSON.stringify(n)}${hint}`);
      }
    });
    out[set] = names;
  }
  return out;
}

function rlimits(v: unknown, path: string): POSIXRlimit[] {
  const seen = new Map<string, number>();
  return arr(v, path, 'an array of {type, hard, soft} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const type = req(o, 'type', p, str);
    if (!/^RLIMIT_[A-Z]+$/.test(type) || !Object.prototype.hasOwnProperty.call(RLIMITS, type)) {
      fail(key(p, 'type'), `unknown rlimit ${JSON.stringify(type)} (expected one of: ${Object.keys(RLIMITS).join(', ')})`);
    }
    const first = seen.get(type);
    if (first !== undefined) fail(key(p, 'type'), `duplicate rlimit ${type} (already set at ${at(path, first)})`);
    seen.set(type, i);
    const hard = req(o, 'hard', p, (x, q) => int64(x, q, 'uint64'));
    const soft = req(o, 'soft', p, (x, q) => int64(x, q, 'uint64'));
    if (soft > hard) fail(key(p, 'soft'), `soft limit ${soft} is greater than hard limit ${hard}`);
    return { type, hard, soft };
  });
}

function scheduler(v: unknown, path: string): Scheduler {
  const o = obj(v, path);
  const s: Scheduler = compact({
    policy: req(o, 'policy', path, (x, q) => enumStr(x, q, SCHED_POLICIES, 'scheduling policy')),
    nice: opt(o, 'nice', path, (x, q) => int(x, q, 'int32')),
    priority: opt(o, 'priority', path, (x, q) => int(x, q, 'int32')),
    flags: opt(o, 'flags', path, (x, q) =>
      arr(x, q, 'an array of strings').map((f, i) => enumStr(f, at(q, i), SCHED_FLAGS, 'scheduler flag')),
    ),
    runtime: opt(o, 'runtime', path, (x, q) => int64(x, q, 'uint64')),
    deadline: opt(o, 'deadline', path, (x, q) => int64(x, q, 'uint64')),
    period: opt(o, 'period', path, (x, q) => int64(x, q, 'uint64')),
  });
  // The same combinations runc rejects (sched_setattr(2) semantics).
  if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && s.nice !== undefined && (s.nice < -20 || s.nice > 19)) {
    fail(key(path, 'nice'), `must be between -20 and 19 for ${s.policy} (got ${s.nice})`);
  }
  if (s.priority && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    fail(key(path, 'priority'), `can only be set for SCHED_FIFO or SCHED_RR (policy is ${s.policy})`);
  }
  if (s.policy !== 'SCHED_DEADLINE') {
    for (const f of ['runtime', 'deadline', 'period'] as const) {
      if (s[f]) fail(key(path, f), `can only be set for SCHED_DEADLINE (policy is ${s.policy})`);
    }
  }
  return s;
}

function ioPriority(v: unknown, path: string): LinuxIOPriority {
  const o = obj(v, path);
  return {
    class: req(o, 'class', path, (x, q) => enumStr(x, q, IOPRIO_CLASSES, 'I/O priority class')),
    // Go's zero value when absent.
    priority: opt(o, 'priority', path, (x, q) => int(x, q, [0, 7])) ?? 0,
  };
}

/** A CPU or memory-node list such as "0-3,7"; empty means unset. */
export function cpuList(v: unknown, path: string): string {
  const s = str(v, path);
  if (s !== '' && !/^\s*\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*\s*$/.test(s)) {
    fail(path, `must be a list like "0-3,7" (got ${got(s)})`);
  }
  for (const m of s.matchAll(/(\d+)-(\d+)/g)) {
    if (Number(m[1]) > Number(m[2])) fail(path, `range ${m[0]} is backwards`);
  }
  return s;
}

function cpuAffinity(v: unknown, path: string): CPUAffinity {
  const o = obj(v, path);
  return compact({ initial: opt(o, 'initial', path, cpuList), final: opt(o, 'final', path, cpuList) });
}
