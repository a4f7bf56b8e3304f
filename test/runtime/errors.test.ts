// Errors: each is a clear "berth-runtime: ..." message naming what is wrong, exit status 1,
// and a failed create leaves nothing behind (no state dir, no cgroup, no process, no mount).
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cleanupRuntime, runtimeCli, runtimeCliAsync } from "../fixtures/runtime";
import { makeBundle } from "../fixtures/busybox";
import {
  alive,
  assertNothingLeft,
  bundle,
  cgroupDirs,
  container,
  execSh,
  fails,
  hostMountinfo,
  state,
  stateDir,
  waitStatus,
} from "./helpers";

after(() => cleanupRuntime());

/** Asserts a one-line (or few-line) "berth-runtime: " error and exit 1. */
function clearError(res: ReturnType<typeof runtimeCli>, ...patterns: RegExp[]): void {
  fails(res, 1);
  assert.match(res.stderr, /^berth-runtime: /, `stderr: ${res.stderr}`);
  assert.doesNotMatch(res.stderr, /internal error|\n\s+at /, "no stack trace");
  for (const p of patterns) assert.match(res.stderr, p);
}

/** `create` of a bundle whose config.json is `text`; asserts the failure left nothing. */
function createWithConfig(t: Parameters<typeof bundle>[0], text: string): ReturnType<typeof runtimeCli> {
  const b = bundle(t);
  fs.writeFileSync(b.configPath, text);
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  assertNothingLeft(b.id);
  return res;
}

test("config: invalid JSON is reported with its line and column", (t) => {
  const res = createWithConfig(t, '{\n  "ociVersion": "1.2.0",\n  "process": { "args": ["sh"] oops }\n}\n');
  clearError(res, /config\.json/, /line 3/, /column \d+/);
});

test("config: empty process.args names the field", (t) => {
  const b = bundle(t, { args: [] });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /process\.args/);
  assertNothingLeft(b.id);
});

test("config: a missing process names the field", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      delete (s as Partial<typeof s>).process;
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /process/);
  assertNothingLeft(b.id);
});

test("config: an unknown namespace type is named", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      s.linux.namespaces!.push({ type: "berth-bogus" });
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /namespace/, /berth-bogus/);
  assertNothingLeft(b.id);
});

test("config: a wrong type for a field is named with its path", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      (s.process.user as { uid: unknown }).uid = "root";
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /process\.user\.uid/);
  assertNothingLeft(b.id);
});

test("config: an unknown capability is named", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      s.process.capabilities!.bounding!.push("CAP_BERTH_BOGUS");
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /CAP_BERTH_BOGUS/);
  assertNothingLeft(b.id);
});

test("bundle: a missing bundle directory is reported", () => {
  const dir = path.join(os.tmpdir(), "berth-test-no-such-bundle-" + process.pid);
  const res = runtimeCli(["create", "--bundle", dir, "berth-test-nobundle"]);
  clearError(res, /does not exist/, new RegExp(dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
  assertNothingLeft("berth-test-nobundle");
});

test("bundle: a missing config.json is reported", (t) => {
  const b = bundle(t);
  fs.rmSync(b.configPath);
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /config\.json/, /does not exist/);
  assertNothingLeft(b.id);
});

test("bundle: a missing rootfs is reported", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      s.root.path = "no-such-rootfs";
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /root/, /no-such-rootfs/);
  assertNothingLeft(b.id);
});

test("create: an id already in use fails and the first container is unharmed", (t) => {
  const c = container(t, "sleep 100");
  const other = makeBundle({ args: ["true"], id: c.id }); // same id, so the same cgroupsPath
  t.after(() => other.cleanup());
  const res = runtimeCli(["create", "--bundle", other.dir, c.id]);
  clearError(res, /already exists/, new RegExp(c.id));
  const st = state(c.id);
  assert.equal(st.status, "running");
  assert.equal(st.pid, c.pid);
  assert.equal(st.bundle, c.b.dir);
  assert.ok(alive(c.pid));
  assert.ok(fs.existsSync(path.join("/sys/fs/cgroup/pids/berth", c.id)), "its cgroup is still there");
});

test("create: an invalid container id is refused", (t) => {
  const b = bundle(t);
  for (const id of ["../berth-test-escape", "berth test", "berth/test"]) {
    const res = runtimeCli(["create", "--bundle", b.dir, id]);
    clearError(res, /invalid container id|container id/);
  }
  assert.equal(fs.existsSync(path.join(path.dirname(stateDir("x")), "..", "berth-test-escape")), false);
});

test("create: a mount that fails in the stage is named, and everything is undone", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      s.mounts.push({ destination: "/berth-fs", type: "berthnosuchfs", source: "none" });
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /\/berth-fs/, /berthnosuchfs/, /No such device/);
  assertNothingLeft(b.id);
  assert.ok(!hostMountinfo().includes(b.rootfs), "no mount of the rootfs left on the host");
});

test("create: a bind mount with a missing source is named", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      s.mounts.push({ destination: "/data", type: "bind", source: "/berth-test-no-such-source", options: ["rbind"] });
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /berth-test-no-such-source/);
  assertNothingLeft(b.id);
});

test("create: two concurrent creates of one id: exactly one wins, the other says 'already exists'", async (t) => {
  const a = bundle(t, { args: ["sleep", "100"] });
  const b = makeBundle({ args: ["sleep", "100"], id: a.id }); // same id, same cgroupsPath
  t.after(() => b.cleanup());
  const [ra, rb] = await Promise.all([
    runtimeCliAsync(["create", "--bundle", a.dir, a.id]),
    runtimeCliAsync(["create", "--bundle", b.dir, a.id]),
  ]);
  const codes = [ra.code, rb.code].sort();
  assert.deepEqual(codes, [0, 1], `exit codes: ${ra.code} ${ra.stderr} / ${rb.code} ${rb.stderr}`);
  const loser = ra.code === 0 ? rb : ra;
  assert.match(loser.stderr, /already exists/);
  const st = state(a.id);
  assert.equal(st.status, "created");
  assert.ok(alive(st.pid));
  assert.deepEqual(
    fs.readFileSync(path.join("/sys/fs/cgroup/pids/berth", a.id, "cgroup.procs"), "utf8").trim().split("\n").map(Number),
    [st.pid],
    "only the winner's init is in the cgroup",
  );
});

test("run --detach: a command that is not found exits 127 and leaves nothing", (t) => {
  const b = bundle(t, { args: ["berth-test-no-such-cmd"] });
  const res = runtimeCli(["run", "--detach", "--bundle", b.dir, b.id]);
  fails(res, 127);
  assert.match(res.stderr, /berth-test-no-such-cmd/);
  assertNothingLeft(b.id);
});

test("config: a hostname without a UTS namespace is refused", (t) => {
  const b = bundle(t, {
    modify: (s) => {
      s.linux.namespaces = s.linux.namespaces!.filter((n) => n.type !== "uts");
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  clearError(res, /hostname/, /uts|UTS/);
  assertNothingLeft(b.id);
});

test(
  "config: a sysctl that is not namespaced (vm.*) is refused, never written to the host",
  (t) => {
  // The value is the host's current one: even a runtime that wrongly writes it changes nothing.
  const current = fs.readFileSync("/proc/sys/vm/swappiness", "utf8").trim();
  const b = bundle(t, {
    args: ["true"],
    modify: (s) => {
      s.linux["sysctl"] = { "vm.swappiness": current };
    },
  });
  const res = runtimeCli(["run", "--bundle", b.dir, b.id]);
  clearError(res, /vm\.swappiness/, /namespace/);
  assertNothingLeft(b.id);
  assert.equal(fs.readFileSync("/proc/sys/vm/swappiness", "utf8").trim(), current);
});

test(
  "config: a net.* sysctl without a network namespace is refused",
  (t) => {
  const current = fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  const b = bundle(t, {
    args: ["true"],
    modify: (s) => {
      s.linux.namespaces = s.linux.namespaces!.filter((n) => n.type !== "network");
      s.linux["sysctl"] = { "net.ipv4.ip_forward": current };
    },
  });
  const res = runtimeCli(["run", "--bundle", b.dir, b.id]);
  clearError(res, /net\.ipv4\.ip_forward/, /network namespace|namespace/);
  assertNothingLeft(b.id);
  assert.equal(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), current);
});

test("kill: an unknown signal is refused and the container is unharmed", (t) => {
  const c = container(t, "sleep 100");
  const res = runtimeCli(["kill", c.id, "SIGBERTH"]);
  clearError(res, /signal/, /SIGBERTH/);
  assert.equal(state(c.id).status, "running");
  assert.ok(alive(c.pid));
});

test("start: on a running container fails with a clear message", (t) => {
  const c = container(t, "sleep 100");
  clearError(runtimeCli(["start", c.id]), /running/);
});

test("delete: a running container without --force fails with a clear message", (t) => {
  const c = container(t, "sleep 100");
  clearError(runtimeCli(["delete", c.id]), /running/, /force/);
  assert.ok(alive(c.pid));
  assert.deepEqual(cgroupDirs(c.id).length > 0, true);
});

test("exec: in a stopped container fails with a clear message", async (t) => {
  const c = container(t, "true");
  await waitStatus(c.id, "stopped");
  clearError(execSh(c.id, "true"), /stopped/);
});

test("exec: with no command fails with usage", (t) => {
  const c = container(t, "sleep 100");
  clearError(runtimeCli(["exec", c.id]), /command/);
});

test("commands on a container that does not exist fail with 'does not exist'", () => {
  for (const args of [["state"], ["start"], ["kill"], ["delete"], ["ps"], ["exec"]]) {
    const res = runtimeCli([...args, "berth-test-missing", ...(args[0] === "exec" ? ["true"] : [])]);
    clearError(res, /berth-test-missing/, /does not exist/);
  }
});

test("cli: an unknown command and an unknown flag are usage errors", () => {
  clearError(runtimeCli(["berth-bogus-command"]), /unknown command/);
  clearError(runtimeCli(["create", "--berth-bogus-flag", "x"]), /berth-bogus-flag/);
});
