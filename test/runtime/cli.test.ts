// The command line beyond the lifecycle: spec (and running what it writes), features,
// --log/--log-format, --version/--help.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupRuntime, runtimeCli } from "../fixtures/runtime";
import { buildRootfs, randomTestId } from "../fixtures/busybox";
import { assertNothingLeft, fails, forceDelete, ok, tmpDir } from "./helpers";

after(() => cleanupRuntime());

interface GeneratedSpec {
  ociVersion: string;
  process: { terminal: boolean; args: string[]; user: { uid: number; gid: number }; cwd: string; env: string[] };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: Array<{ destination: string }>;
  linux: {
    namespaces: Array<{ type: string }>;
    cgroupsPath?: string;
    uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

test("spec: writes runc's default config.json into --bundle", (t) => {
  const dir = tmpDir(t);
  ok(runtimeCli(["spec", "--bundle", dir]));
  const s = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as GeneratedSpec;
  assert.match(s.ociVersion, /^1\./);
  assert.equal(s.process.terminal, true);
  assert.deepEqual(s.process.args, ["sh"]);
  assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
  assert.equal(s.root.path, "rootfs");
  assert.equal(s.root.readonly, true);
  assert.deepEqual(
    s.linux.namespaces.map((n) => n.type).sort(),
    ["cgroup", "ipc", "mount", "network", "pid", "uts"],
  );
  for (const m of ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]) {
    assert.ok(s.mounts.some((x) => x.destination === m), `a mount on ${m}`);
  }
  assert.ok(s.linux.maskedPaths?.includes("/proc/kcore"));
  assert.ok(s.linux.readonlyPaths?.includes("/proc/sys"));
});

test("spec: the generated config runs a container (with a busybox rootfs)", (t) => {
  const dir = tmpDir(t);
  const id = randomTestId();
  t.after(() => forceDelete(id));
  ok(runtimeCli(["spec", "--bundle", dir]));
  buildRootfs(path.join(dir, "rootfs"));
  const file = path.join(dir, "config.json");
  const s = JSON.parse(fs.readFileSync(file, "utf8")) as GeneratedSpec;
  s.process.terminal = false;
  s.process.args = ["sh", "-c", "echo $(hostname) $$ $(id -u); touch /x 2>/dev/null || echo ro"];
  s.linux.cgroupsPath = `/berth/${id}`; // only ever under /berth in tests
  fs.writeFileSync(file, JSON.stringify(s));
  const res = ok(runtimeCli(["run", "--bundle", dir, id]));
  assert.equal(res.stdout, `${s.hostname ?? "runc"} 1 0\nro\n`);
  assertNothingLeft(id);
});

test("spec: refuses to overwrite an existing config.json", (t) => {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, "config.json"), "{}\n");
  const res = runtimeCli(["spec", "--bundle", dir]);
  fails(res);
  assert.match(res.stderr, /config\.json/);
  assert.match(res.stderr, /exists/);
  assert.equal(fs.readFileSync(path.join(dir, "config.json"), "utf8"), "{}\n");
});

test(
  "spec: a --bundle directory that does not exist is a clear error, not a crash",
  (t) => {
  const dir = path.join(tmpDir(t), "missing");
  const res = runtimeCli(["spec", "--bundle", dir]);
  fails(res);
  assert.match(res.stderr, /^berth-runtime: /);
  assert.doesNotMatch(res.stderr, /internal error|\n\s+at /, `no stack trace: ${res.stderr}`);
  assert.match(res.stderr, new RegExp(dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
});

test("spec --rootless: adds a user namespace with mappings and drops the network namespace", (t) => {
  const dir = tmpDir(t);
  ok(runtimeCli(["spec", "--rootless", "--bundle", dir]));
  const s = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as GeneratedSpec;
  const types = s.linux.namespaces.map((n) => n.type);
  assert.ok(types.includes("user"));
  assert.ok(!types.includes("network"));
  assert.equal(s.linux.uidMappings?.[0]?.containerID, 0);
  assert.equal(s.linux.uidMappings?.[0]?.hostID, process.getuid!());
});

test("features: prints JSON describing what the runtime supports", () => {
  const f = JSON.parse(ok(runtimeCli(["features"])).stdout) as {
    ociVersionMin: string;
    ociVersionMax: string;
    hooks: string[];
    mountOptions: string[];
    linux?: { namespaces?: string[]; capabilities?: string[] };
  };
  assert.match(f.ociVersionMin, /^1\./);
  assert.match(f.ociVersionMax, /^1\./);
  for (const h of ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]) assert.ok(f.hooks.includes(h), h);
  for (const o of ["ro", "rbind", "nosuid", "rprivate"]) assert.ok(f.mountOptions.includes(o), o);
  for (const n of ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]) assert.ok(f.linux?.namespaces?.includes(n), n);
  assert.ok(f.linux?.capabilities?.includes("CAP_SYS_ADMIN"));
});

test("--log / --log-format json: errors are also written to the log file, one JSON object a line", (t) => {
  const dir = tmpDir(t);
  const log = path.join(dir, "log");
  const res = runtimeCli(["--log", log, "--log-format", "json", "state", "berth-test-absent"]);
  fails(res);
  assert.match(res.stderr, /does not exist/);
  const entry = JSON.parse(fs.readFileSync(log, "utf8").trim().split("\n").pop()!) as { level: string; msg: string; time: string };
  assert.equal(entry.level, "error");
  assert.match(entry.msg, /berth-test-absent does not exist/);
  assert.ok(!Number.isNaN(Date.parse(entry.time)));

  const text = path.join(dir, "log.txt");
  fails(runtimeCli(["--log", text, "state", "berth-test-absent"]));
  assert.match(fs.readFileSync(text, "utf8"), /level=error msg="container berth-test-absent does not exist"/);
});

test("--log-format: an unknown format is refused", () => {
  const res = runtimeCli(["--log-format", "xml", "list"]);
  fails(res);
  assert.match(res.stderr, /log-format/);
});

test("--version and --help", () => {
  assert.match(ok(runtimeCli(["--version"])).stdout, /version \d+\.\d+\.\d+/);
  const help = ok(runtimeCli(["--help"])).stdout;
  for (const c of ["create", "start", "run", "exec", "kill", "delete", "state", "list", "ps", "spec", "features"]) {
    assert.match(help, new RegExp(`\\b${c}\\b`), c);
  }
  // No command at all: usage, and a failure status.
  const none = runtimeCli([]);
  assert.equal(none.code, 1);
});
