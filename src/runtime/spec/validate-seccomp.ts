// Validation of linux.seccomp, config-linux.md#seccomp.

import {
  SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_ERRNO_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS,
} from './constants';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompAction } from './types';
import { arr, at, compact, enumStr, fail, int, int64, key, obj, opt, req, str } from './validate-util';

const action = (v: unknown, p: string) => enumStr(v, p, SECCOMP_ACTIONS, 'seccomp action');
/** It travels in the 16-bit SECCOMP_RET_DATA field. */
const errno = (v: unknown, p: string) => int(v, p, 'uint16');

export function validateSeccomp(raw: unknown, path: string): LinuxSeccomp {
  const o = obj(raw, path);
  const s: LinuxSeccomp = compact({
    defaultAction: req(o, 'defaultAction', path, action),
    defaultErrnoRet: opt(o, 'defaultErrnoRet', path, errno),
    architectures: opt(o, 'architectures', path, (x, q) =>
      arr(x, q, 'an array of strings').map((a, i) => enumStr(a, at(q, i), SECCOMP_ARCHES, 'architecture')),
    ),
    flags: opt(o, 'flags', path, (x, q) =>
      arr(x, q, 'an array of strings').map((f, i) => enumStr(f, at(q, i), SECCOMP_FLAGS, 'seccomp flag')),
    ),
    listenerPath: opt(o, 'listenerPath', path, str),
    listenerMetadata: opt(o, 'listenerMetadata', path, str),
    syscalls: opt(o, 'syscalls', path, syscalls),
  });
  errnoAllowed(s.defaultAction, s.defaultErrnoRet, key(path, 'defaultErrnoRet'), 'defaultAction');
  if (s.listenerMetadata && !s.listenerPath) fail(key(path, 'listenerMetadata'), 'must not be set without listenerPath');
  return s;
}

/** The spec: an errno on an action that cannot return one MUST be an error. */
function errnoAllowed(act: SeccompAction, ret: number | undefined, path: string, actionField: string): void {
  if (ret !== undefined && !(SECCOMP_ERRNO_ACTIONS as readonly string[]).includes(act)) {
    fail(path, `can only be used when ${actionField} is ${SECCOMP_ERRNO_ACTIONS.join(' or ')} (it is ${act})`);
  }
}

function syscalls(v: unknown, path: string): LinuxSyscall[] {
  return arr(v, path, 'an array of syscall rules').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    const names = req(o, 'names', p, (x, q) => arr(x, q, 'a non-empty array of strings'));
    if (names.length === 0) fail(key(p, 'names'), 'must be a non-empty array of strings');
    const rule: LinuxSyscall = compact({
      names: names.map((n, j) => {
        const s = str(n, at(key(p, 'names'), j));
        if (s === '') fail(at(key(p, 'names'), j), 'must not be empty');
        return s;
      }),
      action: req(o, 'action', p, action),
      errnoRet: opt(o, 'errnoRet', p, errno),
      args: opt(o, 'args', p, args),
    });
    errnoAllowed(rule.action, rule.errnoRet, key(p, 'errnoRet'), 'action');
    return rule;
  });
}

function args(v: unknown, path: string): LinuxSeccompArg[] {
  return arr(v, path, 'an array of {index, value, op} objects').map((e, i) => {
    const p = at(path, i);
    const o = obj(e, p);
    return compact({
      // Syscalls take at most six arguments.
      index: req(o, 'index', p, (x, q) => int(x, q, [0, 5])),
      value: req(o, 'value', p, (x, q) => int64(x, q, 'uint64')),
      valueTwo: opt(o, 'valueTwo', p, (x, q) => int64(x, q, 'uint64')),
      op: req(o, 'op', p, (x, q) => enumStr(x, q, SECCOMP_OPERATORS, 'operator')),
    });
  });
}
