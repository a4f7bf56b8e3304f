// Real-kernel proof for the v1 blkio and devices controllers (root, legacy or
// hybrid host). The block device is a loop device over a temp file, made with
// `losetup --find --show` and detached in after() (only that one).
import { describe } from "../runtime/helpers";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Bundle, makeBundle, TestSpec } from "../fixtures/busybox";
import { cleanupRuntime, runtimeCli, testRoot } from "../fixtures/runtime";
import { detectLayout, loadCgroupManager } from "../../src/runtime/cgroups";
import type { LinuxResources } from "../../src/runtime/spec/types";

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const layout = isRoot ? detectLayout() : undefined;
const hasLosetup = (() => {
  try {
    execFileSync("losetup", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const skip = !isRoot ? "needs root" : layout!.mode === "unified" ? "needs a cgroup v1 (legacy or hybrid) host" : false;
const skipBlk = skip || (!hasLosetup ? "needs losetup (util-linux)" : !layout!.v1.has("blkio") ? "no blkio hierarchy" : false);

const bundles: Bundle[] = [];
const loopFile = path.join(os.tmpdir(), `berth-test-loop-${randomBytes(4).toString("hex")}.img`);
let loopDev: string | undefined;
let loopNum: { major: number; minor: number } | undefined;

before(() => {
  if (skipBlk) return;
  fs.writeFileSync(loopFile, Buffer.alloc(4 * MiB, 0x5a));
  loopDev = execFileSync("losetup", ["--find", "--show", loopFile], { encoding: "utf8" }).trim();
  const rdev = fs.statSync(loopDev).rdev;
  loopNum = { major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
});

after(() => {
  try {
    cleanupRuntime();
    for (const b of bundles) b.cleanup();
  } finally {
    // Detach only the device made here, and only while it still backs our file.
    if (loopDev !== undefined) {
      const backing = execFileSync("losetup", ["--noheadings", "--output", "BACK-FILE", loopDev], { encoding: "utf8" }).trim();
      if (backing === loopFile || backing.startsWith(loopFile)) execFileSync("losetup", ["--detach", loopDev]);
    }
    fs.rmSync(loopFile, { force: true });
  }
  for (const b of bundles) {
    for (const h of fs.readdirSync("/sys/fs/cgroup")) {
      assert.equal(fs.existsSync(path.join("/sys/fs/cgroup", h, "berth", b.id)), false, `cgroup ${h}/berth/${b.id} left behind`);
    }
  }
  if (loopDev !== undefined) assert.doesNotMatch(execFileSync("losetup", ["-a"], { encoding: "utf8" }), new RegExp(loopFile.replace(/[.]/g, "\\.")));
});

function bundle(script: string, resources: LinuxResources, modify?: (s: TestSpec) => void): Bundle {
  const b = makeBundle({
    args: ["sh", "-c", script],
    modify: (s) => {
      s.linux.resources = resources as Record<string, unknown>;
      modify?.(s);
    },
  });
  bundles.push(b);
  return b;
}

test("blkio: dd with O_DIRECT from a loop device throttled to 1 MiB/s reads at 1 MiB/s ± 20%", { skip: skipBlk }, (t) => {
  const { major, minor } = loopNum!;
  // 48 × 64 KiB = 3 MiB; the time is taken inside the container (/proc/uptime, 10 ms steps).
  const b = bundle(
    "read s _ < /proc/uptime; dd if=/dev/berth-blk of=/dev/null bs=64k count=48 iflag=direct 2>/dev/null; read e _ < /proc/uptime; echo $s $e",
    {
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "b", major, minor, access: "r" }],
      blockIO: { throttleReadBpsDevice: [{ major, minor, rate: MiB }] },
    },
    (s) => void (s.linux["devices"] = [{ path: "/dev/berth-blk", type: "b", major, minor, fileMode: 0o640, uid: 0, gid: 0 }]),
  );
  const r = runtimeCli(["run", "--keep", "--bundle", b.dir, b.id], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, describe(r));
  const [start, end] = r.stdout.trim().split(" ").map(Number);
  const seconds = end - start;
  const rate = (3 * MiB) / seconds / MiB;
  t.diagnostic(`read 3 MiB in ${seconds.toFixed(2)} s: ${rate.toFixed(3)} MiB/s`);
  assert.ok(rate >= 0.8 && rate <= 1.2, `rate ${rate} MiB/s`);
  const st = JSON.parse(fs.readFileSync(path.join(testRoot(), b.id, "state.json"), "utf8"));
  const m = loadCgroupManager(st.cgroup);
  assert.equal(fs.readFileSync(path.join(m.dirs.blkio, "blkio.throttle.read_bps_device"), "utf8").trim(), `${major}:${minor} ${MiB}`);
  const read = m.stats().blkio.ioServiceBytesRecursive?.find((e) => e.major === major && e.minor === minor && e.op === "Read");
  assert.equal(read?.value, 3 * MiB, "stats count the 3 MiB read");
});

test("blkio: unthrottled, the same read is much faster (the limit, not the device, set the pace)", { skip: skipBlk }, () => {
  const { major, minor } = loopNum!;
  const b = bundle(
    "read s _ < /proc/uptime; dd if=/dev/berth-blk of=/dev/null bs=64k count=48 iflag=direct 2>/dev/null; read e _ < /proc/uptime; echo $s $e",
    { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "b", major, minor, access: "r" }] },
    (s) => void (s.linux["devices"] = [{ path: "/dev/berth-blk", type: "b", major, minor, fileMode: 0o640 }]),
  );
  const r = runtimeCli(["run", "--bundle", b.dir, b.id]);
  assert.equal(r.code, 0, describe(r));
  const [start, end] = r.stdout.trim().split(" ").map(Number);
  assert.ok(end - start < 1, `${end - start} s`);
});

test("devices: a device the rules deny cannot be opened or created (Operation not permitted); runc's default devices stay usable", { skip }, () => {
  // Rules: allow all, then deny /dev/kmsg (c 1:11) and /dev/null (c 1:3). As in runc, the default
  // device list is appended to every container's rules, so /dev/null stays usable; kmsg does not.
  const b = bundle(
    "echo x > /kmsg-node; echo open=$?; mknod /tmp/n c 1 11; echo mknod=$?; echo x > /dev/null && echo null-ok; mknod /tmp/z c 1 5 && head -c 3 /tmp/z | wc -c",
    {
      devices: [
        { allow: true, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 11, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 3, access: "rwm" },
      ],
    },
  );
  // A node for the denied device, made on the host (outside the container's devices cgroup).
  execFileSync("mknod", ["-m", "0600", path.join(b.rootfs, "kmsg-node"), "c", "1", "11"]);
  const r = runtimeCli(["run", "--bundle", b.dir, b.id]);
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stdout, "open=1\nmknod=1\nnull-ok\n3\n");
  assert.match(r.stderr, /kmsg-node: Operation not permitted/);
  assert.match(r.stderr, /mknod: \/tmp\/n: Operation not permitted/);
});

test("devices: with the runc/Docker default list (deny all) the default devices work and mknod is allowed, but opening another device is not", { skip }, () => {
  const b = bundle("echo x > /dev/null && head -c 2 /dev/zero | wc -c; mknod /tmp/k c 1 11 && echo made; cat /tmp/k; echo cat=$?", { devices: [{ allow: false, access: "rwm" }] });
  const r = runtimeCli(["run", "--bundle", b.dir, b.id]);
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stdout, "2\nmade\ncat=1\n");
  assert.match(r.stderr, /can't open '\/tmp\/k': Operation not permitted/);
});

test("devices: update allows a device to a running container (only the difference is written); reading it then works", { skip: skipBlk }, async () => {
  const { major, minor } = loopNum!;
  // Devices of linux.devices are allowed automatically (as runc does): make this one with
  // mknod inside (mknod of any node is in the default allow list) so only update can grant it.
  const b = bundle("sleep 60", { devices: [{ allow: false, access: "rwm" }] });
  assert.equal(runtimeCli(["create", "--bundle", b.dir, b.id]).code, 0);
  assert.equal(runtimeCli(["start", b.id]).code, 0);
  const mk = runtimeCli(["exec", b.id, "mknod", "/dev/berth-blk", "b", String(major), String(minor)]);
  assert.equal(mk.code, 0, describe(mk));
  const m = loadCgroupManager(JSON.parse(fs.readFileSync(path.join(testRoot(), b.id, "state.json"), "utf8")).cgroup);
  const read = () => runtimeCli(["exec", b.id, "dd", "if=/dev/berth-blk", "of=/dev/null", "bs=4k", "count=1"]);
  const before = read();
  assert.notEqual(before.code, 0, describe(before));
  assert.match(before.stderr, /Operation not permitted/);
  await m.apply({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "b", major, minor, access: "r" }] }, { update: true });
  assert.match(fs.readFileSync(path.join(m.dirs.devices, "devices.list"), "utf8"), new RegExp(`^b ${major}:${minor} r$`, "m"));
  const after = read();
  assert.equal(after.code, 0, describe(after));
});
