// The cgroup commands through the CLI, as containerd and people drive them:
// events (stats and OOM), pause/resume, update (flags and -r).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { cleanupRuntime, runtimeBin, testRoot } from "../fixtures/runtime";
import { container, execSh, fails, ok, rt, state, tmpDir, waitFor, waitStatus } from "./helpers";

after(() => cleanupRuntime());

const MiB = 1024 * 1024;

test("events streams an {\"type\":\"oom\"} event when the container's process is OOM-killed", async (t) => {
  // The allocation starts after `events` is attached (the container waits for a file).
  const c = container(t, "while [ ! -e /tmp/go ]; do sleep 0.05; done; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 30", {
    modify: (s) => void ((s.linux as Record<string, unknown>)["resources"] = { memory: { limit: 32 * MiB } }),
  });
  const ev = spawn(runtimeBin(), ["--root", testRoot(), "events", "--interval", "200ms", c.id], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => ev.kill("SIGKILL"));
  const lines: unknown[] = [];
  let buf = "";
  ev.stdout.setEncoding("utf8");
  ev.stdout.on("data", (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  // A stats event first: the stream is attached.
  await waitFor("a stats event", () => lines.some((l) => (l as { type: string }).type === "stats"), 5000);
  ok(execSh(c.id, "touch /tmp/go"));
  const oom = await waitFor("an oom event", () => lines.find((l) => (l as { type: string }).type === "oom"), 10000);
  assert.deepEqual(oom, { type: "oom", id: c.id });
  const stats = lines.find((l) => (l as { type: string }).type === "stats") as { id: string; data: { memory: { usage: { limit: number } } } };
  assert.equal(stats.id, c.id);
  assert.equal(stats.data.memory.usage.limit, 32 * MiB);
});

test("events --stats prints one runc-shaped stats object: pids, memory, cpu", (t) => {
  const c = container(t, "exec sleep 30", { modify: (s) => void ((s.linux as Record<string, unknown>)["resources"] = { pids: { limit: 50 }, memory: { limit: 64 * MiB } }) });
  const res = ok(rt(["events", "--stats", c.id]));
  const out = res.stdout.trim().split("\n");
  assert.equal(out.length, 1, res.stdout);
  const ev = JSON.parse(out[0]) as { type: string; id: string; data: { pids: { current: number; limit: number }; memory: { usage: { limit: number; usage: number } }; cpu: { usage: { total: number } } } };
  assert.equal(ev.type, "stats");
  assert.equal(ev.id, c.id);
  assert.equal(ev.data.pids.current, 1);
  assert.equal(ev.data.pids.limit, 50);
  assert.equal(ev.data.memory.usage.limit, 64 * MiB);
  assert.ok(ev.data.memory.usage.usage > 0);
  assert.ok(ev.data.cpu.usage.total > 0);
});

test("pause freezes the container (status paused, no CPU used), resume continues it", async (t) => {
  const c = container(t, "while :; do :; done");
  ok(rt(["pause", c.id]));
  assert.equal(state(c.id).status, "paused");
  const usage = () => (JSON.parse(ok(rt(["events", "--stats", c.id])).stdout) as { data: { cpu: { usage: { total: number } } } }).data.cpu.usage.total;
  const u1 = usage();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(usage(), u1, "CPU time grew while paused");
  fails(rt(["pause", c.id])); // already paused
  fails(rt(["exec", c.id, "true"])); // exec into a paused container is refused
  ok(rt(["resume", c.id]));
  assert.equal(state(c.id).status, "running");
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(usage() > u1, "CPU time did not grow after resume");
  fails(rt(["resume", c.id])); // not paused
});

test("update --memory / --pids-limit change a running container's limits; -r resources.json too", async (t) => {
  const c = container(t, "sleep 30", { modify: (s) => void ((s.linux as Record<string, unknown>)["resources"] = { pids: { limit: 100 }, memory: { limit: 64 * MiB } }) });
  const limits = () => JSON.parse(ok(rt(["events", "--stats", c.id])).stdout).data as { pids: { limit: number }; memory: { usage: { limit: number } } };
  ok(rt(["update", "--memory", "128m", "--pids-limit", "5", c.id]));
  assert.equal(limits().memory.usage.limit, 128 * MiB);
  assert.equal(limits().pids.limit, 5);
  // The new pids limit bites: a 6th process cannot be forked.
  const forks = execSh(c.id, "for i in 1 2 3 4 5 6; do sleep 5 & done; wait");
  assert.match(forks.stderr, /can't fork|Resource temporarily unavailable/);
  const file = path.join(tmpDir(t), "resources.json");
  fs.writeFileSync(file, JSON.stringify({ memory: { limit: 96 * MiB }, pids: { limit: 20 } }));
  ok(rt(["update", "-r", file, c.id]));
  assert.equal(limits().memory.usage.limit, 96 * MiB);
  assert.equal(limits().pids.limit, 20);
});

test("update: bad values are refused with the field named, and change nothing", (t) => {
  const c = container(t, "sleep 30", { modify: (s) => void ((s.linux as Record<string, unknown>)["resources"] = { memory: { limit: 64 * MiB } }) });
  assert.match(fails(rt(["update", "--memory", "lots", c.id])).stderr, /--memory: invalid size "lots"/);
  assert.match(fails(rt(["update", "--cpu-period", "10", c.id])).stderr, /cpu\.period/);
  assert.match(fails(rt(["update", c.id])).stderr, /nothing to update/);
  const memLimit = (JSON.parse(ok(rt(["events", "--stats", c.id])).stdout) as { data: { memory: { usage: { limit: number } } } }).data.memory.usage.limit;
  assert.equal(memLimit, 64 * MiB);
});

test("update and events of a stopped or unknown container fail clearly", async (t) => {
  const c = container(t, "exit 0");
  await waitStatus(c.id, "stopped");
  assert.match(fails(rt(["update", "--memory", "64m", c.id])).stderr, /stopped/);
  assert.match(fails(rt(["events", "--stats", "berth-test-no-such"])).stderr, /does not exist/);
});
