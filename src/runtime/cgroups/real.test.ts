// Real-kernel lifecycle test (root only). Everything lives under
// <hierarchy>/berth/berth-test-cg-<random>; the shared "berth" parents are left
// in place, everything below them that the test made is removed in after().
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCgroupManager, detectLayout, loadCgroupManager, nodeCgroupFs } from './index';

const isRoot = process.getuid?.() === 0;
const rel = `/berth/berth-test-cg-${randomBytes(4).toString('hex')}`;
let child: ChildProcess | undefined;
let dirs: string[] = [];

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const d of dirs) {
    // thaw first: a frozen task would keep the cgroup busy forever
    for (const [f, v] of [['freezer.state', 'THAWED'], ['cgroup.freeze', '0']]) {
      try {
        if (fs.existsSync(path.join(d, f))) fs.writeFileSync(path.join(d, f), v);
      } catch {
        /* best effort */
      }
    }
  }
  if (dirs.length) await loadCgroupManager({ version: 1, path: rel, dirs: Object.fromEntries(dirs.map((d, i) => [String(i), d])) }).destroy();
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} left behind`);
});

function procState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

test('real cgroups: create, join, pids, freeze, thaw, killAll, destroy', { skip: !isRoot && 'needs root' }, async () => {
  const layout = detectLayout();
  const m = createCgroupManager(layout, rel);
  dirs = Object.values(m.dirs);
  assert.ok(dirs.length > 0);
  for (const d of dirs) assert.ok(d.includes('/berth/berth-test-cg-'), d);

  m.create();
  for (const d of dirs) assert.ok(fs.existsSync(d), `${d} not created`);

  child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = child.pid!;
  const exited = new Promise<NodeJS.Signals | null>((r) => child!.once('exit', (_code, sig) => r(sig)));
  for (const f of m.procsFiles()) nodeCgroupFs.writeFile(f, String(pid));
  assert.deepEqual(m.pids(), [pid]);
  const own = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  assert.ok(own.split('\n').filter(Boolean).every((l) => l.includes(':name=') || l.endsWith(rel)), own);

  await m.freeze();
  const freezer = dirs.find((d) => fs.existsSync(path.join(d, 'freezer.state')));
  if (freezer) assert.equal(fs.readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim(), 'FROZEN');
  else assert.match(fs.readFileSync(path.join(m.dirs.unified, 'cgroup.events'), 'utf8'), /^frozen 1$/m);
  // v1-frozen tasks show as "D" in /proc; the cgroup2 freezer parks them in "S".
  if (freezer) assert.equal(procState(pid), 'D');
  else assert.notEqual(procState(pid), 'R');

  await m.thaw();
  if (freezer) assert.equal(fs.readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim(), 'THAWED');
  assert.equal(procState(pid), 'S');

  // A manager rebuilt from the saved record (as kill/delete would) does the rest.
  const again = loadCgroupManager(JSON.parse(JSON.stringify(m.save())));
  await again.killAll('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.deepEqual(again.pids(), []);

  await again.destroy();
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} still exists`);
  for (const d of dirs) assert.ok(fs.existsSync(path.dirname(d)), 'berth parent kept');
});
