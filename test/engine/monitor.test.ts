// berth-monitor (native/monitor) under the real runtime, driven in-process as berthd drives it:
// createContainer with the monitor as launcher, startContainer, then the monitor's files,
// log and attach socket.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { AttachClient, MONITOR_BINARY, monitorLauncher, monitorPid, readExitFile } from "../../src/engine/monitor";
import { execInContainer } from "../../src/runtime/lifecycle/exec";
import { parseLogLine, readJsonLog, type LogEntry } from "../../src/engine/json-log";
import { createMonitored, monitored, prepareMonitored, waitExit } from "../fixtures/monitored";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, pred: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function logEntries(file: string): LogEntry[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const e = parseLogLine(l);
      assert.ok(e, `not a json-file record: ${l}`);
      return e;
    });
}

function statusField(pid: number, key: string): string | undefined {
  try {
    const m = new RegExp(`^${key}:\\s*(.*)$`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Collects what an attach client receives. */
function collect(c: AttachClient): { out: () => string; err: () => string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  c.on("stdout", (b) => out.push(b));
  c.on("stderr", (b) => err.push(b));
  return { out: () => Buffer.concat(out).toString(), err: () => Buffer.concat(err).toString() };
}

test("stdout and stderr reach the json-file log as valid JSON with the right streams; exit.json records exit 3", async (t) => {
  const script = "echo out1; echo err1 >&2; printf 'tab\\there \"q\" <&> \\001 \\377 caf\\303\\251\\n'; printf 'no newline'; exit 3";
  const m = await monitored(t, { args: ["sh", "-c", script] });
  const exit = await waitExit(m.dir);
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.signal, 0);
  assert.equal(exit.pid, m.pid);
  assert.match(exit.finishedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  const raw = fs.readFileSync(m.log, "utf8");
  // moby's escaping: <, >, & and control characters as \u00XX, an invalid byte as \ufffd.
  assert.ok(raw.includes('"log":"tab\\u0009here \\"q\\" \\u003c\\u0026\\u003e \\u0001 \\ufffd café\\n"'), raw);
  const es = logEntries(m.log);
  const out = es.filter((e) => e.stream === "stdout").map((e) => e.line);
  const err = es.filter((e) => e.stream === "stderr").map((e) => e.line);
  assert.deepEqual(out, ["out1\n", 'tab\there "q" <&> \u0001 \ufffd café\n', "no newline"]);
  assert.deepEqual(err, ["err1\n"]);
  for (const e of es) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  // The monitor is gone, and took its sockets with it.
  await waitFor("the monitor to exit", () => !monitorPid(m.dir));
  assert.equal(fs.existsSync(path.join(m.dir, "attach.sock")), false);
});

test("a line longer than 16 KiB is logged in 16 KiB pieces", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo"] });
  await waitExit(m.dir);
  const lens = logEntries(m.log).map((e) => e.line.length);
  assert.deepEqual(lens, [16384, 16384, 40000 - 32768 + 1]);
});

test("attach: stdcopy frames out, stdin in (cat), close stdin ends cat; the monitor closes the connection at exit", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "cat; echo done >&2; exit 5"], stdin: true, noStart: true });
  const c = await AttachClient.connect(m.dir);
  const raw = await AttachClient.connect(m.dir, { raw: true });
  const frames: Buffer[] = [];
  raw.frames!.on("data", (b: Buffer) => frames.push(b));
  const got = collect(c);
  await m.start();
  c.writeStdin("hello\n");
  await waitFor("cat's echo", () => got.out() === "hello\n");
  c.writeStdin(Buffer.from("world\n"));
  await waitFor("cat's second echo", () => got.out() === "hello\nworld\n");
  c.closeStdin();
  await c.closed;
  await raw.closed;
  assert.equal(got.err(), "done\n");
  const exit = readExitFile(m.dir);
  assert.equal(exit?.exitCode, 5);
  // The raw stream is the frames themselves: [stream][0 0 0][len BE][payload].
  const all = Buffer.concat(frames);
  const parsed: Array<[number, string]> = [];
  for (let off = 0; off < all.length; ) {
    assert.deepEqual([...all.subarray(off + 1, off + 4)], [0, 0, 0]);
    const len = all.readUInt32BE(off + 4);
    parsed.push([all[off]!, all.subarray(off + 8, off + 8 + len).toString()]);
    off += 8 + len;
  }
  assert.equal(parsed.filter(([s]) => s === 1).map(([, p]) => p).join(""), "hello\nworld\n");
  assert.deepEqual(parsed.filter(([s]) => s === 2), [[2, "done\n"]]);
  assert.deepEqual(logEntries(m.log).map((e) => [e.stream, e.line]), [["stdout", "hello\n"], ["stdout", "world\n"], ["stderr", "done\n"]]);
});

test("tty: output through the pty, resize seen by stty size, input echoed by the terminal", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "stty size; read x; echo got:$x; exit 2"], tty: true, stdin: true, noStart: true });
  const c = await AttachClient.connect(m.dir);
  const got = collect(c);
  c.resize(33, 101);
  c.writeStdin("abc\r"); // typed ahead: the terminal holds it for `read`
  await sleep(50); // the resize frame reaches the monitor before the process asks
  await m.start();
  await c.closed;
  assert.match(got.out(), /33 101\r\n/);
  assert.match(got.out(), /got:abc\r\n/);
  assert.equal(got.err(), "");
  assert.equal(readExitFile(m.dir)?.exitCode, 2);
  const es = logEntries(m.log);
  assert.ok(es.every((e) => e.stream === "stdout"));
  assert.ok(es.some((e) => e.line === "got:abc\r\n"), JSON.stringify(es));
  assert.equal(fs.existsSync(path.join(m.dir, "console.sock")), false);
});

test("--wait-attach: the stage starts only when the first attach client is connected", async (t) => {
  const m = prepareMonitored(t, { args: ["sh", "-c", "echo first; exit 0"] });
  const creating = createMonitored({ ...m, waitAttach: true });
  const mpid = await waitFor("the monitor", () => monitorPid(m.dir));
  await waitFor("attach.sock", () => fs.existsSync(path.join(m.dir, "attach.sock")));
  await sleep(100);
  assert.equal(fs.readFileSync(`/proc/${mpid}/task/${mpid}/children`, "utf8").trim(), "", "no stage yet");
  const c = await AttachClient.connect(m.dir);
  const got = collect(c);
  await creating;
  await c.closed;
  assert.equal(got.out(), "first\n");
});

test("a monitor that cannot start reports why as the create error", async (t) => {
  const m = prepareMonitored(t, { args: ["true"] });
  await assert.rejects(createMonitored({ ...m, log: "/nonexistent-berth-test/ctr.log" }), /berth-monitor: opening the log \/nonexistent-berth-test\/ctr.log: No such file or directory/);
});

test("exit.json: 137 and signal 9 for an init killed by SIGKILL", async (t) => {
  const m = await monitored(t, { args: ["sleep", "1000"] });
  process.kill(m.pid, "SIGKILL");
  const exit = await waitExit(m.dir);
  assert.deepEqual([exit.exitCode, exit.signal, exit.pid], [137, 9, m.pid]);
});

test("berthd dying: a container created by a process that then exits keeps running under its monitor", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "read x; echo got:$x; exit 4"], stdin: true, viaChild: true });
  const mpid = monitorPid(m.dir);
  assert.ok(mpid, "the monitor runs");
  // The monitor's parent is not us (its creator is gone); the init is the monitor's child.
  assert.notEqual(Number(statusField(mpid, "PPid")), process.pid);
  assert.equal(Number(statusField(m.pid, "PPid")), mpid);
  const sid = fs.readFileSync(`/proc/${mpid}/stat`, "utf8").split(") ")[1]!.split(" ")[3];
  assert.equal(Number(sid), mpid, "the monitor leads its own session");
  const c = await AttachClient.connect(m.dir);
  const got = collect(c);
  c.writeStdin("hi\n");
  await c.closed;
  assert.equal(got.out(), "got:hi\n");
  assert.equal((await waitExit(m.dir)).exitCode, 4);
});

test("log rotation: FILE, FILE.1, FILE.2 under the size limit, nothing older; read back in order", async (t) => {
  const m = await monitored(t, {
    args: ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo \"line $i ........................\"; i=$((i+1)); done"],
    logMaxSize: 4000,
    logMaxFiles: 3,
  });
  await waitExit(m.dir);
  const files = [m.log, `${m.log}.1`, `${m.log}.2`];
  for (const f of files) {
    assert.ok(fs.existsSync(f), `${f} exists`);
    assert.ok(fs.statSync(f).size <= 4000, `${f} is ${fs.statSync(f).size} bytes`);
  }
  assert.equal(fs.existsSync(`${m.log}.3`), false);
  const nums: number[] = [];
  for await (const e of readJsonLog(m.log)) nums.push(Number(/line (\d+)/.exec(e.line)![1]));
  assert.equal(nums[nums.length - 1], 299);
  assert.ok(nums.length > 50 && nums.length < 300, `${nums.length} lines kept`);
  assert.deepEqual(nums, nums.map((_, i) => nums[0]! + i), "consecutive, oldest first");
});

test("follow: readJsonLog follows a running container's log until exit.json", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.1; done"] });
  const lines: string[] = [];
  for await (const e of readJsonLog(m.log, { follow: true, exitFile: path.join(m.dir, "exit.json"), pollMs: 50 })) lines.push(e.line);
  assert.deepEqual(lines, ["tick 1\n", "tick 2\n", "tick 3\n"]);
});

test("a failed create: the monitor leaves by itself, or on SIGTERM while no container exists", async (t) => {
  // The command does not exist: create fails; the monitor does not stay behind.
  const m = prepareMonitored(t, { args: ["/no/such/command"] });
  await assert.rejects(createMonitored(m), /no\/such\/command/);
  await waitFor("the monitor to leave", () => !monitorPid(m.dir));

  // A stage that never leaves a container: SIGTERM ends the monitor (and the stage).
  const dir = path.join(path.dirname(m.dir), "m2");
  const fake = path.join(path.dirname(m.dir), "fake-stage");
  fs.writeFileSync(fake, "#!/bin/sh\nexec sleep 1000\n", { mode: 0o755 });
  const child = spawn(MONITOR_BINARY, ["--dir", dir, "--log", path.join(dir, "log"), "--", fake], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  const mpid = await waitFor("monitor.pid", () => monitorPid(dir));
  const stage = await waitFor("the fake stage", () => {
    try {
      return Number(fs.readFileSync(`/proc/${mpid}/task/${mpid}/children`, "utf8").trim()) || undefined;
    } catch {
      return undefined;
    }
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  process.kill(mpid, "SIGTERM");
  assert.equal(await exited, 1);
  await waitFor("the stage to be killed", () => !fs.existsSync(`/proc/${stage}`) || /State:\s*Z/.test(fs.readFileSync(`/proc/${stage}/status`, "utf8")));
  assert.equal(readExitFile(dir), undefined);
});

test("SIGTERM and SIGHUP to the monitor of a running container are ignored", async (t) => {
  const m = await monitored(t, { args: ["sleep", "1000"] });
  const mpid = monitorPid(m.dir)!;
  process.kill(mpid, "SIGTERM");
  process.kill(mpid, "SIGHUP");
  await sleep(200);
  assert.equal(monitorPid(m.dir), mpid);
  assert.equal(readExitFile(m.dir), undefined);
  process.kill(m.pid, "SIGKILL");
  assert.equal((await waitExit(m.dir)).exitCode, 137);
});

test("RSS: the monitor of an idle container, and after 8 MB of output to 3 attach clients", async (t) => {
  const m = await monitored(t, { args: ["sh", "-c", "read x; head -c 8000000 /dev/zero | tr '\\0' 'a' | fold -w 100; read y"], stdin: true });
  const mpid = monitorPid(m.dir)!;
  await sleep(100);
  const idle = { rss: statusField(mpid, "VmRSS"), anon: statusField(mpid, "RssAnon") };
  const clients = await Promise.all([0, 1, 2].map(() => AttachClient.connect(m.dir)));
  let bytes = 0;
  clients[0]!.on("stdout", (b) => (bytes += b.length));
  clients[0]!.writeStdin("go\n");
  await waitFor("8 MB through the attach socket", () => bytes >= 8_079_999, 30_000);
  const busy = { rss: statusField(mpid, "VmRSS"), anon: statusField(mpid, "RssAnon"), hwm: statusField(mpid, "VmHWM") };
  t.diagnostic(`monitor RSS idle: VmRSS ${idle.rss}, RssAnon ${idle.anon}; after 8 MB to 3 clients: VmRSS ${busy.rss}, RssAnon ${busy.anon}, VmHWM ${busy.hwm}`);
  clients[0]!.writeStdin("done\n");
  await Promise.all(clients.map((c) => c.closed));
  const kb = (s: string | undefined) => Number(/(\d+)/.exec(s ?? "")?.[1]);
  assert.ok(kb(idle.rss) <= 1024, `idle VmRSS ${idle.rss}`);
  assert.ok(kb(busy.hwm) <= 1280, `peak VmRSS ${busy.hwm}`);
});

/** Our berth-monitor children waiting with --standby. */
function standbyMonitors(): number[] {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return argv[0] === MONITOR_BINARY && argv[1] === "--standby" && Number(statusField(pid, "PPid")) === process.pid;
    } catch {
      return false;
    }
  });
}

test("exec: the monitor takes our attach client at launch (--attach-fd), the next one comes from standby; all output, the exit code, the container's cgroups", async (t) => {
  const m = await monitored(t, { args: ["sleep", "1000"] });
  t.after(() => {
    for (const pid of standbyMonitors()) process.kill(pid, "SIGKILL");
  });
  const cgroups = fs.readFileSync(`/proc/${m.pid}/cgroup`, "utf8");
  for (const round of [1, 2]) {
    if (round === 2) await waitFor("a standby monitor", () => standbyMonitors().length === 1);
    const dir = path.join(path.dirname(m.dir), `exec${round}`);
    let client: AttachClient | undefined;
    let got: ReturnType<typeof collect> | undefined;
    await execInContainer(m.ctx, {
      id: m.id,
      args: ["sh", "-c", "echo err >&2; cat /proc/self/cgroup; exit 3"],
      tty: false,
      detach: true,
      env: [],
      additionalGids: [],
      caps: [],
      stdio: "ignore",
      launcher: monitorLauncher({ dir, logPath: "/dev/null", tty: false, openStdin: false, attach: { connected: (c) => ((client = c), (got = collect(c))) } }),
    });
    assert.ok(client && got, "the attach client was handed over");
    await client.closed;
    assert.equal(got.err(), "err\n");
    assert.equal(got.out(), cgroups, "the exec'd process is in the init's cgroups");
    assert.equal(readExitFile(dir)?.exitCode, 3);
  }
});
