#!/usr/bin/env node
// Image pull + unpack benchmark; driven by bench/images.sh (which owns the work dir).
//
//   node bench/images.js --work DIR --cache DIR [--n N] [--warmup W] [--profile DIR]
//                        [--concurrency C] [--berth-b DIST] [--no-sync]
//   node bench/images.js --berth-sample --ref REF --dest DIR [--concurrency C] [--dist DIST]
//                                                                      (one berth sample)
//   node bench/images.js --summarize-profile FILE.cpuprofile                     (top costs)
//
// 1. Builds (once, cached under --cache) an OCI image with one gzip layer per Debian package
//    (`apt-get download` + `dpkg-deb -x`, never installed), BENCH_PACKAGES to change the set.
// 2. Starts Debian's docker-registry on 127.0.0.1 (storage under --work) and pushes the image
//    there with `skopeo copy`.
// 3. Each sample from fresh, empty destinations on the same filesystem, interleaved:
//      berth   RegistryClient.pull() into a new ContentStore, then unpackImage() into a new
//              overlay2 root; a fresh `node` per sample (its start-up + module load is shown
//              apart, not in the totals)
//      skopeo  `skopeo copy docker://… oci:DIR:x`, then `umoci unpack --image DIR:x BUNDLE`
//      docker  `docker pull` (only when a Docker engine answers `docker info`)
//      berth B the same with another build's dist/ (--berth-b), for A/B comparisons
//    and prints median and p90 (nearest rank) per phase, of wall time and of CPU time (user +
//    sys, all threads; /usr/bin/time for the CLIs), the latter steadier on a busy machine.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const zlib = require("node:zlib");
const { spawn, execFileSync } = require("node:child_process");
const { pipeline } = require("node:stream/promises");
const { Transform } = require("node:stream");

const REPO = path.join(__dirname, "..");
const DIST = path.join(REPO, "dist", "src");
const REGISTRY_BIN = "/usr/bin/docker-registry";
const DEFAULT_PACKAGES = "gcc-12 cpp-12 libllvm14 perl-modules-5.36 libpython3.11-stdlib python3.11-minimal";
const REPO_PATH = "berth-bench/big";
const TAG = "1";

function die(msg) {
  process.stderr.write(`bench/images.js: ${msg}\n`);
  process.exit(1);
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]; // nearest rank
  return { median, p90, n };
}

const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

// ---- child processes (tracked, so a signal stops them) -------------------------------------

const children = new Set();

const TIME_BIN = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : "";

/** Runs a command; resolves {code, out, err, ms, cpu}. Output goes to files under ioDir (never
 *  pipes). With cpu: true (and /usr/bin/time present), cpu = user + sys seconds of the command. */
function run(bin, args, { ioDir, env, cwd, cpu = false, timeoutMs = 600_000 } = {}) {
  const timePath = path.join(ioDir, "time");
  if (cpu && TIME_BIN) {
    fs.rmSync(timePath, { force: true });
    args = ["-f", "%U %S", "-o", timePath, bin, ...args];
    bin = TIME_BIN;
  }
  return new Promise((resolve, reject) => {
    const outPath = path.join(ioDir, "out");
    const errPath = path.join(ioDir, "err");
    const fds = [fs.openSync("/dev/null", "r"), fs.openSync(outPath, "w"), fs.openSync(errPath, "w")];
    const t0 = nowMs();
    let child;
    try {
      child = spawn(bin, args, { stdio: fds, env: env ?? process.env, cwd });
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
    children.add(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.once("exit", (code, signal) => {
      const ms = nowMs() - t0;
      clearTimeout(timer);
      children.delete(child);
      const out = fs.readFileSync(outPath, "utf8");
      const err = fs.readFileSync(errPath, "utf8");
      let cpuS;
      if (cpu && TIME_BIN && fs.existsSync(timePath)) {
        const m = /([\d.]+) ([\d.]+)\s*$/.exec(fs.readFileSync(timePath, "utf8"));
        if (m) cpuS = Number(m[1]) + Number(m[2]);
      }
      resolve({ code: code === null ? -1 : code, signal, out, err, ms, cpu: cpuS });
    });
  });
}

async function must(p, what) {
  const r = await p;
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ""}): ${(r.err.trim() || r.out.trim()).slice(-2000)}`);
  }
  return r;
}

// ---- the image ---------------------------------------------------------------------------

function sha256File(p) {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(p, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

function candidateVersions(pkgs) {
  return pkgs.map((p) => {
    const out = execFileSync("apt-cache", ["show", "--no-all-versions", p], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const v = /^Version: (.+)$/m.exec(out);
    if (!v) throw new Error(`apt-cache knows no version of ${p}`);
    return `${p}=${v[1]}`;
  });
}

/** A hashing pass-through that also counts bytes. */
function hasher() {
  const h = crypto.createHash("sha256");
  let size = 0;
  const t = new Transform({
    transform(chunk, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  t.result = () => ({ hex: h.digest("hex"), size });
  return t;
}

/** tar (numeric 0:0 owners, sorted names) of dir → gzip blob in blobsDir; returns descriptors. */
async function makeLayer(dir, blobsDir, ioDir) {
  const names = fs.readdirSync(dir).sort();
  const tmp = path.join(blobsDir, `.tmp-${crypto.randomBytes(6).toString("hex")}`);
  const errPath = path.join(ioDir, `tar-${path.basename(dir)}.err`);
  const errFd = fs.openSync(errPath, "w");
  const child = spawn("tar", ["--numeric-owner", "--owner=0", "--group=0", "--sort=name", "-C", dir, "-cf", "-", "--", ...names], {
    stdio: ["ignore", "pipe", errFd],
  });
  fs.closeSync(errFd);
  children.add(child);
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const raw = hasher();
  const gz = hasher();
  await pipeline(child.stdout, raw, zlib.createGzip({ level: 6 }), gz, fs.createWriteStream(tmp));
  const code = await exited;
  children.delete(child);
  if (code !== 0) throw new Error(`tar of ${dir} failed: ${fs.readFileSync(errPath, "utf8")}`);
  const r = raw.result();
  const g = gz.result();
  fs.renameSync(tmp, path.join(blobsDir, g.hex));
  return { digest: `sha256:${g.hex}`, size: g.size, diffId: `sha256:${r.hex}`, rawSize: r.size };
}

function writeBlob(blobsDir, data) {
  const hex = crypto.createHash("sha256").update(data).digest("hex");
  fs.writeFileSync(path.join(blobsDir, hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** A half-built image under the cache dir (removed if we are stopped). */
let buildTmp = "";

/** The cached OCI layout for the package set (built on first use). Returns {layout, info}. */
async function ensureImage(cacheDir, work) {
  const pkgs = (process.env.BENCH_PACKAGES || DEFAULT_PACKAGES).split(/\s+/).filter(Boolean);
  const versions = candidateVersions(pkgs);
  const key = crypto.createHash("sha256").update(versions.join("\n")).digest("hex").slice(0, 16);
  const dir = path.join(cacheDir, `image-${key}`);
  const infoPath = path.join(dir, "bench-info.json");
  if (fs.existsSync(infoPath)) {
    console.log(`image: cached in ${dir}`);
    return { layout: path.join(dir, "layout"), info: JSON.parse(fs.readFileSync(infoPath, "utf8")) };
  }
  console.log(`image: building from ${versions.join(" ")}`);
  const t0 = nowMs();
  const build = path.join(work, "build");
  const debs = path.join(build, "debs");
  fs.mkdirSync(debs, { recursive: true, mode: 0o755 });
  fs.chmodSync(build, 0o755);
  fs.chmodSync(debs, 0o755); // apt's _apt user must be able to write here
  // apt-get download writes into its cwd; nothing is installed.
  await must(run("apt-get", ["download", "-q", ...versions], { ioDir: build, cwd: debs, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }), "apt-get download");
  const tmpDir = fs.mkdtempSync(path.join(cacheDir, ".build-"));
  buildTmp = tmpDir;
  try {
    const layout = path.join(tmpDir, "layout");
    const blobsDir = path.join(layout, "blobs", "sha256");
    fs.mkdirSync(blobsDir, { recursive: true });
    const layers = [];
    for (const v of versions) {
      const name = v.split("=")[0];
      const deb = fs.readdirSync(debs).find((f) => f.startsWith(`${name}_`) && f.endsWith(".deb"));
      if (!deb) throw new Error(`apt-get download produced no ${name}_*.deb`);
      const root = path.join(build, `rootfs-${name}`);
      fs.mkdirSync(root);
      await must(run("dpkg-deb", ["-x", path.join(debs, deb), root], { ioDir: build }), `dpkg-deb -x ${deb}`);
      const l = await makeLayer(root, blobsDir, build);
      fs.rmSync(root, { recursive: true, force: true });
      layers.push({ ...l, package: v });
      console.log(`  layer ${v}: ${mib(l.rawSize)} tar, ${mib(l.size)} gzip`);
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
        history: layers.map((l) => ({ created_by: `dpkg-deb -x ${l.package}` })),
      }),
    );
    const c = writeBlob(blobsDir, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...c },
        layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.size })),
      }),
    );
    const m = writeBlob(blobsDir, manifest);
    fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
      path.join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": "bench" } }],
      }),
    );
    const info = {
      packages: versions,
      layers: layers.map(({ digest, size, diffId, rawSize, package: p }) => ({ digest, size, diffId, rawSize, package: p })),
      compressed: layers.reduce((a, l) => a + l.size, 0),
      uncompressed: layers.reduce((a, l) => a + l.rawSize, 0),
      manifestDigest: m.digest,
    };
    fs.writeFileSync(path.join(tmpDir, "bench-info.json"), JSON.stringify(info, null, 2));
    fs.renameSync(tmpDir, dir); // a concurrent builder of the same key: the first rename wins
    console.log(`image: built in ${((nowMs() - t0) / 1000).toFixed(1)} s, cached in ${dir}`);
  } catch (e) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    if (!fs.existsSync(infoPath)) throw e;
  } finally {
    buildTmp = "";
    fs.rmSync(build, { recursive: true, force: true });
  }
  return { layout: path.join(dir, "layout"), info: JSON.parse(fs.readFileSync(infoPath, "utf8")) };
}

// ---- the registry ------------------------------------------------------------------------

let registryStop = async () => undefined;

// ---- one berth sample (runs in a fresh node) ---------------------------------------------------

async function berthSample(args) {
  const tStart = nowMs();
  const dist = args.dist ? path.join(path.resolve(args.dist), "src") : DIST;
  const { ContentStore } = require(path.join(dist, "image", "content", "store.js"));
  const { normalizeReference } = require(path.join(dist, "image", "reference.js"));
  const { RegistryClient } = require(path.join(dist, "image", "registry", "client.js"));
  const { unpackImage } = require(path.join(dist, "storage", "overlay", "unpack.js"));
  const tLoaded = nowMs();
  const store = new ContentStore(path.join(args.dest, "store"));
  const client = new RegistryClient();
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  const r = await client.pull(normalizeReference(args.ref), store, args.concurrency ? { concurrency: args.concurrency } : {});
  const t1 = nowMs();
  const c1 = process.cpuUsage();
  const ids = await unpackImage(store, path.join(args.dest, "root"), r.manifest, r.config);
  const t2 = nowMs();
  const c2 = process.cpuUsage();
  const cpu = (a, b) => (b.user - a.user + b.system - a.system) / 1e6;
  // Node start-up until this script ran: process.uptime() covers it.
  const startMs = process.uptime() * 1000 - (nowMs() - tStart);
  process.stdout.write(
    JSON.stringify({
      pull: t1 - t0,
      unpack: t2 - t1,
      pullCpu: cpu(c0, c1),
      unpackCpu: cpu(c1, c2),
      load: tLoaded - tStart,
      start: startMs,
      layers: ids.length,
    }) + "\n",
  );
}

// ---- profile summary -------------------------------------------------------------------------

function summarizeProfile(file, top = 25) {
  const prof = JSON.parse(fs.readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) || 0) + (dt[i] || 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const agg = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const url = (cf.url || "").replace(/^file:\/\//, "").replace(REPO + "/", "");
    const key = `${cf.functionName || "(anonymous)"} ${url ? `${url}:${cf.lineNumber + 1}` : ""}`.trim();
    agg.set(key, (agg.get(key) || 0) + us);
  }
  const rows = [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`profile ${path.basename(file)}: ${(total / 1000).toFixed(0)} ms sampled; top self time:`);
  for (const [k, us] of rows) console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  // Also by file (own code vs node internals vs deps).
  const byFile = new Map();
  for (const [id, us] of self) {
    const url = (byId.get(id).callFrame.url || "(native/idle/gc)").replace(/^file:\/\//, "").replace(REPO + "/", "");
    byFile.set(url, (byFile.get(url) || 0) + us);
  }
  console.log("  by script:");
  for (const [k, us] of [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}

// ---- the benchmark ---------------------------------------------------------------------------

function countFiles(dir) {
  let n = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else n++;
    }
  };
  walk(dir);
  return n;
}

async function dockerReason() {
  let bin;
  try {
    bin = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
  } catch {
    return { skip: "no docker CLI installed" };
  }
  const io = fs.mkdtempSync(path.join(opts.work, "docker-info-"));
  const r = await run(bin, ["info", "--format", "{{.ServerVersion}}"], { ioDir: io, timeoutMs: 20_000 });
  fs.rmSync(io, { recursive: true, force: true });
  if (r.code !== 0) return { skip: `\`docker info\` failed: ${(r.err.trim().split("\n").pop() || "no engine").slice(0, 160)}` };
  return { bin, version: r.out.trim() };
}

let opts;

async function bench() {
  if (process.getuid() !== 0) die("run as root (umoci unpack and berth's unpack chown files)");
  for (const f of [path.join(DIST, "storage", "overlay", "unpack.js"), path.join(DIST, "image", "registry", "client.js")]) {
    if (!fs.existsSync(f)) die(`${f} is missing: run npx tsc -p . first`);
  }
  for (const b of ["skopeo", "umoci", "apt-get", "dpkg-deb", "tar"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${b}`], { stdio: "ignore" });
    } catch {
      die(`${b} is not installed (apt-get install ${b === "apt-get" ? "apt" : b === "dpkg-deb" ? "dpkg" : b})`);
    }
  }
  if (!fs.existsSync(REGISTRY_BIN)) die(`${REGISTRY_BIN} is missing (apt-get install docker-registry)`);
  fs.mkdirSync(opts.cache, { recursive: true });

  const { layout, info } = await ensureImage(opts.cache, opts.work);
  // The tests' registry fixture (compiled beside the sources), its temp dir under our work dir.
  const { startRegistry } = require(path.join(DIST, "..", "test", "fixtures", "registry.js"));
  const reg = await startRegistry({ parentDir: opts.work });
  registryStop = reg.stop;
  const ref = `${reg.host}/${REPO_PATH}:${TAG}`;
  const io = path.join(opts.work, "io");
  fs.mkdirSync(io);
  const tPush = nowMs();
  await must(
    run("skopeo", ["copy", "--quiet", "--insecure-policy", "--dest-tls-verify=false", `oci:${layout}:bench`, `docker://${ref}`], { ioDir: io }),
    "skopeo copy (push)",
  );
  console.log(`registry: docker-registry on ${reg.host}, pushed in ${((nowMs() - tPush) / 1000).toFixed(1)} s`);

  const docker = await dockerReason();
  const versions = {
    skopeo: (await run("skopeo", ["--version"], { ioDir: io })).out.trim(),
    umoci: (await run("umoci", ["--version"], { ioDir: io })).out.trim(),
    registry: (await run(REGISTRY_BIN, ["--version"], { ioDir: io })).out.trim(),
  };
  let berthVer = "unknown";
  try {
    berthVer = execFileSync("git", ["-C", REPO, "describe", "--always", "--dirty"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    /* not a checkout */
  }
  console.log(`image: ${info.layers.length} layers, ${mib(info.compressed)} compressed, ${mib(info.uncompressed)} uncompressed (tar)`);
  if (info.layers.length < 5 || info.uncompressed < 100e6) {
    console.log("  note: smaller than the benchmark's intent (>= 5 layers, >= 100 MB unpacked): check BENCH_PACKAGES");
  }
  for (const l of info.layers) console.log(`  ${l.package.padEnd(42)} ${mib(l.size).padStart(10)} gz ${mib(l.rawSize).padStart(10)} tar`);
  console.log(`berth ${berthVer} (node ${process.version}); ${versions.skopeo}; ${versions.umoci}; ${versions.registry}`);
  if (docker.skip) console.log(`docker pull: skipped, ${docker.skip}`);
  else console.log(`docker: engine ${docker.version}`);
  console.log(`kernel ${require("node:os").release()}, ${require("node:os").cpus().length} CPUs; N=${opts.n} (+${opts.warmup} warm-up), interleaved; all destinations under ${opts.work}${opts.sync ? ", `sync -f` before each contender" : ""}`);

  // Contenders, in the order each round runs them. A "B" build of berth (BENCH_BERTH_DIST_B)
  // runs in the same rounds, for A/B comparisons of a change.
  const berths = [{ name: "berth", dist: "" }];
  if (opts.distB) berths.push({ name: "berth B", dist: opts.distB });
  const rows = new Map();
  const addRow = (name) => {
    rows.set(name, { pull: [], unpack: [], total: [], pullCpu: [], unpackCpu: [], totalCpu: [], start: [] });
    return rows.get(name);
  };
  for (const b of berths) addRow(b.name);
  addRow("skopeo copy + umoci unpack");
  if (!docker.skip) addRow("docker pull");
  const push = (name, x) => {
    const r = rows.get(name);
    for (const [k, v] of Object.entries(x)) if (v !== undefined) r[k].push(v);
  };
  const self = __filename;
  // Before each contender: flush the work filesystem (untimed), so no one's pull pays the fsync
  // stalls of the previous contender's 240 MB of dirty pages.
  const settle = async () => {
    if (opts.sync) await run("sync", ["-f", opts.work], { ioDir: io });
  };
  for (let i = 0; i < opts.warmup + opts.n; i++) {
    const counted = i >= opts.warmup;
    const line = [];
    const dirs = [];
    for (const bv of berths) {
      const bd = path.join(opts.work, `${bv.name.replace(/\W+/g, "-")}-${i}`);
      fs.mkdirSync(bd);
      dirs.push(bd);
      const nodeArgs = [];
      if (opts.profile && i === opts.warmup) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${opts.profile}`, `--cpu-prof-name=${bv.name.replace(/\W+/g, "-")}.cpuprofile`, "--cpu-prof-interval=500");
      await settle();
      const extra = [...(opts.concurrency ? ["--concurrency", String(opts.concurrency)] : []), ...(bv.dist ? ["--dist", bv.dist] : [])];
      const br = await must(run(process.execPath, [...nodeArgs, self, "--berth-sample", "--ref", ref, "--dest", bd, ...extra], { ioDir: io }), `${bv.name} sample`);
      const b = JSON.parse(br.out.trim().split("\n").pop()); // times in ms, CPU in s
      if (b.layers !== info.layers.length) throw new Error(`${bv.name} unpacked ${b.layers} layers, expected ${info.layers.length}`);
      if (counted) {
        push(bv.name, {
          pull: b.pull,
          unpack: b.unpack,
          total: b.pull + b.unpack,
          pullCpu: b.pullCpu * 1000,
          unpackCpu: b.unpackCpu * 1000,
          totalCpu: (b.pullCpu + b.unpackCpu) * 1000,
          start: b.start + b.load,
        });
      }
      line.push(`${bv.name} ${b.pull.toFixed(0)}+${b.unpack.toFixed(0)}`);
    }
    // peer: skopeo + umoci
    const pd = path.join(opts.work, `peer-${i}`);
    fs.mkdirSync(pd);
    dirs.push(pd);
    await settle();
    const sk = await must(run("skopeo", ["copy", "--quiet", "--insecure-policy", "--src-tls-verify=false", `docker://${ref}`, `oci:${pd}/oci:x`], { ioDir: io, cpu: true }), "skopeo copy");
    const um = await must(run("umoci", ["unpack", "--image", `${pd}/oci:x`, `${pd}/bundle`], { ioDir: io, cpu: true }), "umoci unpack");
    if (counted) {
      push("skopeo copy + umoci unpack", {
        pull: sk.ms,
        unpack: um.ms,
        total: sk.ms + um.ms,
        pullCpu: sk.cpu !== undefined ? sk.cpu * 1000 : undefined,
        unpackCpu: um.cpu !== undefined ? um.cpu * 1000 : undefined,
        totalCpu: sk.cpu !== undefined && um.cpu !== undefined ? (sk.cpu + um.cpu) * 1000 : undefined,
      });
    }
    line.push(`skopeo+umoci ${sk.ms.toFixed(0)}+${um.ms.toFixed(0)}`);
    if (i === 0) {
      // Sanity: both sides hold the same number of non-directory entries (berth: summed over layer diffs).
      const ovl = path.join(dirs[0], "root", "overlay");
      let berthFiles = 0;
      for (const d of fs.readdirSync(ovl)) if (d !== "l") berthFiles += countFiles(path.join(ovl, d, "diff"));
      const umociFiles = countFiles(path.join(pd, "bundle", "rootfs"));
      console.log(`check: berth's layer diffs hold ${berthFiles} non-directory entries, umoci's rootfs ${umociFiles}`);
    }
    if (!docker.skip) {
      await run(docker.bin, ["rmi", "-f", ref], { ioDir: io });
      await settle();
      const dk = await must(run(docker.bin, ["pull", "-q", ref], { ioDir: io }), "docker pull");
      await run(docker.bin, ["rmi", "-f", ref], { ioDir: io });
      if (counted) push("docker pull", { total: dk.ms });
      line.push(`docker pull ${dk.ms.toFixed(0)}`);
    }
    const tag = counted ? `sample ${i - opts.warmup + 1}/${opts.n}` : `warm-up ${i + 1}/${opts.warmup}`;
    console.error(`${tag} (pull+unpack ms): ${line.join("; ")}`);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }

  const cell = (xs, w) => {
    if (!xs.length) return "-".padStart(w);
    const st = stats(xs);
    return `${(st.median / 1000).toFixed(2)} / ${(st.p90 / 1000).toFixed(2)}`.padStart(w);
  };
  console.log("");
  console.log(`wall seconds, median / p90 (N=${opts.n})   pull            unpack           total`);
  for (const [name, r] of rows) console.log(`${name.padEnd(36)} ${cell(r.pull, 13)}    ${cell(r.unpack, 13)}    ${cell(r.total, 13)}`);
  if (TIME_BIN) {
    console.log(`cpu seconds (user+sys), median / p90     pull            unpack           total`);
    for (const [name, r] of rows) if (r.totalCpu.length) console.log(`${name.padEnd(36)} ${cell(r.pullCpu, 13)}    ${cell(r.unpackCpu, 13)}    ${cell(r.totalCpu, 13)}`);
  }
  const st = stats(rows.get("berth").start);
  console.log(`(berth figures exclude node start-up + module load, median ${st.median.toFixed(0)} ms; skopeo, umoci and docker figures are whole CLI runs)`);
  const bt = stats(rows.get("berth").total).median;
  const peers = [...rows].filter(([name]) => !name.startsWith("berth")).map(([name, r]) => [name, stats(r.total).median]);
  peers.sort((a, b) => a[1] - b[1]);
  const [fname, fms] = peers[0];
  console.log(
    bt <= fms
      ? `berth is no slower than the fastest peer (${fname}): ${(bt / 1000).toFixed(2)} s vs ${(fms / 1000).toFixed(2)} s median total`
      : `berth is SLOWER than the fastest peer (${fname}): ${(bt / 1000).toFixed(2)} s vs ${(fms / 1000).toFixed(2)} s median total (${((bt / fms - 1) * 100).toFixed(0)}% more)`,
  );
  if (opts.profile) {
    for (const f of fs.readdirSync(opts.profile).filter((f) => f.endsWith(".cpuprofile"))) {
      console.log("");
      summarizeProfile(path.join(opts.profile, f));
    }
  }
}

function parseArgs(argv) {
  const o = { work: "", cache: "", n: 5, warmup: 1, profile: "", berthSample: false, ref: "", dest: "", concurrency: 0, summarize: "", dist: "", distB: "", sync: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--work") o.work = val();
    else if (a === "--cache") o.cache = val();
    else if (a === "--n") o.n = Number(val());
    else if (a === "--warmup") o.warmup = Number(val());
    else if (a === "--profile") o.profile = path.resolve(val());
    else if (a === "--berth-sample") o.berthSample = true;
    else if (a === "--ref") o.ref = val();
    else if (a === "--dest") o.dest = val();
    else if (a === "--concurrency") o.concurrency = Number(val());
    else if (a === "--summarize-profile") o.summarize = val();
    else if (a === "--dist") o.dist = val();
    else if (a === "--berth-b") o.distB = path.resolve(val());
    else if (a === "--no-sync") o.sync = false;
    else die(`unexpected argument ${a}`);
  }
  return o;
}

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill("SIGKILL");
  await registryStop().catch(() => undefined);
  if (buildTmp) fs.rmSync(buildTmp, { recursive: true, force: true });
  process.exit(code);
}

opts = parseArgs(process.argv.slice(2));
if (opts.summarize) {
  summarizeProfile(opts.summarize);
} else if (opts.berthSample) {
  if (!opts.ref || !opts.dest) die("--berth-sample needs --ref and --dest");
  berthSample(opts).catch((e) => die(e.stack || e.message));
} else {
  if (!opts.work || !opts.cache) die("--work and --cache are required");
  if (!Number.isInteger(opts.n) || opts.n < 1) die("--n must be a positive integer");
  if (!Number.isInteger(opts.warmup) || opts.warmup < 0) die("--warmup must be a non-negative integer");
  if (opts.profile) fs.mkdirSync(opts.profile, { recursive: true });
  process.on("SIGINT", () => void shutdown(130));
  process.on("SIGTERM", () => void shutdown(143));
  bench()
    .then(() => shutdown(0))
    .catch((e) => {
      if (stopping) return; // a signal: the children were killed on purpose
      process.stderr.write(`bench/images.js: ${e.stack || e.message}\n`);
      return shutdown(1);
    });
}
