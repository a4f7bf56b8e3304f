// berth-init (native/init) as PID 1 of a container (Docker's --init): bind-mounted into the
// busybox bundle, run under the monitor as berthd runs containers.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { INIT_BINARY } from "../../src/engine/monitor";
import { monitored, waitExit } from "../fixtures/monitored";
import type { TestSpec } from "../fixtures/busybox";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const withInit = (spec: TestSpec) => {
  spec.mounts.push({ destination: "/sbin/berth-init", type: "bind", source: INIT_BINARY, options: ["bind", "ro"] });
};

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function stateOf(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

async function waitFor<T>(what: string, pred: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("berth-init is static (it runs in any image)", () => {
  const elf = fs.readFileSync(INIT_BINARY);
  assert.equal(elf.readUInt32BE(0), 0x7f454c46);
  assert.equal(elf.includes(Buffer.from("/lib64/ld-linux")), false, "no dynamic loader");
});

test("SIGTERM to PID 1 reaches `sh -c 'sleep 1000'` through berth-init, which exits 143 promptly", async (t) => {
  const m = await monitored(t, { args: ["/sbin/berth-init", "sh", "-c", "sleep 1000; true"], modify: withInit });
  await waitFor("sleep under sh under berth-init", () => children(m.pid).some((c) => children(c).some((g) => comm(g) === "sleep")));
  const t0 = Date.now();
  process.kill(m.pid, "SIGTERM");
  const exit = await waitExit(m.dir, 5000);
  assert.equal(exit.exitCode, 143);
  assert.ok(Date.now() - t0 < 2000, `stopped in ${Date.now() - t0} ms`);
});

test("without berth-init, the same shell as PID 1 ignores SIGTERM (why --init exists)", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "sleep 1000; true"] });
  await waitFor("sleep under sh", () => children(m.pid).some((c) => comm(c) === "sleep"));
  process.kill(m.pid, "SIGTERM");
  await sleep(300);
  assert.equal(stateOf(m.pid), "S");
  process.kill(m.pid, "SIGKILL");
  assert.equal((await waitExit(m.dir)).exitCode, 137);
});

test("orphans re-parented to berth-init are reaped: no zombies", async (t) => {
  const script = "for i in 1 2 3 4 5 6; do (sleep 0.1 &); done; sleep 1000; true";
  const m = await monitored(t, { args: ["/sbin/berth-init", "sh", "-c", script], modify: withInit });
  // The orphaned sleeps become children of PID 1, then exit.
  await waitFor("the shell to start its sleep", () => children(m.pid).some((c) => children(c).some((g) => comm(g) === "sleep")));
  await sleep(500);
  const kids = children(m.pid);
  assert.deepEqual(kids.map(comm), ["sh"], `PID 1's children: ${kids.map((k) => `${k}:${comm(k)}:${stateOf(k)}`).join(" ")}`);
  assert.ok(kids.every((k) => stateOf(k) !== "Z"));
  process.kill(m.pid, "SIGTERM");
  assert.equal((await waitExit(m.dir)).exitCode, 143);
});

test("exit status: the child's code, 128+N for signal N, 127 for a missing command", async (t) => {
  const cases: Array<[string[], number]> = [
    [["sh", "-c", "exit 7"], 7],
    [["sh", "-c", "kill -USR1 $$"], 128 + 10],
    [["/no/such/command"], 127],
  ];
  for (const [args, code] of cases) {
    const m = await monitored(t, { args: ["/sbin/berth-init", ...args], modify: withInit });
    assert.equal((await waitExit(m.dir)).exitCode, code, args.join(" "));
  }
});
