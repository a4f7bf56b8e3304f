// Real-kernel cgroup v2 tests: every limit shown to bite on a pure cgroup2 host, through
// the real runtime (bin/berth-runtime) and busybox containers. Skipped elsewhere; run them
// in the throwaway pure-v2 VM with test/cgroups/run-v2-in-vm.sh.
//
// Each test registers the deletion of its container and bundle (t.after), so a failing
// assertion leaves nothing behind; after() deletes anything left in the test root and
// checks that no cgroup of ours remains. Everything lives under /sys/fs/cgroup/berth/.
import { after, test, TestContext } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Bundle, makeBundle } from "../fixtures/busybox";
import { CliResult, cleanupRuntime, runtimeCli, runtimeCliAsync } from "../fixtures/runtime";
import { CgroupManager, createCgroupManager, detectLayout } from "../../src/runtime/cgroups";
import type { LinuxResources } from "../../src/runtime/spec/types";

const CG = "/sys/fs/cgroup";
const isRoot = process.getuid?.() === 0;
const unified = ((): boolean => {
  try {
    return detectLayout().mode === "unified";
  } catch {
    return false;
  }
})();
const skip = !isRoot ? "needs root" : !unified ? "needs a pure cgroup v2 host (run test/cgroups/run-v2-in-vm.sh)" : false;
const made: string[] = [];

after(() => {
  if (skip) return;
  cleanupRuntime();
  const left = made.filter((d) => fs.existsSync(d));
  assert.deepEqual(left, [], "cgroups left behind");
});

interface Ctr {
  b: Bundle;
  id: string;
  dir: string;
  cg: CgroupManager;
  read(file: string): string;
}

function describeRes(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}${r.timedOut ? " (timed out)" : ""}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: ${describeRes(r)}`);
  return r;
}

/** A bundle with `resources` running `script`; its container and bundle are removed after the test. */
function container(t: TestContext, resources: LinuxResources, script: string): Ctr {
  const b = makeBundle({
    args: ["sh", "-c", script],
    modify: (s) => {
      s.linux.resources = resources as Record<string, unknown>;
    },
  });
  const dir = `${CG}/berth/${b.id}`;
  made.push(dir);
  t.after(() => {
    const r = runtimeCli(["delete", "--force", b.id], { timeoutMs: 60_000 });
    if (r.code !== 0 && !/does not exist/.test(r.stderr)) throw new Error(`delete --force ${b.id}: ${describeRes(r)}`);
    b.cleanup();
    assert.equal(fs.existsSync(dir), false, `${dir} still exists after delete`);
  });
  return { b, id: b.id, dir, cg: createCgroupManager(detectLayout(), `/berth/${b.id}`), read: (f) => fs.readFileSync(path.join(dir, f), "utf8").trim() };
}

const run = (c: Ctr, ...flags: string[]): CliResult => runtimeCli(["run", ...flags, "--bundle", c.b.dir, c.id], { timeoutMs: 120_000 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** "pid cmdline" of every process in the container's cgroup. */
const procs = (c: Ctr): string[] =>
  c.read("cgroup.procs").split("\n").filter(Boolean).map((p) => {
    try {
      return `${p} ${fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim()}`;
    } catch {
      return `${p} (gone)`;
    }
  });

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}
const usageUsec = (c: Ctr): number => Number(/^usage_usec (\d+)$/m.exec(c.read("cpu.stat"))![1]);

test("v2 controllers are enabled from the berth parent down, not in the container's own cgroup", { skip }, (t) => {
  const c = container(t, {}, "true");
  ok(run(c, "--keep"), "run");
  for (const ctrl of ["cpu", "memory", "pids", "io", "cpuset"]) {
    assert.match(fs.readFileSync(`${CG}/berth/cgroup.subtree_control`, "utf8"), new RegExp(`\\b${ctrl}\\b`));
    assert.match(c.read("cgroup.controllers"), new RegExp(`\\b${ctrl}\\b`));
  }
  assert.equal(c.read("cgroup.subtree_control"), "");
});

test("every typed field lands in the real kernel's files with the converted value", { skip }, (t) => {
  const c = container(
    t,
    {
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, mems: "0" },
      memory: { limit: 64 << 20, reservation: 16 << 20, swap: 96 << 20 },
      pids: { limit: 50 },
      blockIO: { weight: 500 },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      unified: { "memory.high": String(48 << 20) },
    },
    "true",
  );
  ok(runtimeCli(["create", "--bundle", c.b.dir, c.id]), "create");
  const want: [string, string][] = [
    ["cpu.weight", "20"],
    ["cpu.max", "50000 100000"],
    ["cpu.max.burst", "10000"],
    ["cpuset.mems", "0"],
    ["memory.max", String(64 << 20)],
    ["memory.low", String(16 << 20)],
    ["memory.swap.max", String(32 << 20)],
    ["memory.high", String(48 << 20)],
    ["pids.max", "50"],
    ["io.weight", "default 4950"],
    ["hugetlb.2MB.max", "0"],
    ["hugetlb.2MB.rsvd.max", "0"],
  ];
  assert.deepEqual(want.map(([f]) => [f, c.read(f)]), want);
});

test("kernel refusals name field, file and value: create fails cleanly, update changes nothing", { skip }, (t) => {
  const c = container(t, { cpu: { idle: 1 } }, "true");
  ok(runtimeCli(["create", "--bundle", c.b.dir, c.id]), "create");
  assert.equal(c.read("cpu.idle"), "1");

  // The guest has no block device 8:0: only the kernel knows, so io.max refuses it.
  const bad = container(t, { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] } }, "true");
  const r = runtimeCli(["create", "--bundle", bad.b.dir, bad.id]);
  assert.notEqual(r.code, 0, describeRes(r));
  assert.match(r.stderr, /config\.json: linux\.resources\.blockIO\.throttleReadBpsDevice\[0\]: writing "8:0 rbps=1048576" to \/sys\/fs\/cgroup\/berth\/[^ ]+\/io\.max: ENODEV/);
  assert.equal(fs.existsSync(bad.dir), false, "a failed create removes its cgroup");

  // A burst above the quota in force (set by an earlier call): EINVAL from cpu.max.burst.
  const q = container(t, { cpu: { quota: 50000 } }, "true");
  ok(runtimeCli(["create", "--bundle", q.b.dir, q.id]), "create");
  const u = runtimeCli(["update", "--cpu-burst", "60000", q.id]);
  assert.notEqual(u.code, 0, describeRes(u));
  assert.match(u.stderr, /linux\.resources\.cpu\.burst: writing "60000" to \/sys\/fs\/cgroup\/berth\/[^ ]+\/cpu\.max\.burst: EINVAL/);
  assert.equal(q.read("cpu.max.burst"), "0");
  ok(runtimeCli(["update", "--cpu-burst", "40000", q.id]), "update --cpu-burst 40000");
  assert.equal(q.read("cpu.max.burst"), "40000");
});

test("memory.max: the container is OOM-killed (exit 137), oomKillCount counts it", { skip }, (t) => {
  const limit = 32 << 20;
  // PID 1 itself allocates 64 MiB: the OOM killer takes it, the container exits 128+SIGKILL.
  const c = container(t, { memory: { limit, swap: limit } }, "exec dd if=/dev/zero of=/dev/null bs=64M count=1");
  const r = run(c, "--keep");
  assert.equal(r.code, 137, describeRes(r));
  assert.equal(c.read("memory.max"), String(limit));
  assert.equal(c.read("memory.swap.max"), "0");
  assert.ok(c.cg.oomKillCount() >= 1, `oomKillCount ${c.cg.oomKillCount()}`);
  const s = c.cg.stats();
  assert.equal(s.memory.usage.limit, limit);
  assert.ok((s.memory.event_count?.oom_kill ?? 0) >= 1);
  assert.ok((s.memory.usage.max ?? 0) >= limit - (1 << 20), `peak ${s.memory.usage.max}`);
  t.diagnostic(`oom_kill=${c.cg.oomKillCount()} peak=${s.memory.usage.max} failcnt=${s.memory.usage.failcnt}`);
});

test("pids.max: fork is refused beyond the limit", { skip }, async (t) => {
  // create + start here; the foreground `run` case has a test of its own below.
  const c = container(t, { pids: { limit: 8 } }, "i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); echo $i > /tmp/started; done");
  ok(runtimeCli(["create", "--bundle", c.b.dir, c.id]), "create");
  assert.equal(c.read("pids.max"), "8");
  ok(runtimeCli(["start", c.id]), "start");
  // sh exits when a fork fails; PID 1 gone, the kernel kills the sleeps and the cgroup empties.
  await waitUntil("the container to stop", () => /^populated 0$/m.test(c.read("cgroup.events")), 60_000);
  const started = fs.readFileSync(path.join(c.b.rootfs, "tmp/started"), "utf8").trim();
  assert.equal(started, "7", "sh + 7 sleeps = 8 tasks, the 8th fork is refused");
  const refused = Number(/^max (\d+)$/m.exec(c.read("pids.events"))![1]);
  assert.ok(refused >= 1, `pids.events max ${refused}`);
  assert.equal(c.cg.stats().pids.limit, 8);
  t.diagnostic(`started ${started} sleeps; pids.events max ${refused}`);
});

test(
  "foreground run: only the container's own processes are in its cgroup",
  { skip },
  async (t) => {
    const c = container(t, {}, "sleep 20");
    const running = runtimeCliAsync(["run", "--bundle", c.b.dir, c.id], { timeoutMs: 120_000 });
    await waitUntil("the container to run", () => fs.existsSync(path.join(c.dir, "cgroup.procs")) && /sleep/.test(procs(c).join(" ")), 60_000);
    const list = procs(c);
    runtimeCli(["kill", c.id, "KILL"]);
    await running;
    assert.deepEqual(list.filter((p) => !p.endsWith("sleep 20")), [], "tasks in the container's cgroup that are not the container's");
  },
);

test("cpu.max: a busy loop gets 20% of a CPU (quota 20000 / period 100000)", { skip }, async (t) => {
  const c = container(t, { cpu: { quota: 20000, period: 100000 } }, "while :; do :; done");
  ok(run(c, "--detach"), "run --detach");
  assert.equal(c.read("cpu.max"), "20000 100000");
  await sleep(1000); // let it settle into throttling
  const u0 = usageUsec(c);
  const t0 = process.hrtime.bigint();
  await sleep(3000);
  const u1 = usageUsec(c);
  const wallUsec = Number(process.hrtime.bigint() - t0) / 1000;
  const share = (u1 - u0) / wallUsec;
  const th = c.cg.stats().cpu.throttling;
  t.diagnostic(`cpu share ${(share * 100).toFixed(1)}% over ${(wallUsec / 1e6).toFixed(2)} s; periods ${th.periods}, throttled ${th.throttledPeriods}`);
  assert.ok(share > 0.15 && share < 0.25, `measured ${(share * 100).toFixed(1)}% of a CPU, want 20% ± 5%`);
  assert.ok((th.throttledPeriods ?? 0) > 0);
});

test("cpuset: the container only runs on the CPUs it is given", { skip }, (t) => {
  const cpus = os.cpus().length;
  if (cpus < 2) return t.skip("needs 2 CPUs");
  const last = String(cpus - 1);
  const c = container(t, { cpu: { cpus: last } }, "grep Cpus_allowed_list /proc/self/status");
  const r = ok(run(c, "--keep"), "run");
  assert.match(r.stdout, new RegExp(`^Cpus_allowed_list:\\s+${last}$`, "m"));
  assert.equal(c.read("cpuset.cpus"), last);
  assert.equal(c.read("cpuset.cpus.effective"), last);
  assert.deepEqual(c.cg.stats().cpuset?.cpus, [cpus - 1]);
});

test("freezer: no CPU time is used while paused (cgroup.freeze), it resumes after", { skip }, async (t) => {
  const c = container(t, {}, "while :; do :; done");
  ok(run(c, "--detach"), "run --detach");
  ok(runtimeCli(["pause", c.id]), "pause");
  assert.match(c.read("cgroup.events"), /^frozen 1$/m);
  const u0 = usageUsec(c);
  await sleep(1500);
  const frozenDelta = usageUsec(c) - u0;
  ok(runtimeCli(["resume", c.id]), "resume");
  const u1 = usageUsec(c);
  await sleep(1500);
  const thawedDelta = usageUsec(c) - u1;
  t.diagnostic(`usage while frozen: +${frozenDelta} µs in 1.5 s; after resume: +${thawedDelta} µs in 1.5 s`);
  assert.equal(frozenDelta, 0);
  assert.ok(thawedDelta > 100_000, `after resume only +${thawedDelta} µs`);
});

test("update: memory.max lowered live bites (exec OOM-killed); checkBeforeUpdate refuses below usage", { skip }, (t) => {
  const c = container(t, { memory: { limit: 128 << 20 } }, "sleep 600");
  ok(run(c, "--detach"), "run --detach");
  // 48 MiB fits under 128 MiB
  ok(runtimeCli(["exec", c.id, "dd", "if=/dev/zero", "of=/dev/null", "bs=48M", "count=1"], { timeoutMs: 120_000 }), "exec dd 48M under 128M");
  ok(runtimeCli(["update", "--memory", "32m", c.id]), "update --memory 32m");
  assert.equal(c.read("memory.max"), String(32 << 20));
  const r = runtimeCli(["exec", c.id, "dd", "if=/dev/zero", "of=/dev/null", "bs=48M", "count=1"], { timeoutMs: 120_000 });
  assert.equal(r.code, 137, `exec dd 48M under 32M: ${describeRes(r)}`);
  assert.ok(c.cg.oomKillCount() >= 1);

  const usage = Number(c.read("memory.current"));
  const file = path.join(c.b.dir, "update.json");
  fs.writeFileSync(file, JSON.stringify({ memory: { limit: Math.max(4096, Math.floor(usage / 2 / 4096) * 4096), checkBeforeUpdate: true } }));
  const refused = runtimeCli(["update", "-r", file, c.id]);
  assert.notEqual(refused.code, 0, describeRes(refused));
  assert.match(refused.stderr, /memory limit \(\d+\) is less than current usage \(\d+\)/);
  assert.equal(c.read("memory.max"), String(32 << 20), "the refused update changed nothing");
});

test("devices: the BPF device filter denies what the rules do not allow; update replaces it", { skip }, (t) => {
  // runc's default allow list is appended by the driver (null, zero, ..., mknod of anything).
  // /dev/kmsg (c 1:11) is not in it, and writing it needs no capability: the filter alone decides.
  const denyAll = { allow: false, access: "rwm" };
  const c = container(t, { devices: [denyAll] } as LinuxResources, "sleep 600");
  ok(run(c, "--detach"), "run --detach");
  const probe = [
    "head -c 4 /dev/zero | od -An -tx1 | tr -d ' \\n'; echo",
    "echo x > /dev/null && echo null-ok",
    "mknod /tmp/kmsg c 1 11 && echo mknod-ok",
    "echo berth-v2-devices-test > /tmp/kmsg && echo kmsg-write-allowed",
    "rm -f /tmp/kmsg; true",
  ].join("; ");
  const exec = (): { out: string[]; r: CliResult } => {
    const r = ok(runtimeCli(["exec", c.id, "sh", "-c", probe], { timeoutMs: 120_000 }), "exec probe");
    return { out: r.stdout.split("\n"), r };
  };
  const update = (devices: unknown[]): void => {
    const file = path.join(c.b.dir, "devices.json");
    fs.writeFileSync(file, JSON.stringify({ devices }));
    ok(runtimeCli(["update", "-r", file, c.id]), "update -r devices");
  };
  let { out, r } = exec();
  assert.equal(out[0], "00000000", `read of /dev/zero: ${describeRes(r)}`);
  assert.ok(out.includes("null-ok") && out.includes("mknod-ok"), describeRes(r));
  assert.ok(!out.includes("kmsg-write-allowed"), describeRes(r));
  assert.match(r.stderr, /kmsg: Operation not permitted/);

  // Allowed by a new list: the old program is detached (with BPF_F_ALLOW_MULTI it would still deny).
  update([denyAll, { allow: true, type: "c", major: 1, minor: 11, access: "w" }]);
  ({ out, r } = exec());
  assert.ok(out.includes("kmsg-write-allowed"), `after allowing c 1:11 w: ${describeRes(r)}`);

  // The last matching rule wins.
  update([denyAll, { allow: true, type: "c", major: 1, minor: 11, access: "w" }, { allow: false, type: "c", major: 1, minor: 11, access: "rwm" }]);
  ({ out, r } = exec());
  assert.ok(!out.includes("kmsg-write-allowed"), `after a later deny: ${describeRes(r)}`);
  assert.ok(out.includes("null-ok"), describeRes(r));
});
