// The container lifecycle through the CLI: create/start/state/kill/delete, run (foreground,
// --detach, --keep), --pid-file, list, ps, signal forwarding, and exec into a running container.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { cleanupRuntime, runtimeBin, runtimeCli, testRoot } from "../fixtures/runtime";
import { DEFAULT_PATH_ENV } from "../fixtures/busybox";
import {
  alive,
  assertNothingLeft,
  bundle,
  cgroupDirs,
  container,
  execSh,
  fails,
  ok,
  state,
  stateDir,
  tmpDir,
  waitFor,
  waitStatus,
} from "./helpers";

after(() => cleanupRuntime());

/** Waits until every pid in `pids` is gone (or a zombie). */
async function waitAllGone(pids: number[], timeoutMs = 5000): Promise<void> {
  await waitFor(`pids ${pids.join(",")} to exit`, () => pids.every((p) => !alive(p)), timeoutMs);
}

/** A shell that exits 3 on SIGTERM (PID 1 of a PID namespace only dies of signals it handles). */
const TERMINABLE = "trap 'exit 3' TERM; sleep 100 & wait";

test("lifecycle: create → created → start → running → kill → stopped → delete → gone", async (t) => {
  const b = bundle(t, { args: ["sh", "-c", TERMINABLE] });
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]), "create");

  const created = state(b.id);
  assert.equal(created.status, "created");
  assert.equal(created.id, b.id);
  assert.equal(created.ociVersion, "1.2.0");
  assert.equal(created.bundle, b.dir);
  assert.equal(created.rootfs, b.rootfs);
  assert.ok(created.pid > 0 && alive(created.pid), `the init (${created.pid}) is alive while created`);
  assert.ok(!Number.isNaN(Date.parse(created.created ?? "")), `created is a timestamp: ${created.created}`);
  assert.ok(Math.abs(Date.now() - Date.parse(created.created ?? "")) < 60_000);
  assert.equal(typeof created.owner, "string");
  // The init has not exec'd the process yet.
  assert.notEqual(fs.readFileSync(`/proc/${created.pid}/cmdline`, "utf8").split("\0")[0], "sh");

  ok(runtimeCli(["start", b.id]), "start");
  const running = state(b.id);
  assert.equal(running.status, "running");
  assert.equal(running.pid, created.pid);
  await waitFor("the process to exec", () => fs.readFileSync(`/proc/${created.pid}/cmdline`, "utf8").startsWith("sh\0"));

  ok(runtimeCli(["kill", b.id]), "kill (default SIGTERM)");
  const stopped = await waitStatus(b.id, "stopped");
  assert.equal(stopped.pid, 0);
  assert.equal(alive(created.pid), false);

  ok(runtimeCli(["delete", b.id]), "delete");
  const gone = runtimeCli(["state", b.id]);
  fails(gone);
  assert.match(gone.stderr, /does not exist/);
  assertNothingLeft(b.id);
});

test("lifecycle: start twice fails clearly and leaves the container running", async (t) => {
  const c = container(t, "sleep 100");
  const res = runtimeCli(["start", c.id]);
  fails(res);
  assert.match(res.stderr, /^berth-runtime: .*running/);
  assert.equal(state(c.id).status, "running");
  assert.ok(alive(c.pid));
});

test("lifecycle: start of a container whose process exited fails", async (t) => {
  const c = container(t, "true");
  await waitStatus(c.id, "stopped");
  const res = runtimeCli(["start", c.id]);
  fails(res);
  assert.match(res.stderr, /stopped/);
});

test("lifecycle: a process that exits on its own makes the container stopped", async (t) => {
  const c = container(t, "sleep 0.1");
  const st = await waitStatus(c.id, "stopped");
  assert.equal(st.pid, 0);
  ok(runtimeCli(["delete", c.id]));
  assertNothingLeft(c.id);
});

test("delete: refuses a running container without --force; --force kills it and removes everything", async (t) => {
  const c = container(t, "sleep 100 & sleep 100");
  const pids = (JSON.parse(ok(runtimeCli(["ps", "--format", "json", c.id])).stdout) as number[]).filter((p) => p > 0);
  assert.ok(pids.length >= 2, `init and its child: ${pids}`);

  const res = runtimeCli(["delete", c.id]);
  fails(res);
  assert.match(res.stderr, /running/);
  assert.match(res.stderr, /--force|stop/);
  assert.equal(state(c.id).status, "running");

  ok(runtimeCli(["delete", "--force", c.id]));
  await waitAllGone(pids);
  assertNothingLeft(c.id);
});

test("delete: a created (never started) container is deleted and its init killed", async (t) => {
  const c = container(t, "echo should-not-run > /tmp/ran", { start: false });
  ok(runtimeCli(["delete", c.id]));
  await waitAllGone([c.pid]);
  assertNothingLeft(c.id);
  assert.equal(fs.existsSync(path.join(c.b.rootfs, "tmp", "ran")), false);
});

test("delete: --force on a container that does not exist succeeds; without it fails", () => {
  ok(runtimeCli(["delete", "--force", "berth-test-never-created"]));
  const res = runtimeCli(["delete", "berth-test-never-created"]);
  fails(res);
  assert.match(res.stderr, /does not exist/);
});

test("kill: a signal by name, SIG-name or number reaches the process", async (t) => {
  const c = container(t, "trap 'echo got-usr1 >> /tmp/log' USR1; trap 'echo got-hup >> /tmp/log' HUP; " +
    "trap 'echo got-usr2 >> /tmp/log' USR2; touch /tmp/ready; while :; do sleep 0.05; done");
  const log = path.join(c.b.rootfs, "tmp", "log");
  await waitFor("traps", () => fs.existsSync(path.join(c.b.rootfs, "tmp", "ready")));
  for (const [sig, want] of [["USR1", "got-usr1"], ["SIGHUP", "got-hup"], ["12", "got-usr2"]] as const) {
    ok(runtimeCli(["kill", c.id, sig]), `kill ${sig}`);
    await waitFor(`${want} in the log`, () => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes(want));
  }
  assert.equal(state(c.id).status, "running");
});

test("kill --all: signals every process of the container, including orphans outside a PID namespace", async (t) => {
  // Without a PID namespace the init's death does not take its children along: only
  // --all (the cgroup) reaches them.
  const c = container(t, "sleep 100 & sleep 100", {
    modify: (s) => {
      s.linux.namespaces = s.linux.namespaces!.filter((n) => n.type !== "pid");
    },
  });
  const procs = path.join("/sys/fs/cgroup/pids/berth", c.id, "cgroup.procs");
  const pidsNow = (): number[] => fs.readFileSync(procs, "utf8").split("\n").filter(Boolean).map(Number);
  const all = await waitFor("init and child in the cgroup", () => (pidsNow().length >= 2 ? pidsNow() : undefined));

  ok(runtimeCli(["kill", c.id, "KILL"]), "kill KILL (init only)");
  await waitAllGone([c.pid]);
  const orphans = all.filter((p) => p !== c.pid);
  assert.ok(orphans.every(alive), "the background child survives a kill of the init alone");

  ok(runtimeCli(["kill", "--all", c.id, "KILL"]), "kill --all");
  await waitAllGone(orphans);
  assert.deepEqual(pidsNow(), []);
});

test("kill: a stopped container cannot be killed (without --all)", async (t) => {
  const c = container(t, "true");
  await waitStatus(c.id, "stopped");
  const res = runtimeCli(["kill", c.id, "KILL"]);
  fails(res);
  assert.match(res.stderr, /not running/);
});

test("kill: a created (not started) container can be killed; it is then stopped", async (t) => {
  const c = container(t, "echo should-not-run > /tmp/ran", { start: false });
  ok(runtimeCli(["kill", c.id, "KILL"]));
  assert.equal((await waitStatus(c.id, "stopped")).status, "stopped");
  ok(runtimeCli(["delete", c.id]));
  assertNothingLeft(c.id);
  assert.equal(fs.existsSync(path.join(c.b.rootfs, "tmp", "ran")), false);
});

test("--pid-file: holds the init's pid, as state reports it (create and run -d)", (t) => {
  const dir = tmpDir(t);
  const c = container(t, "sleep 100", { createArgs: ["--pid-file", path.join(dir, "create.pid")] });
  assert.equal(fs.readFileSync(path.join(dir, "create.pid"), "utf8").trim(), String(c.pid));

  const b = bundle(t, { args: ["sleep", "100"] });
  ok(runtimeCli(["run", "-d", "--pid-file", path.join(dir, "run.pid"), "--bundle", b.dir, b.id]));
  assert.equal(fs.readFileSync(path.join(dir, "run.pid"), "utf8").trim(), String(state(b.id).pid));
});

test("run --detach: returns at once with the container running", (t) => {
  const b = bundle(t, { args: ["sleep", "100"] });
  const t0 = Date.now();
  ok(runtimeCli(["run", "--detach", "--bundle", b.dir, b.id]));
  assert.ok(Date.now() - t0 < 5000);
  const st = state(b.id);
  assert.equal(st.status, "running");
  assert.ok(alive(st.pid));
});

test("run: the container is deleted afterwards, unless --keep", (t) => {
  const b = bundle(t, { args: ["sh", "-c", "exit 3"] });
  fails(runtimeCli(["run", "--bundle", b.dir, b.id]), 3);
  assertNothingLeft(b.id);

  fails(runtimeCli(["run", "--keep", "--bundle", b.dir, b.id]), 3);
  const st = state(b.id);
  assert.equal(st.status, "stopped");
  ok(runtimeCli(["delete", b.id]));
  assertNothingLeft(b.id);
});

test("run: SIGTERM and SIGINT sent to the runtime are forwarded to the container", async (t) => {
  const b = bundle(t, { args: ["sh", "-c", "trap 'exit 7' TERM; trap 'exit 8' INT; touch /tmp/ready; sleep 100 & wait"] });
  for (const [sig, code] of [["SIGTERM", 7], ["SIGINT", 8]] as const) {
    fs.rmSync(path.join(b.rootfs, "tmp", "ready"), { force: true });
    const child = spawn(runtimeBin(), ["--root", testRoot(), "run", "--bundle", b.dir, b.id], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    try {
      await waitFor("the container's traps", () => fs.existsSync(path.join(b.rootfs, "tmp", "ready")), 5000);
      child.kill(sig);
      const code2 = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 5000))]);
      assert.equal(code2, code, `${sig} forwarded: run exits with the trap's status`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  }
});

test("list: table, -q and --format json show the containers with their status", (t) => {
  const a = container(t, "sleep 100");
  const b = container(t, "sleep 100", { start: false });

  const quiet = ok(runtimeCli(["list", "-q"])).stdout.split("\n").filter(Boolean);
  assert.ok(quiet.includes(a.id) && quiet.includes(b.id), `list -q: ${quiet}`);

  const json = JSON.parse(ok(runtimeCli(["list", "--format", "json"])).stdout) as Array<{ id: string; status: string; pid: number; bundle: string }>;
  const ja = json.find((s) => s.id === a.id);
  const jb = json.find((s) => s.id === b.id);
  assert.equal(ja?.status, "running");
  assert.equal(ja?.pid, a.pid);
  assert.equal(ja?.bundle, a.b.dir);
  assert.equal(jb?.status, "created");

  const table = ok(runtimeCli(["list"])).stdout.split("\n");
  assert.match(table[0] ?? "", /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
  const row = table.find((l) => l.startsWith(a.id + " "));
  assert.ok(row, `a row for ${a.id}`);
  assert.match(row, new RegExp(`^${a.id}\\s+${a.pid}\\s+running\\s+${a.b.dir}\\s`));
});

test("list: an empty root lists nothing (and a missing root is not an error)", () => {
  const root = path.join(testRoot(), ".empty-root-test");
  const res = ok(runtimeCli(["list", "--format", "json"], { root }));
  assert.match(res.stdout.trim(), /^(\[\]|null)$/);
});

test("ps: --format json lists the pids of the container's processes; table filters host ps", async (t) => {
  const c = container(t, "sleep 100 & touch /tmp/ready; wait");
  await waitFor("the child", () => fs.existsSync(path.join(c.b.rootfs, "tmp", "ready")));
  const pids = JSON.parse(ok(runtimeCli(["ps", "--format", "json", c.id])).stdout) as number[];
  assert.ok(pids.includes(c.pid), `init ${c.pid} in ${pids}`);
  assert.equal(pids.length, 2, `sh and its sleep: ${pids}`);
  const child = pids.find((p) => p !== c.pid)!;
  assert.equal(fs.readFileSync(`/proc/${child}/cmdline`, "utf8"), "sleep\x00100\x00");

  const table = ok(runtimeCli(["ps", c.id])).stdout.trim().split("\n");
  assert.match(table[0] ?? "", /PID/);
  assert.equal(table.length, 3, table.join("\n"));
});

test("exec: runs in the container's namespaces (PID 1 is the init, same hostname, same rootfs)", (t) => {
  const c = container(t, "sleep 100", {
    modify: (s) => {
      s.hostname = "berth-test-exec";
    },
  });
  const res = ok(execSh(c.id, "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /etc/hostname; readlink /proc/self/ns/net"));
  const [host, init, etc, net] = res.stdout.split("\n");
  assert.equal(host, "berth-test-exec");
  assert.equal(init, fs.readFileSync(`/proc/${c.pid}/cmdline`, "utf8").replace(/\0/g, " "));
  assert.equal(etc, "berth-test");
  assert.equal(net, fs.readlinkSync(`/proc/${c.pid}/ns/net`));
});

test("exec: the process joins the container's cgroup and gets the spec's capabilities and NoNewPrivs", (t) => {
  const c = container(t, "sleep 100");
  const out = ok(execSh(c.id, "cat /proc/self/cgroup | grep ':pids:'; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status")).stdout;
  assert.match(out, new RegExp(`:pids:/berth/${c.id}$`, "m"));
  const init = fs.readFileSync(`/proc/${c.pid}/status`, "utf8");
  assert.match(out, new RegExp(`CapEff:\\s+${init.match(/^CapEff:\s+(\w+)/m)?.[1]}`));
  assert.match(out, /NoNewPrivs:\s+1/);
});

test("exec: exits with the process's exit status; stdin/stdout/stderr are the runtime's", (t) => {
  const c = container(t, "sleep 100");
  fails(execSh(c.id, "exit 7"), 7);
  const res = runtimeCli(["exec", c.id, "sh", "-c", "cat; echo err >&2"], { input: "in\n" });
  ok(res);
  assert.equal(res.stdout, "in\n");
  assert.equal(res.stderr, "err\n");
});

test("exec: a command that is not found exits 127 and names it", (t) => {
  const c = container(t, "sleep 100");
  const res = runtimeCli(["exec", c.id, "berth-test-no-such-cmd"]);
  fails(res, 127);
  assert.match(res.stderr, /berth-test-no-such-cmd/);
  assert.equal(state(c.id).status, "running");
});

test("exec -u: runs as the given uid (and uid:gid), with -g additional groups", (t) => {
  const c = container(t, "sleep 100");
  assert.equal(ok(execSh(c.id, "id -u; id -g", ["-u", "1000"])).stdout, "1000\n0\n");
  assert.equal(ok(execSh(c.id, "id -u; id -g", ["-u", "1000:1000"])).stdout, "1000\n1000\n");
  const groups = ok(execSh(c.id, "id -G", ["-u", "1000:1000", "-g", "5", "-g", "100"])).stdout.trim().split(" ");
  assert.deepEqual(new Set(groups), new Set(["1000", "5", "100"]));
});

test("exec -e / --cwd: extra environment and working directory", (t) => {
  const c = container(t, "sleep 100");
  const out = ok(execSh(c.id, 'echo "$FOO|$BAR"; pwd; echo $PATH', ["-e", "FOO=bar baz", "--env", "BAR=2", "--cwd", "/tmp"])).stdout;
  assert.equal(out, `bar baz|2\n/tmp\n${DEFAULT_PATH_ENV.slice(5)}\n`);
});

test("exec -d: returns at once and the process runs in the background", async (t) => {
  const c = container(t, "sleep 100");
  const dir = tmpDir(t);
  const t0 = Date.now();
  ok(runtimeCli(["exec", "-d", "--pid-file", path.join(dir, "exec.pid"), c.id, "sh", "-c", "sleep 0.5; echo done > /tmp/exec-d"]));
  const took = Date.now() - t0;
  assert.ok(took < 3000, `exec -d took ${took} ms`);
  const pid = Number(fs.readFileSync(path.join(dir, "exec.pid"), "utf8"));
  assert.ok(alive(pid), "the exec'd process is running");
  assert.equal(fs.existsSync(path.join(c.b.rootfs, "tmp", "exec-d")), false, "not finished yet when exec returned");
  await waitFor("the detached process to finish", () => fs.existsSync(path.join(c.b.rootfs, "tmp", "exec-d")), 5000);
});

test("exec -p: runs the process described by a process.json", (t) => {
  const c = container(t, "sleep 100");
  const dir = tmpDir(t);
  const file = path.join(dir, "process.json");
  fs.writeFileSync(
    file,
    JSON.stringify({
      terminal: false,
      user: { uid: 1000, gid: 1000 },
      args: ["sh", "-c", "echo $WHO $(id -u) $(pwd) $(umask)"],
      env: [DEFAULT_PATH_ENV, "WHO=from-process-json"],
      cwd: "/home/berth-test",
      noNewPrivileges: true,
    }),
  );
  assert.equal(ok(runtimeCli(["exec", "-p", file, c.id])).stdout, "from-process-json 1000 /home/berth-test 0022\n");
});

test("exec --cap / --no-new-privs: extra capabilities for the exec'd process only", (t) => {
  const c = container(t, "sleep 100", {
    modify: (s) => {
      s.process.noNewPrivileges = false;
    },
  });
  const bit = 1n << 21n; // CAP_SYS_ADMIN
  const capEff = (out: string): bigint => BigInt("0x" + (out.match(/^CapEff:\s+(\w+)/m)?.[1] ?? "0"));
  const withCap = ok(execSh(c.id, "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status", ["--cap", "CAP_SYS_ADMIN", "--no-new-privs"])).stdout;
  assert.equal(capEff(withCap) & bit, bit, withCap);
  assert.match(withCap, /NoNewPrivs:\s+1/);
  const plain = ok(execSh(c.id, "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status")).stdout;
  assert.equal(capEff(plain) & bit, 0n, plain);
  assert.match(plain, /NoNewPrivs:\s+0/);
  assert.equal(BigInt("0x" + fs.readFileSync(`/proc/${c.pid}/status`, "utf8").match(/^CapEff:\s+(\w+)/m)![1]) & bit, 0n, "the init is unchanged");
});

test("exec: in a stopped container fails clearly", async (t) => {
  const c = container(t, "true");
  await waitStatus(c.id, "stopped");
  const res = execSh(c.id, "echo no");
  fails(res);
  assert.match(res.stderr, /stopped/);
  assert.equal(res.stdout, "");
});

test("exec: many execs in a row leave no processes behind", async (t) => {
  const c = container(t, "sleep 100");
  for (let i = 0; i < 5; i++) assert.equal(ok(execSh(c.id, `echo ${i}`)).stdout, `${i}\n`);
  const pids = JSON.parse(ok(runtimeCli(["ps", "--format", "json", c.id])).stdout) as number[];
  assert.deepEqual(pids, [c.pid]);
});

test("state dir: is created under --root and removed by delete", (t) => {
  const c = container(t, "sleep 100");
  assert.ok(fs.statSync(stateDir(c.id)).isDirectory());
  ok(runtimeCli(["delete", "--force", c.id]));
  assertNothingLeft(c.id);
  assert.deepEqual(cgroupDirs(c.id), []);
});
