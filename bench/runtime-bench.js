#!/usr/bin/env node
// Measures OCI runtimes on one busybox bundle; driven by bench/runtime.sh.
//
//   node bench/runtime-bench.js --bundle DIR --work DIR --n N NAME=BINARY [NAME=BINARY...]
//
// For each runtime (each with its own --root under --work):
//   run        `run --bundle B <id>` of /bin/true, until the runtime exits
//   lifecycle  `create --bundle B --pid-file F <id>`, `start <id>`, wait until `state <id>`
//              says "stopped", `delete <id>`
// plus `node -e 0`, so Node's own start-up cost shows beside berth-runtime's figures.
// Each figure is wall-clock time around whole CLI invocations, as a container engine sees it.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

function usage(msg) {
  if (msg) process.stderr.write(`runtime-bench: ${msg}\n`);
  process.stderr.write("usage: runtime-bench.js --bundle DIR --work DIR [--n N] NAME=BINARY...\n");
  process.exit(2);
}

function parseArgs(argv) {
  const o = { bundle: "", work: "", n: 20, runtimes: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--bundle") o.bundle = argv[++i] || "";
    else if (a === "--work") o.work = argv[++i] || "";
    else if (a === "--n") o.n = Number(argv[++i]);
    else if (a.includes("=")) {
      const [name, bin] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
      o.runtimes.push({ name, bin });
    } else usage(`unexpected argument ${a}`);
  }
  if (!o.bundle || !o.work) usage("--bundle and --work are required");
  if (!Number.isInteger(o.n) || o.n < 1) usage("--n must be a positive integer");
  return o;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs a command with stdin from /dev/null and output to files (never pipes: a container
 *  started by `create` inherits them and would keep a pipe open). Returns {code, out, err}. */
function runCmd(bin, args, ioDir, timeoutMs = 60_000) {
  const outPath = path.join(ioDir, "out");
  const errPath = path.join(ioDir, "err");
  const fds = [fs.openSync("/dev/null", "r"), fs.openSync(outPath, "w"), fs.openSync(errPath, "w")];
  let res;
  try {
    res = spawnSync(bin, args, { stdio: fds, timeout: timeoutMs, killSignal: "SIGKILL" });
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
  const out = fs.readFileSync(outPath, "utf8");
  const err = fs.readFileSync(errPath, "utf8");
  if (res.error) return { code: -1, out, err: `${res.error.message}\n${err}` };
  return { code: res.status === null ? -1 : res.status, out, err: res.signal ? `killed by ${res.signal}\n${err}` : err };
}

function must(res, what) {
  if (res.code !== 0) {
    throw new Error(`${what} failed (exit ${res.code}): ${res.err.trim() || res.out.trim()}`);
  }
  return res;
}

function pidGone(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]; // nearest rank
  return { median, p90, min: s[0], max: s[n - 1], n };
}

let nextId = 1;
function freshId() {
  return `berth-bench-${nextId++}`;
}

function benchRun(rt, bundle, ioDir) {
  const id = freshId();
  const t0 = nowMs();
  const res = runCmd(rt.bin, ["--root", rt.root, "run", "--bundle", bundle, id], ioDir);
  const dt = nowMs() - t0;
  if (res.code !== 0) {
    runCmd(rt.bin, ["--root", rt.root, "delete", "--force", id], ioDir);
    must(res, `${rt.name} run`);
  }
  return dt;
}

function benchLifecycle(rt, bundle, ioDir) {
  const id = freshId();
  const pidFile = path.join(ioDir, `${id}.pid`);
  const base = ["--root", rt.root];
  const t0 = nowMs();
  try {
    must(runCmd(rt.bin, [...base, "create", "--bundle", bundle, "--pid-file", pidFile, id], ioDir), `${rt.name} create`);
    const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    must(runCmd(rt.bin, [...base, "start", id], ioDir), `${rt.name} start`);
    // Wait cheaply for the process to end, then confirm with the runtime's own `state`.
    const deadline = nowMs() + 10_000;
    while (pid > 0 && !pidGone(pid)) {
      if (nowMs() > deadline) throw new Error(`${rt.name}: container process ${pid} did not exit in 10 s`);
      sleepMs(1);
    }
    for (;;) {
      const st = must(runCmd(rt.bin, [...base, "state", id], ioDir), `${rt.name} state`);
      let status;
      try {
        status = JSON.parse(st.out).status;
      } catch {
        throw new Error(`${rt.name} state printed no JSON: ${st.out.slice(0, 200)}`);
      }
      if (status === "stopped") break;
      if (nowMs() > deadline) throw new Error(`${rt.name}: state still says "${status}" after 10 s`);
      sleepMs(1);
    }
    must(runCmd(rt.bin, [...base, "delete", id], ioDir), `${rt.name} delete`);
    return nowMs() - t0;
  } catch (err) {
    runCmd(rt.bin, [...base, "delete", "--force", id], ioDir);
    throw err;
  } finally {
    fs.rmSync(pidFile, { force: true });
  }
}

/** delete --force whatever is left in a runtime's root (one directory per container). */
function deleteLeftovers(rt, ioDir) {
  let names = [];
  try {
    names = fs.readdirSync(rt.root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const id of names) {
    const res = runCmd(rt.bin, ["--root", rt.root, "delete", "--force", id], ioDir);
    if (res.code !== 0) process.stderr.write(`runtime-bench: leftover ${rt.name} container ${id}: ${res.err.trim()}\n`);
  }
}

function fmt(x) {
  return x === undefined ? "-" : x.toFixed(1);
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const ioDir = fs.mkdtempSync(path.join(o.work, "io-"));
  const rows = [];
  let failed = 0;

  // A peer that cannot run here (e.g. crun on a hybrid cgroup host) is reported, not fatal.
  const measure = (label, op, fn, fatal = true) => {
    process.stderr.write(`  ${label} ${op}: `);
    try {
      fn(); // warm-up, not counted
      const samples = [];
      for (let i = 0; i < o.n; i++) {
        samples.push(fn());
        if ((i + 1) % 5 === 0) process.stderr.write(".");
      }
      process.stderr.write(" done\n");
      rows.push({ runtime: label, op, ...stats(samples) });
    } catch (err) {
      if (fatal) failed++;
      const reason = String(err.message).split("\n")[0];
      process.stderr.write(`FAILED\n    ${String(err.message).split("\n").join("\n    ")}\n`);
      rows.push({ runtime: label, op, failed: true, reason });
    }
  };

  process.stderr.write(`measuring (N=${o.n} each, after one warm-up):\n`);
  measure("node", "node -e 0", () => {
    const t0 = nowMs();
    must(runCmd(process.execPath, ["-e", "0"], ioDir), "node -e 0");
    return nowMs() - t0;
  });

  for (const rt of o.runtimes) {
    rt.root = path.join(o.work, `root-${rt.name}`);
    fs.mkdirSync(rt.root, { recursive: true, mode: 0o700 });
    try {
      const fatal = rt.name === "berth-runtime";
      measure(rt.name, "run", () => benchRun(rt, o.bundle, ioDir), fatal);
      measure(rt.name, "create+start+wait+delete", () => benchLifecycle(rt, o.bundle, ioDir), fatal);
    } finally {
      deleteLeftovers(rt, ioDir);
    }
  }
  fs.rmSync(ioDir, { recursive: true, force: true });

  const header = ["runtime", "operation", "median ms", "p90 ms", "min ms", "n"];
  const table = rows.map((r) =>
    r.failed
      ? [r.runtime, r.op, "FAILED", "", "", ""]
      : [r.runtime, r.op, fmt(r.median), fmt(r.p90), fmt(r.min), String(r.n)],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  process.stdout.write("\n" + line(header) + "\n");
  process.stdout.write(widths.map((w) => "-".repeat(w)).join("  ") + "\n");
  for (const row of table) process.stdout.write(line(row) + "\n");
  const notes = rows.filter((r) => r.failed);
  if (notes.length > 0) {
    process.stdout.write("\n");
    for (const r of notes) process.stdout.write(`${r.runtime} ${r.op} FAILED: ${r.reason}\n`);
  }
  process.exit(failed > 0 ? 1 : 0);
}

main();
