#!/usr/bin/env node
// Runs berth's compiled tests with Node's built-in test runner.
//
//   node scripts/run-tests.js            all *.test.js under dist/ (unit + integration)
//   node scripts/run-tests.js --unit     only unit tests (beside the sources, dist/src/...)
//   node scripts/run-tests.js cgroups    only test files whose path contains "cgroups"
//   node scripts/run-tests.js -- --test-name-pattern=state   extra flags for `node --test`
//
// Rebuilds first (npm run build) when dist/ is missing or older than anything in src/,
// test/ or native/. Test files run one at a time: integration tests touch the kernel
// (mounts, cgroups, namespaces) and must not trip over each other.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const REPO = path.resolve(__dirname, "..");
const DIST = path.join(REPO, "dist");
const STAMP = path.join(DIST, ".build-stamp");
const SOURCE_DIRS = ["src", "test", "native"];
const SKIP_DIRS = new Set(["node_modules", ".git", "build", "dist"]);

function die(msg) {
  process.stderr.write(`run-tests: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { unit: false, filters: [], nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      opts.nodeArgs.push(...argv.slice(i + 1));
      break;
    } else if (a === "--unit") {
      opts.unit = true;
    } else if (a === "-h" || a === "--help") {
      process.stdout.write(
        "usage: node scripts/run-tests.js [--unit] [PATH-SUBSTRING...] [-- NODE-TEST-FLAGS...]\n",
      );
      process.exit(0);
    } else if (a.startsWith("--")) {
      opts.nodeArgs.push(a); // e.g. --test-name-pattern=foo, --test-reporter=spec
    } else {
      opts.filters.push(a);
    }
  }
  return opts;
}

/** Newest mtime (ms) of any file below `dirs`, skipping the `skip` directory names. */
function newestMtime(dirs, skip) {
  let newest = 0;
  let newestPath = "";
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!skip.has(e.name)) walk(p);
      } else if (e.isFile() || e.isSymbolicLink()) {
        let st;
        try {
          st = fs.lstatSync(p);
        } catch {
          continue;
        }
        if (st.mtimeMs > newest) {
          newest = st.mtimeMs;
          newestPath = p;
        }
      }
    }
  };
  for (const d of dirs) walk(d);
  return { newest, newestPath };
}

function newestSourceMtime() {
  const src = newestMtime(
    SOURCE_DIRS.map((d) => path.join(REPO, d)),
    SKIP_DIRS,
  );
  for (const f of ["package.json", "tsconfig.json"]) {
    try {
      const m = fs.statSync(path.join(REPO, f)).mtimeMs;
      if (m > src.newest) {
        src.newest = m;
        src.newestPath = path.join(REPO, f);
      }
    } catch {
      // optional
    }
  }
  return src;
}

function buildIfStale() {
  let reason = "";
  if (!fs.existsSync(DIST)) {
    reason = "dist/ is missing";
  } else {
    // dist/ is as new as its newest output, or as the stamp of the last build we ran (a build
    // that changed no output, e.g. after a native-only edit, still counts).
    let built = newestMtime([DIST], new Set(["node_modules"])).newest;
    try {
      built = Math.max(built, fs.statSync(STAMP).mtimeMs);
    } catch {
      // no stamp yet
    }
    const { newest, newestPath } = newestSourceMtime();
    if (built === 0) reason = "dist/ is empty";
    else if (newest > built) reason = `${path.relative(REPO, newestPath)} is newer than dist/`;
  }
  if (!reason) return;
  process.stdout.write(`run-tests: building (${reason}): npm run build\n`);
  const started = Date.now();
  const res = spawnSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" });
  if (res.error) die(`cannot run npm: ${res.error.message}`);
  if (res.status !== 0) die(`build failed (npm run build exited ${res.status ?? res.signal}); not running tests`);
  fs.mkdirSync(DIST, { recursive: true });
  fs.writeFileSync(STAMP, `built ${new Date().toISOString()} in ${Date.now() - started} ms\n`);
}

function findTests(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules") findTests(p, out);
    } else if (e.isFile() && e.name.endsWith(".test.js")) {
      out.push(p);
    }
  }
  return out;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));

  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    die(
      "berth's tests must run as root: the integration tests create namespaces, mounts and cgroups.\n" +
        "  Run: sudo npm test   (or as root: npm test)",
    );
  }

  buildIfStale();

  let files = findTests(DIST, []).sort();
  // tsc never deletes outputs: skip compiled tests whose TypeScript source is gone.
  const stale = files.filter((f) => {
    const src = path.join(REPO, path.relative(DIST, f)).replace(/\.js$/, ".ts");
    return !fs.existsSync(src);
  });
  if (stale.length > 0) {
    process.stdout.write(
      `run-tests: skipping ${stale.length} stale compiled test(s) with no .ts source: ` +
        `${stale.map((f) => path.relative(REPO, f)).join(", ")}\n`,
    );
    files = files.filter((f) => !stale.includes(f));
  }
  const all = files.length;
  if (opts.unit) files = files.filter((f) => !path.relative(REPO, f).split(path.sep).join("/").includes("/test/"));
  if (opts.filters.length > 0) {
    files = files.filter((f) => opts.filters.some((s) => path.relative(REPO, f).includes(s)));
  }
  if (files.length === 0) {
    const what = [opts.unit ? "unit " : "", "test files"].join("");
    const filt = opts.filters.length > 0 ? ` matching ${opts.filters.join(", ")}` : "";
    die(`found NO ${what}${filt} under ${path.relative(REPO, DIST)}/ (${all} *.test.js in total). Did the build run?`);
  }

  // The cgroup v2 tests need a pure v2 host; this machine may be v1/hybrid. On a full run
  // they also run in a throwaway pure-v2 guest (first, so the host run's summary closes).
  const v2vm = !opts.unit && opts.filters.length === 0 && opts.nodeArgs.length === 0 ? runV2InVm() : 0;

  process.stdout.write(
    `run-tests: ${files.length} test file(s)${opts.unit ? " (unit only)" : ""}, run serially\n`,
  );
  const args = ["--test", "--test-concurrency=1", ...opts.nodeArgs, ...files.map((f) => path.relative(REPO, f))];
  const res = spawnSync(process.execPath, args, { cwd: REPO, stdio: "inherit" });
  if (res.error) die(`cannot run node --test: ${res.error.message}`);
  if (res.signal) die(`node --test was killed by ${res.signal}`);
  if (v2vm !== 0) process.stderr.write(`run-tests: the cgroup v2 tests in the pure-v2 guest FAILED (exit ${v2vm}); see above\n`);
  process.exit(res.status || v2vm || 0);
}

function pureV2Host() {
  return fs.readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => / \/sys\/fs\/cgroup - cgroup2 /.test(l) || / \/sys\/fs\/cgroup [^ ]+ [^-]*- cgroup2 /.test(l));
}

/** Exit status of test/cgroups/run-v2-in-vm.sh (0 when not needed); never skipped silently. */
function runV2InVm() {
  if (process.env.BERTH_TEST_V2VM === "0") {
    process.stdout.write("run-tests: BERTH_TEST_V2VM=0: NOT running the cgroup v2 tests in the pure-v2 guest\n");
    return 0;
  }
  if (pureV2Host()) {
    process.stdout.write("run-tests: this host is pure cgroup v2: the v2 tests run here, no guest needed\n");
    return 0;
  }
  const tool = process.env.CG2VM_TOOL || path.join(REPO, "..", "shared", "tools", "run-in-cg2vm.sh");
  if (!fs.existsSync(tool)) {
    process.stdout.write(`run-tests: ${tool} not found: cannot run the cgroup v2 tests in a pure-v2 guest (set CG2VM_TOOL)\n`);
    return 1;
  }
  process.stdout.write("run-tests: cgroup v2 tests in a throwaway pure-v2 guest (test/cgroups/run-v2-in-vm.sh)\n");
  const res = spawnSync("bash", [path.join(REPO, "test", "cgroups", "run-v2-in-vm.sh")], { cwd: REPO, stdio: "inherit", env: { ...process.env, CG2VM_TOOL: tool } });
  return res.status ?? 1;
}

main();
