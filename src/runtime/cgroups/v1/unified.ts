// linux.resources.unified on a v1/hybrid host: cgroup2 file → content, written
// to the container's dir in the cgroup2 hierarchy when there is one. A file the
// cgroup2 side does not have (its controller is a v1 hierarchy here, or not
// enabled) is an error: the OCI field for that controller is the way to set it.
import { joinPath } from '../fs';
import { CgroupError } from '../manager';
import { V1Context, readOptional, writeField } from './util';

export function applyUnified(ctx: V1Context, unified: Record<string, string> | undefined): void {
  const entries = Object.entries(unified ?? {});
  if (entries.length === 0) return;
  const dir = ctx.unified;
  for (const [key, value] of entries) {
    const field = `unified[${JSON.stringify(key)}]`;
    if (dir === undefined) {
      throw new CgroupError(field, 'this host has no cgroup2 hierarchy (legacy cgroup v1 only), so cgroup2 files cannot be set; use the OCI fields (memory, cpu, ...) instead');
    }
    const file = joinPath(dir, key);
    if (!ctx.o.fs.exists(file)) {
      const ctrls = (readOptional(ctx.o, joinPath(dir, 'cgroup.controllers')) ?? '').trim();
      const controller = key.split('.')[0];
      const v1 = ctx.dirOf(controller) !== undefined;
      throw new CgroupError(
        field,
        `${file} does not exist: ${v1 ? `${controller} is a cgroup v1 hierarchy on this host, so set it through the OCI field instead of "unified"` : `the cgroup2 side of this host has no such file (controllers enabled there: ${ctrls === '' ? 'none' : ctrls})`}`,
      );
    }
    writeField(ctx.o, field, file, value);
  }
}
