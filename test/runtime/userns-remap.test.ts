// userns-remap: mappings must lie in the remap user's /etc/subuid and /etc/subgid ranges.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupRuntime } from "../fixtures/runtime";
import { assertNothingLeft, bundle, fails, ok, rt, tmpDir } from "./helpers";
import type { TestCtx } from "./helpers";

after(() => cleanupRuntime());

function remapBundle(t: TestCtx, hostId: number) {
  return bundle(t, {
    args: ["sh", "-c", "cat /proc/self/uid_map"],
    modify: (s) => {
      const linux = s.linux as Record<string, unknown>;
      (linux["namespaces"] as { type: string }[]).push({ type: "user" });
      linux["uidMappings"] = [{ containerID: 0, hostID: hostId, size: 65536 }];
      linux["gidMappings"] = [{ containerID: 0, hostID: hostId, size: 65536 }];
      (s as Record<string, unknown>)["annotations"] = { "org.berth.userns.remap-user": "berth-test-remap" };
    },
  });
}

function subidFiles(t: TestCtx): Record<string, string> {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, "subuid"), "# delegated to the remap user\nberth-test-remap:200000:65536\n");
  fs.writeFileSync(path.join(dir, "subgid"), "berth-test-remap:200000:65536\n");
  return { BERTH_SUBUID_FILE: path.join(dir, "subuid"), BERTH_SUBGID_FILE: path.join(dir, "subgid") };
}

test("userns-remap: a mapping outside the remap user's subuid range is refused, nothing created", (t) => {
  const env = subidFiles(t);
  const b = remapBundle(t, 100000);
  const res = fails(rt(["run", "--bundle", b.dir, b.id], { env: { ...process.env, ...env } }));
  assert.match(res.stderr, /not delegated to user "berth-test-remap"/);
  assert.match(res.stderr, /200000/); // says which ranges the user has
  assertNothingLeft(b.id);
});

test("userns-remap: a mapping inside the remap user's ranges runs", (t) => {
  const env = subidFiles(t);
  const b = remapBundle(t, 200000);
  const res = ok(rt(["run", "--bundle", b.dir, b.id], { env: { ...process.env, ...env } }));
  assert.match(res.stdout, /^\s*0\s+200000\s+65536\s*$/m);
});
