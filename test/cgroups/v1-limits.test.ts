// Real-kernel proof that the cgroup v1 limits bite (root, legacy or hybrid host):
// memory (OOM kill, OOM killer disabled, memory+swap, live update), pids, CPU
// quota, cpuset. Containers run through bin/berth-runtime with busybox bundles;
// their cgroups are read through the manager rebuilt from the state file.
// Everything is removed in after(), also when a test fails.
import { describe, sleep, waitFor } from "../runtime/helpers";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Bundle, makeBundle } from "../fixtures/busybox";
import { CliResult, cleanupRuntime, runtimeCli, runtimeCliAsync, testRoot } from "../fixtures/runtime";
import { CgroupError, CgroupManager, detectLayout, loadCgroupManager } from "../../src/runtime/cgroups";
import type { LinuxResources } from "../../src/runtime/spec/types";

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const layout = isRoot ? detectLayout() : undefined;
const skip = !isRoot ? "needs root" : layout!.mode === "unified" ? "needs a cgroup v1 (legacy or hybrid) host" : false;

const bundles: Bundle[] = [];
const pending: Promise<unknown>[] = [];
after(async () => {
  try {
    cleanupRuntime(); // delete --force every container of this process (kills, removes the cgroups)
    await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, 10_000).unref())]);
  } finally {
    for (const b of bundles) b.cleanup();
  }
  for (const b of bundles) {
    for (const h of fs.readdirSync("/sys/fs/cgroup")) {
      assert.equal(fs.existsSync(path.join("/sys/fs/cgroup", h, "berth", b.id)), false, `cgroup ${h}/berth/${b.id} left behind`);
    }
  }
});

function bundle(args: string[], resources: LinuxResources): Bundle {
  const b = makeBundle({ args, modify: (s) => void (s.linux.resources = resources as Record<string, unknown>) });
  bundles.push(b);
  return b;
}
const sh = (script: string, resources: LinuxResources): Bundle => bundle(["sh", "-c", script], resources);

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: ${describe(r)}`);
  return r;
}
function manager(id: string): CgroupManager {
  const st = JSON.parse(fs.readFileSync(path.join(testRoot(), id, "state.json"), "utf8"));
  return loadCgroupManager(st.cgroup);
}
function cgFile(m: CgroupManager, hierarchy: string, file: string): string {
  return fs.readFileSync(path.join(m.dirs[hierarchy], file), "utf8").trim();
}
/** create + start a detached container. */
function start(b: Bundle): CgroupManager {
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]), `create ${b.id}`);
  ok(runtimeCli(["start", b.id]), `start ${b.id}`);
  return manager(b.id);
}

/** busybox awk building a string by doubling; its peak memory is about 2.2 × `bytes`. */
const awkAlloc = (bytes: number, then = "") => `awk 'BEGIN { s = "x"; while (length(s) < ${bytes}) s = s s; print length(s); ${then} }'`;

test("memory: allocating 64 MiB under a 32 MiB limit is OOM-killed (exit 137); stats show the kill", { skip }, () => {
  const b = bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], { memory: { limit: 32 * MiB } });
  const r = runtimeCli(["run", "--keep", "--bundle", b.dir, b.id]);
  assert.equal(r.code, 137, describe(r));
  const m = manager(b.id);
  assert.equal(cgFile(m, "memory", "memory.limit_in_bytes"), String(32 * MiB));
  assert.match(cgFile(m, "memory", "memory.oom_control"), /^oom_kill [1-9]/m);
  const s = m.stats().memory;
  assert.ok((s.event_count?.oom_kill ?? 0) >= 1, JSON.stringify(s.event_count));
  assert.ok(m.oomKillCount() >= 1);
  assert.equal(s.usage.limit, 32 * MiB);
  assert.ok(s.usage.failcnt > 0 && (s.usage.max ?? 0) <= 32 * MiB, JSON.stringify(s.usage));
});

test("memory: with disableOOMKiller the allocator stalls (under_oom 1) and finishes once update raises the limit", { skip }, async () => {
  const b = bundle(["sh", "-c", awkAlloc(32 * MiB)], { memory: { limit: 32 * MiB, disableOOMKiller: true } });
  const run = runtimeCliAsync(["run", "--keep", "--bundle", b.dir, b.id], { timeoutMs: 20_000 });
  pending.push(run);
  const oomControl = path.join("/sys/fs/cgroup/memory/berth", b.id, "memory.oom_control");
  const read = () => (fs.existsSync(oomControl) ? fs.readFileSync(oomControl, "utf8") : "");
  await waitFor("under_oom 1", () => /^under_oom 1$/m.test(read()), 10_000);
  const m = manager(b.id);
  await sleep(300);
  const s = m.stats().memory;
  assert.deepEqual([s.event_count?.oom, s.event_count?.oom_kill], [1, 0], "still stalled, nobody killed");
  assert.match(read(), /^oom_kill_disable 1$/m);
  await m.apply({ memory: { limit: 256 * MiB } }, { update: true });
  const r = await run;
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stdout.trim(), String(32 * MiB));
  assert.equal(m.oomKillCount(), 0);
});

const swapTotal = Number(/^SwapTotal:\s+(\d+)/m.exec(fs.existsSync("/proc/meminfo") ? fs.readFileSync("/proc/meminfo", "utf8") : "")?.[1] ?? 0);
const swapName = swapTotal > 0
  ? "memory+swap: under limit 32 MiB / memory+swap 128 MiB a 48 MiB working set swaps instead of dying"
  : "memory+swap: this host has no swap, so it cannot bite here; checks memory.memsw.limit_in_bytes holds what was written (and -1)";
test(swapName, { skip }, async () => {
  if (swapTotal > 0) {
    const b = sh(awkAlloc(24 * MiB), { memory: { limit: 32 * MiB, swap: 128 * MiB, swappiness: 100 } });
    const r = runtimeCli(["run", "--keep", "--bundle", b.dir, b.id]);
    assert.equal(r.code, 0, describe(r));
    const s = manager(b.id).stats().memory;
    assert.ok((s.swap.max ?? 0) > 32 * MiB, `memory+swap peak ${s.swap.max} above the memory limit`);
    return;
  }
  const b = sh("true", { memory: { limit: 32 * MiB, swap: 64 * MiB } });
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]), "create");
  const m = manager(b.id);
  assert.equal(cgFile(m, "memory", "memory.limit_in_bytes"), String(32 * MiB));
  assert.equal(cgFile(m, "memory", "memory.memsw.limit_in_bytes"), String(64 * MiB));
  await m.apply({ memory: { limit: 16 * MiB, swap: 16 * MiB } }, { update: true });
  assert.equal(cgFile(m, "memory", "memory.memsw.limit_in_bytes"), String(16 * MiB));
  await m.apply({ memory: { swap: -1 } }, { update: true });
  assert.equal(BigInt(cgFile(m, "memory", "memory.memsw.limit_in_bytes")) >= 2n ** 63n - 2n ** 16n, true, "unlimited");
});

test("update: raising and lowering a live memory limit; an allocation that failed succeeds after raising", { skip }, async () => {
  const b = sh("sleep 60", { memory: { limit: 32 * MiB } });
  const m = start(b);
  const alloc = () => runtimeCli(["exec", b.id, "sh", "-c", awkAlloc(24 * MiB)]);
  const before = alloc();
  assert.equal(before.code, 137, `OOM-killed under 32 MiB: ${describe(before)}`);
  await m.apply({ memory: { limit: 128 * MiB } }, { update: true });
  assert.equal(cgFile(m, "memory", "memory.limit_in_bytes"), String(128 * MiB));
  const after = alloc();
  assert.equal(after.code, 0, describe(after));
  assert.equal(after.stdout.trim(), String(32 * MiB));
  await m.apply({ memory: { limit: 48 * MiB } }, { update: true });
  assert.equal(cgFile(m, "memory", "memory.limit_in_bytes"), String(48 * MiB));
  assert.equal(m.stats().memory.usage.limit, 48 * MiB);
});

test("update: a limit below the memory in use is refused (checkBeforeUpdate, or EBUSY from the kernel) and leaves the limit alone", { skip }, async () => {
  const b = sh(awkAlloc(16 * MiB, 'system("sleep 60")'), { memory: { limit: 256 * MiB } });
  const m = start(b);
  const usage = await waitFor("the container to hold 16 MiB", () => {
    const u = m.stats().memory.usage.usage ?? 0;
    return u > 16 * MiB && u;
  }, 10_000);
  await assert.rejects(m.apply({ memory: { limit: 8 * MiB, checkBeforeUpdate: true } }, { update: true }), (e: Error) => {
    assert.ok(e instanceof CgroupError);
    assert.match(e.message, /^linux\.resources\.memory\.limit: the new limit 8388608 is below the container's current memory usage \d+ \(memory\.checkBeforeUpdate is set\)/);
    return true;
  });
  assert.equal(cgFile(m, "memory", "memory.limit_in_bytes"), String(256 * MiB));
  // Without the check the kernel tries to reclaim; anonymous memory without swap cannot go.
  await assert.rejects(m.apply({ memory: { limit: 8 * MiB } }, { update: true }), /memory\.limit: cannot write "8388608" to .*memory\.limit_in_bytes: the container uses \d+ bytes \(peak \d+\) and the kernel could not reclaim enough memory to go down to 8388608 \(EBUSY\)/);
  assert.equal(cgFile(m, "memory", "memory.limit_in_bytes"), String(256 * MiB));
  assert.ok(usage > 16 * MiB);
});

test("pids: with limit 10 the fork beyond it fails (\"can't fork\"); pids.events counts it", { skip }, () => {
  const b = sh("for i in $(seq 1 20); do sleep 1 & done; wait", { pids: { limit: 10 } });
  const r = runtimeCli(["run", "--keep", "--bundle", b.dir, b.id]);
  assert.match(r.stderr, /can't fork|Resource temporarily unavailable/, describe(r));
  const m = manager(b.id);
  assert.equal(cgFile(m, "pids", "pids.max"), "10");
  assert.match(cgFile(m, "pids", "pids.events"), /^max [1-9]/m);
  assert.equal(m.stats().pids.limit, 10);
});

test("cpu: a busy loop under quota 20000/100000 gets 20% ± 5% of a CPU (cgroup's own cpuacct.usage over 3 s)", { skip }, async (t) => {
  const b = sh("while :; do :; done", { cpu: { quota: 20000, period: 100000 } });
  const m = start(b);
  await sleep(300); // past start-up
  const s0 = m.stats();
  const t0 = process.hrtime.bigint();
  await sleep(3000);
  const s1 = m.stats();
  const t1 = process.hrtime.bigint();
  const used = s1.cpu.usage.total! - s0.cpu.usage.total!;
  const share = used / Number(t1 - t0);
  const periods = s1.cpu.throttling.periods! - s0.cpu.throttling.periods!;
  const throttled = s1.cpu.throttling.throttledPeriods! - s0.cpu.throttling.throttledPeriods!;
  t.diagnostic(`cpu share ${(share * 100).toFixed(2)}% of one CPU over ${(Number(t1 - t0) / 1e9).toFixed(2)} s; ${throttled}/${periods} periods throttled; per active period ${((100 * used) / (periods * 1e8)).toFixed(2)}%`);
  assert.ok(share >= 0.15 && share <= 0.25, `share ${share}`);
  assert.ok(throttled > 0, "the quota throttled the loop");
  assert.equal(cgFile(m, "cpu", "cpu.cfs_quota_us"), "20000");
});

test("cpuset: the container's processes may run only on the CPUs and memory nodes given", { skip }, () => {
  const online = fs.readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
  const cpu = /[1-9]/.test(online) ? "1" : "0"; // the second CPU when there is one
  const b = sh("grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status", { cpu: { cpus: cpu, mems: "0" } });
  const r = ok(runtimeCli(["run", "--bundle", b.dir, b.id]), "run");
  assert.equal(r.stdout, `Cpus_allowed_list:\t${cpu}\nMems_allowed_list:\t0\n`);
});

test("a limit the host cannot provide fails create with config.json: linux.resources.<field>: <why>, leaving nothing behind", { skip }, () => {
  const cases: [LinuxResources, RegExp][] = [
    [{ network: { classID: 0x100001 } }, /config\.json: linux\.resources\.network\.classID: the net_cls controller is not mounted on this host/],
    [{ cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } }, /config\.json: linux\.resources\.cpu\.realtimeRuntime: cannot write "10000" to .*cpu\.rt_runtime_us: .*real-time runtime must fit in its parent's/],
    [{ cpu: { shares: 1 } }, /config\.json: linux\.resources\.cpu\.shares: must be 2\.\.262144/],
  ];
  for (const [resources, want] of cases) {
    if (resources.network && layout!.v1.has("net_cls")) continue; // mounted on this host: not an error
    if (resources.cpu?.realtimeRuntime) {
      // Refused only while the berth parent has no real-time budget (the default: 0).
      const parent = path.join(layout!.v1.get("cpu") ?? "/nonexistent", "berth", "cpu.rt_runtime_us");
      if (!fs.existsSync(parent) || Number(fs.readFileSync(parent, "utf8")) >= 10000) continue;
    }
    const b = sh("true", resources);
    const r = runtimeCli(["create", "--bundle", b.dir, b.id]);
    assert.equal(r.code, 1, describe(r));
    assert.match(r.stderr, want);
    for (const h of fs.readdirSync("/sys/fs/cgroup")) assert.equal(fs.existsSync(path.join("/sys/fs/cgroup", h, "berth", b.id)), false, `${h} cgroup rolled back`);
  }
});
