#!/usr/bin/env node
// Cost of turning Docker's default seccomp profile into a BPF program (src/runtime/seccomp):
// median (and p90) over N runs, after a warm-up, of
//   profile        dockerDefaultProfile(): expanding includes/excludes for the default caps
//   compile        compileSeccomp(): the compiler alone
//   cached, cold   compileCached() with an empty cache: hash + compile (+ write when on disk)
//   cached, disk   compileCached() with the entry only on disk (a new berth process)
//   cached, warm   compileCached() hitting the in-memory map
//   node bench/seccomp.js            (BENCH_N=100 by default; needs `npm run build`)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const dist = path.join(__dirname, '..', 'dist', 'src', 'runtime', 'seccomp');
const { compileSeccomp } = require(path.join(dist, 'compile.js'));
const { compileCached, clearSeccompMemoryCache } = require(path.join(dist, 'cache.js'));
const { dockerDefaultProfile, DOCKER_DEFAULT_CAPABILITIES } = require(path.join(dist, 'default-profile.js'));

const N = Number(process.env.BENCH_N || 100);
const WARMUP = 50;
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
const p90 = (xs) => sorted(xs)[Math.floor(xs.length * 0.9)];

function measure(name, setup, fn) {
  for (let i = 0; i < WARMUP; i++) {
    setup();
    fn();
  }
  const ms = [];
  for (let i = 0; i < N; i++) {
    setup();
    const t = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(`${name.padEnd(28)} median ${median(ms).toFixed(3)} ms   p90 ${p90(ms).toFixed(3)} ms`);
}

const caps = [...DOCKER_DEFAULT_CAPABILITIES];
const profile = dockerDefaultProfile({ capabilities: caps });
const compiled = compileSeccomp(profile);
console.log(`Docker default profile, default caps: ${profile.syscalls.length} rules, ` +
  `${profile.syscalls.reduce((n, s) => n + s.names.length, 0)} names, ${profile.architectures.join(' ')}`);
console.log(`program: ${compiled.program.length / 8} instructions (${compiled.program.length} bytes), flags ${compiled.flags}; N=${N}`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-bench-'));
const cacheDir = path.join(dir, 'cache');
try {
  const nothing = () => {};
  measure('profile (dockerDefault)', nothing, () => dockerDefaultProfile({ capabilities: caps }));
  measure('compile', nothing, () => compileSeccomp(profile));
  measure('cached, cold (memory)', clearSeccompMemoryCache, () => compileCached(profile));
  measure('cached, cold (disk write)', () => {
    clearSeccompMemoryCache();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }, () => compileCached(profile, cacheDir));
  compileCached(profile, cacheDir);
  measure('cached, disk hit', clearSeccompMemoryCache, () => compileCached(profile, cacheDir));
  compileCached(profile);
  measure('cached, warm (memory)', nothing, () => compileCached(profile));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
