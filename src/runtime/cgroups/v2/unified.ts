// linux.resources.unified on cgroup v2: "<file>": "<content>" written verbatim into
// the container's cgroup dir, after every typed field, so on a conflict the unified
// value wins (as in runc). A conflict with a value a typed field wrote is reported
// with a warning, since it is usually a mistake.
// Refused: names with "/" or "..", names that are not an existing interface file
// (once the controller the "<controller>." prefix names has been enabled), and the
// core files through which berth manages the cgroup (cgroup.procs, .threads,
// .subtree_control, .type, .kill, .freeze): writing those would move processes,
// change delegation or freeze/kill the container behind the runtime's back.
// A multi-line value is written one line per write(2), as cgroupfs parses one
// command per write (e.g. several io.max devices); runc does the same.
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import { V2_CONTROLLERS } from './controllers';
import { PlanContext, Write, has } from './util';

const MANAGED = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.type', 'cgroup.kill', 'cgroup.freeze']);

export function planUnified(r: Record<string, string> | undefined, c: PlanContext, typed: Write[]): Write[] {
  if (!r) return [];
  const out: Write[] = [];
  for (const [key, value] of Object.entries(r)) {
    const field = `unified[${JSON.stringify(key)}]`;
    if (key === '' || key.includes('/') || key === '.' || key === '..' || key.includes('\0')) {
      throw new CgroupError(field, 'must be the name of a file in the cgroup directory (no "/" or "..")');
    }
    if (MANAGED.has(key)) throw new CgroupError(field, `${key} is managed by the runtime and cannot be set through linux.resources.unified`);
    if (typeof value !== 'string') throw new CgroupError(field, 'the value must be a string');
    const controller = key.split('.')[0];
    if (V2_CONTROLLERS.includes(controller)) c.need(controller, field);
    if (!has(c, key)) {
      throw new CgroupError(field, `${joinPath(c.dir, key)} does not exist: not a cgroup v2 interface file of this kernel`);
    }
    const lines = value.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) throw new CgroupError(field, 'the value is empty');
    const clash = typed.filter((w) => w.file === key && !lines.includes(w.value));
    if (clash.length) {
      c.warn(`linux.resources.${field} (${JSON.stringify(value)}) overrides linux.resources.${clash[0].field} (${JSON.stringify(clash[0].value)})`);
    }
    for (const line of lines) out.push({ file: key, value: line, field });
  }
  return out;
}
