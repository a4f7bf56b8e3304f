// cgroups: the container's processes (init and exec'd ones) live in /berth/<id> of every
// hierarchy, the cgroup is removed with the container, and a cgroup mount shows the
// container's own cgroup.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupRuntime, runtimeCli } from "../fixtures/runtime";
import { assertNothingLeft, bundle, CGROUP_ROOT, cgroupDirs, container, execSh, ok, runSh, shOut, waitFor } from "./helpers";

after(() => cleanupRuntime());

const procsOf = (dir: string): number[] =>
  fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);

/** The v1 hierarchies mounted on this host (dirs of /sys/fs/cgroup with a cgroup.procs). */
function hierarchies(): string[] {
  return fs
    .readdirSync(CGROUP_ROOT)
    .filter((h) => fs.existsSync(path.join(CGROUP_ROOT, h, "cgroup.procs")) && !fs.lstatSync(path.join(CGROUP_ROOT, h)).isSymbolicLink());
}

test("cgroup: the init is in /berth/<id> of the pids and memory hierarchies (and every other one)", (t) => {
  const c = container(t, "sleep 100");
  for (const h of ["pids", "memory"]) {
    const dir = path.join(CGROUP_ROOT, h, "berth", c.id);
    assert.deepEqual(procsOf(dir), [c.pid], `${dir}/cgroup.procs`);
  }
  const dirs = cgroupDirs(c.id);
  for (const h of hierarchies()) {
    if (h === "systemd") continue; // a named hierarchy without controllers: runtimes differ
    assert.ok(dirs.includes(path.join(CGROUP_ROOT, h, "berth", c.id)), `a cgroup in ${h}`);
  }
  // And the kernel agrees, from the process's side.
  assert.match(fs.readFileSync(`/proc/${c.pid}/cgroup`, "utf8"), new RegExp(`^\\d+:pids:/berth/${c.id}$`, "m"));
});

test("cgroup: a created (not yet started) container's init is already in its cgroup", (t) => {
  const c = container(t, "sleep 100", { start: false });
  assert.deepEqual(procsOf(path.join(CGROUP_ROOT, "pids", "berth", c.id)), [c.pid]);
});

test("cgroup: children and exec'd processes join the container's cgroup", async (t) => {
  const c = container(t, "sleep 100 & touch /tmp/ready; wait");
  await waitFor("the child", () => fs.existsSync(path.join(c.b.rootfs, "tmp", "ready")));
  const dir = path.join(CGROUP_ROOT, "pids", "berth", c.id);
  assert.equal(procsOf(dir).length, 2);
  const out = ok(execSh(c.id, "cat /proc/self/cgroup | grep :pids: ; cat /sys/fs/cgroup/pids/pids.current 2>/dev/null; echo $$")).stdout;
  assert.match(out, new RegExp(`:pids:/berth/${c.id}$`, "m"));
  assert.equal(fs.readFileSync(path.join(dir, "pids.current"), "utf8").trim(), "2", "the exec'd process has left again");
});

test("cgroup: delete removes the container's cgroup from every hierarchy", (t) => {
  const c = container(t, "sleep 100");
  assert.ok(cgroupDirs(c.id).length > 0);
  ok(runtimeCli(["delete", "--force", c.id]));
  assert.deepEqual(cgroupDirs(c.id), []);
});

test("cgroup: a foreground run removes its cgroup when the process exits", (t) => {
  const res = runSh(t, "cat /proc/self/cgroup | grep -c /berth/");
  ok(res);
  assert.ok(Number(res.stdout) >= 1);
  assertNothingLeft(res.bundle.id);
});

test("cgroup: the parent /berth cgroup is kept (shared by all containers)", (t) => {
  const res = runSh(t, "true");
  ok(res);
  assert.ok(fs.existsSync(path.join(CGROUP_ROOT, "pids", "berth")));
});

test("cgroup: a nested cgroupsPath (/berth/<id>/sub) is created, and its leaf removed by delete", (t) => {
  const b = bundle(t, {
    args: ["sleep", "100"],
    modify: (s) => {
      s.linux.cgroupsPath = `/berth/${s.linux.cgroupsPath!.split("/").pop()}/sub`;
    },
  });
  // runc (and berth) remove only the leaf: the intermediate /berth/<id> is the caller's.
  t.after(() => {
    for (const dir of cgroupDirs(b.id)) {
      for (const d of [path.join(dir, "sub"), dir]) if (fs.existsSync(d)) fs.rmdirSync(d);
    }
  });
  ok(runtimeCli(["run", "-d", "--bundle", b.dir, b.id]));
  const pid = (JSON.parse(ok(runtimeCli(["state", b.id])).stdout) as { pid: number }).pid;
  assert.deepEqual(procsOf(path.join(CGROUP_ROOT, "pids", "berth", b.id, "sub")), [pid]);
  ok(runtimeCli(["delete", "--force", b.id]));
  for (const dir of cgroupDirs(b.id)) assert.equal(fs.existsSync(path.join(dir, "sub")), false, `${dir}/sub removed`);
});

test("cgroup mount: /sys/fs/cgroup inside shows the container's own cgroup (read-only)", (t) => {
  const out = shOut(t, "cat /sys/fs/cgroup/pids/cgroup.procs; (echo 1 > /sys/fs/cgroup/pids/pids.max) 2>&1 | grep -c Read-only", {
    modify: (s) => {
      s.mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] });
    },
  });
  const lines = out.trim().split("\n");
  assert.ok(lines.includes("1"), `PID 1 listed in its own cgroup: ${out}`);
  assert.equal(lines[lines.length - 1], "1", "the cgroup mount is read-only");
});

test("resources: memory.limit and pids.limit are written to the container's cgroup", (t) => {
  const c = container(t, "sleep 100", {
    modify: (s) => {
      s.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } };
    },
  });
  assert.equal(fs.readFileSync(path.join(CGROUP_ROOT, "memory", "berth", c.id, "memory.limit_in_bytes"), "utf8").trim(), String(64 * 1024 * 1024));
  assert.equal(fs.readFileSync(path.join(CGROUP_ROOT, "pids", "berth", c.id, "pids.max"), "utf8").trim(), "20");
});

test("resources: pids.limit really limits forks in the container", async (t) => {
  const c = container(t, "for i in $(seq 20); do sleep 100 & done; wait", {
    modify: (s) => {
      s.linux.resources = { pids: { limit: 8 } };
    },
  });
  const dir = path.join(CGROUP_ROOT, "pids", "berth", c.id);
  // pids.events counts the forks refused at the limit.
  const refused = (): number => Number(fs.readFileSync(path.join(dir, "pids.events"), "utf8").match(/^max (\d+)/m)?.[1] ?? 0);
  await waitFor("a fork to be refused", () => refused() > 0, 5000);
  assert.ok(Number(fs.readFileSync(path.join(dir, "pids.current"), "utf8")) <= 8);
  if (fs.existsSync(path.join(dir, "pids.peak"))) assert.ok(Number(fs.readFileSync(path.join(dir, "pids.peak"), "utf8")) <= 8);
});

test("devices: deny-all rules (as in runc's default spec) keep the default devices usable and block a host disk", (t) => {
  // The host's root filesystem device: reading it (read-only) is what a container must not do.
  const dev = fs.statSync("/").dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const out = shOut(
    t,
    `echo x > /dev/null && head -c 2 /dev/zero | wc -c; mknod /tmp/disk b ${major} ${minor} && (head -c 512 /tmp/disk 2>/dev/null | wc -c; head -c 1 /tmp/disk 2>&1 | grep -c 'not permitted')`,
    {
      modify: (s) => {
        s.linux.resources = { devices: [{ allow: false, access: "rwm" }] };
      },
    },
  );
  assert.equal(out, "2\n0\n1\n", "default devices work; the disk cannot be read");
});
