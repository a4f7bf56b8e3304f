// Real-kernel behaviour of cgroup v1 that berth relies on or must explain
// (root, legacy or hybrid host): the freezer stops CPU use; charges stay where a
// page was first used; pids.max only refuses forks; hugetlb on a hybrid host.
// Cgroups made directly live under /berth/berth-test-k-<random>-*; every
// process and cgroup is removed in after().
import { describe, sleep, waitFor } from "../runtime/helpers";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Bundle, busyboxPath, makeBundle } from "../fixtures/busybox";
import { cleanupRuntime, runtimeCli, testRoot } from "../fixtures/runtime";
import { CgroupManager, createCgroupManager, detectLayout, loadCgroupManager } from "../../src/runtime/cgroups";
import type { LinuxResources } from "../../src/runtime/spec/types";

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const layout = isRoot ? detectLayout() : undefined;
const skip = !isRoot ? "needs root" : layout!.mode === "unified" ? "needs a cgroup v1 (legacy or hybrid) host" : false;
const tag = randomBytes(4).toString("hex");

const bundles: Bundle[] = [];
const children: ChildProcess[] = [];
const managers: CgroupManager[] = [];
after(async () => {
  try {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
    for (const m of managers) {
      await m.thaw().catch(() => undefined);
      await m.killAll("SIGKILL");
      await m.destroy();
    }
    cleanupRuntime();
  } finally {
    for (const b of bundles) b.cleanup();
  }
  for (const h of fs.readdirSync("/sys/fs/cgroup")) {
    const berth = path.join("/sys/fs/cgroup", h, "berth");
    const left = fs.existsSync(berth) ? fs.readdirSync(berth).filter((n) => n.includes(tag) || bundles.some((b) => b.id === n)) : [];
    assert.deepEqual(left, [], `left behind under ${berth}`);
  }
});


/** A cgroup of our own under /berth (all hierarchies), with `resources` applied. */
async function cgroup(name: string, resources: LinuxResources = {}): Promise<CgroupManager> {
  const m = createCgroupManager(layout!, `/berth/berth-test-k-${tag}-${name}`);
  managers.push(m);
  m.create();
  await m.apply(resources);
  return m;
}
function join(m: CgroupManager, hierarchy: string, pid: number): void {
  fs.writeFileSync(path.join(m.dirs[hierarchy], "cgroup.procs"), String(pid));
}
function memUsage(m: CgroupManager): number {
  return Number(fs.readFileSync(path.join(m.dirs.memory, "memory.usage_in_bytes"), "utf8"));
}
/** A host busybox child, stdio piped; stdout collected. */
function child(args: string[]): { c: ChildProcess; out: () => string; err: () => string } {
  const c = spawn(busyboxPath(), args, { stdio: ["pipe", "pipe", "pipe"] });
  children.push(c);
  let out = "";
  let err = "";
  c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return { c, out: () => out, err: () => err };
}

test("freezer: a paused container's cpuacct.usage does not grow over 1 s; thawed, it runs again", { skip }, async () => {
  const b = makeBundle({ args: ["sh", "-c", "while :; do :; done"] });
  bundles.push(b);
  assert.equal(runtimeCli(["create", "--bundle", b.dir, b.id]).code, 0);
  assert.equal(runtimeCli(["start", b.id]).code, 0);
  const m = loadCgroupManager(JSON.parse(fs.readFileSync(path.join(testRoot(), b.id, "state.json"), "utf8")).cgroup);
  await sleep(200);
  await m.freeze();
  if (m.dirs.freezer) assert.equal(fs.readFileSync(path.join(m.dirs.freezer, "freezer.state"), "utf8").trim(), "FROZEN");
  const f0 = m.stats().cpu.usage.total!;
  await sleep(1000);
  const f1 = m.stats().cpu.usage.total!;
  assert.ok(f1 - f0 < 1_000_000, `${f1 - f0} ns of CPU time while frozen (a busy loop would use ~1e9)`);
  await m.thaw();
  await sleep(500);
  const ran = m.stats().cpu.usage.total! - f1;
  assert.ok(ran > 200_000_000, `ran ${ran} ns in 0.5 s after thawing`);
});

test("memory: pages charged before a process moves into a cgroup stay charged to the old one", { skip }, async () => {
  const a = await cgroup("charge-a");
  const b = await cgroup("charge-b");
  // Allocates (≈16 MiB string) only after the first line, so all of it is charged in cgroup a.
  const p = child(["awk", 'BEGIN { getline l < "/dev/stdin"; s = "x"; while (length(s) < 16777216) s = s s; print "ready"; fflush(); getline l < "/dev/stdin" }']);
  join(a, "memory", p.c.pid!);
  const baseA = memUsage(a);
  p.c.stdin!.write("go\n");
  await waitFor("the allocation", () => p.out().includes("ready"), 10_000);
  const usedA = memUsage(a) - baseA;
  assert.ok(usedA >= 16 * MiB, `cgroup a charged ${usedA}`);
  join(b, "memory", p.c.pid!);
  assert.equal(fs.readFileSync(path.join(b.dirs.memory, "cgroup.procs"), "utf8").trim(), String(p.c.pid));
  const usedB = memUsage(b);
  assert.ok(usedB < 4 * MiB, `cgroup b, now holding the process, is charged only ${usedB} bytes`);
  assert.ok(memUsage(a) - baseA >= 16 * MiB, "a keeps the charge of a process it no longer has");
  p.c.stdin!.end();
  await new Promise((r) => p.c.once("exit", r));
  await waitFor("the charge to go with the process", () => memUsage(a) - baseA < 4 * MiB, 10_000);
});

test("pids: moving processes in may push pids.current above pids.max; only fork is refused", { skip }, async () => {
  const m = await cgroup("pids", { pids: { limit: 1 } });
  const sleeper = child(["sleep", "30"]);
  const shell = child(["sh", "-c", 'read l; x=$(echo forked); echo "$x"']);
  join(m, "pids", sleeper.c.pid!);
  join(m, "pids", shell.c.pid!); // accepted although the cgroup is at its limit
  const dir = m.dirs.pids;
  assert.equal(fs.readFileSync(path.join(dir, "pids.max"), "utf8").trim(), "1");
  assert.equal(Number(fs.readFileSync(path.join(dir, "pids.current"), "utf8")), 2);
  assert.deepEqual(m.stats().pids, { current: 2, limit: 1 });
  shell.c.stdin!.write("go\n");
  const code = await new Promise((r) => shell.c.once("exit", r));
  assert.match(shell.err(), /can't fork/);
  assert.notEqual(code, 0, "busybox sh gives up when it cannot fork");
  assert.doesNotMatch(shell.out(), /forked/);
  assert.match(fs.readFileSync(path.join(dir, "pids.events"), "utf8"), /^max [1-9]/m);
});

test("hugetlb on a hybrid host: lives in cgroup2; used when the host delegates it, a clear error when not", { skip: skip || (layout?.v1.has("hugetlb") ? "hugetlb is a v1 hierarchy here" : !layout?.unified ? "no cgroup2 hierarchy" : false) }, async () => {
  const u = layout!.unified!;
  const rootCtrls = fs.readFileSync(path.join(u, "cgroup.controllers"), "utf8").split(/\s+/);
  const delegated = fs.readFileSync(path.join(u, "cgroup.subtree_control"), "utf8").split(/\s+/).includes("hugetlb");
  const resources: LinuxResources = { hugepageLimits: [{ pageSize: "2MB", limit: 4 * MiB }] };
  const b = makeBundle({ args: ["true"], modify: (s) => void (s.linux.resources = resources as Record<string, unknown>) });
  bundles.push(b);
  const r = runtimeCli(["create", "--bundle", b.dir, b.id]);
  if (rootCtrls.includes("hugetlb") && delegated) {
    assert.equal(r.code, 0, describe(r));
    assert.equal(fs.readFileSync(path.join(u, "berth", b.id, "hugetlb.2MB.max"), "utf8").trim(), String(4 * MiB));
  } else {
    assert.equal(r.code, 1, describe(r));
    assert.match(r.stderr, /config\.json: linux\.resources\.hugepageLimits: the hugetlb controller (is not a cgroup v1 hierarchy on this host and exists only in the cgroup2 hierarchy, where \/.*\/cgroup\.subtree_control does not enable it|is available neither)/);
  }
});
