#!/usr/bin/env node
// Cost of creating and configuring a container's cgroups (the hot path of `run`):
// create() + apply() of a typical Docker set of limits, and destroy(), medians over N.
//   node bench/cgroups.js            (as root; BENCH_N=100 by default)
'use strict';
const path = require('path');
const dist = path.join(__dirname, '..', 'dist', 'src', 'runtime', 'cgroups', 'index.js');
const { createCgroupManager, detectLayout } = require(dist);

const N = Number(process.env.BENCH_N || 100);
// What `docker run -m 256m --memory-swap 512m --cpus 1.5 --cpu-shares 512 --pids-limit 100 --blkio-weight 500` sets.
const RESOURCES = {
  memory: { limit: 256 << 20, swap: 512 << 20 },
  cpu: { shares: 512, quota: 150000, period: 100000 },
  pids: { limit: 100 },
  blockIO: { weight: 500 },
  devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main() {
  if (process.getuid() !== 0) throw new Error('run as root');
  const layout = detectLayout();
  const create = [], apply = [], destroy = [];
  let swapOk = true;
  for (let i = 0; i < N + 3; i++) {
    const cg = createCgroupManager(layout, `/berth/berth-bench-cg-${process.pid}-${i}`);
    let t = process.hrtime.bigint();
    cg.create();
    const t1 = process.hrtime.bigint();
    try {
      await cg.apply(swapOk ? RESOURCES : { ...RESOURCES, memory: { limit: RESOURCES.memory.limit } });
    } catch (e) {
      // Hosts without swap accounting refuse a swap limit: measure without it, and say so.
      if (swapOk && /swap/i.test(e.message)) {
        swapOk = false;
        console.error(`note: ${e.message.split('\n')[0]} — measuring without the swap limit`);
        await cg.apply({ ...RESOURCES, memory: { limit: RESOURCES.memory.limit } });
      } else {
        await cg.destroy();
        throw e;
      }
    }
    const t2 = process.hrtime.bigint();
    await cg.destroy();
    const t3 = process.hrtime.bigint();
    if (i < 3) continue; // warm-up
    create.push(Number(t1 - t) / 1e6);
    apply.push(Number(t2 - t1) / 1e6);
    destroy.push(Number(t3 - t2) / 1e6);
  }
  const total = create.map((c, i) => c + apply[i]);
  console.log(`cgroup layout: ${layout.mode}; N=${N}`);
  console.log('phase                          median ms  p90 ms');
  for (const [name, xs] of [['create (mkdir all hierarchies)', create], ['apply (typical Docker limits)', apply], ['create + apply', total], ['destroy', destroy]]) {
    console.log(`${name.padEnd(30)} ${median(xs).toFixed(3).padStart(9)}  ${p90(xs).toFixed(3).padStart(6)}`);
  }
}
main().catch((e) => {
  console.error(`bench/cgroups.js: ${e.message}`);
  process.exit(1);
});
