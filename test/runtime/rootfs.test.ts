// The container's filesystem: root.readonly, masked and read-only paths, bind/rbind/tmpfs
// mounts and their options, propagation, --no-pivot, /dev (default devices, symlinks,
// linux.devices), and symlinks in the image that try to point mounts outside the rootfs.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { cleanupRuntime, runtimeBin, runtimeCli, testRoot } from "../fixtures/runtime";
import { bundle, describe, execSh, hostMountPoints, ok, runSh, shOut, TestCtx, tmpDir, waitFor } from "./helpers";

after(() => cleanupRuntime());

/** Mount options (field 4 of /proc/mounts) of the mount at `mountpoint` in `procMounts`. */
function mountOpts(procMounts: string, mountpoint: string): string[] | undefined {
  const line = procMounts
    .split("\n")
    .reverse() // the last mount on a path is the visible one
    .find((l) => l.split(" ")[1] === mountpoint);
  return line?.split(" ")[3]?.split(",");
}

test("root.readonly: the root filesystem cannot be written, /dev (a tmpfs) still can", (t) => {
  const out = shOut(t, "touch /x 2>&1; echo rc=$?; touch /dev/x && echo dev-ok", {
    modify: (s) => {
      s.root.readonly = true;
    },
  });
  assert.match(out, /Read-only file system/);
  assert.match(out, /rc=1/);
  assert.match(out, /dev-ok/);
});

test("root.readonly false: the root filesystem is writable and writes reach the bundle's rootfs", (t) => {
  const res = runSh(t, "echo hi > /written-inside && echo ok");
  ok(res);
  assert.equal(fs.readFileSync(path.join(res.bundle.rootfs, "written-inside"), "utf8"), "hi\n");
});

test("maskedPaths: masked files read empty, masked directories are empty and read-only", (t) => {
  const hostKeys = fs.readFileSync("/proc/keys", "utf8");
  const out = shOut(
    t,
    "echo keys=$(wc -c < /proc/keys); echo timer=$(wc -c < /proc/timer_list); echo fw=[$(ls -A /sys/firmware)]; " +
      "echo host=[$(cat /etc/hostname)]; touch /sys/firmware/x 2>/dev/null && echo fw-writable || echo fw-ro",
    {
      modify: (s) => {
        s.linux.maskedPaths = [...(s.linux.maskedPaths ?? []), "/etc/hostname"];
      },
    },
  );
  assert.ok(hostKeys.length > 0, "sanity: the host's /proc/keys has content");
  assert.equal(out, "keys=0\ntimer=0\nfw=[]\nhost=[]\nfw-ro\n");
});

test("maskedPaths: a path missing from the rootfs (e.g. /proc/kcore here) is skipped, not an error", (t) => {
  const out = shOut(t, "echo ran", {
    modify: (s) => {
      s.linux.maskedPaths = ["/proc/kcore", "/berth-test-no-such-path", "/proc/keys"];
    },
  });
  assert.equal(out, "ran\n");
});

test("readonlyPaths: /proc/sys and a listed rootfs directory are read-only", (t) => {
  const out = shOut(
    t,
    "echo x 2>&1 > /proc/sys/kernel/domainname; echo rc=$?; touch /var/x 2>&1; echo rc=$?; touch /x && echo root-rw",
    {
      modify: (s) => {
        s.linux.readonlyPaths = [...(s.linux.readonlyPaths ?? []), "/var"];
      },
    },
  );
  const lines = out.trim().split("\n");
  assert.match(lines[0] ?? "", /Read-only file system/);
  assert.equal(lines[1], "rc=1");
  assert.match(lines[2] ?? "", /Read-only file system/);
  assert.equal(lines[3], "rc=1");
  assert.equal(lines[4], "root-rw");
});

test("bind mount: rw by default (writes reach the host), ro with the ro option", (t) => {
  const rw = tmpDir(t, 0o755);
  const ro = tmpDir(t, 0o755);
  fs.writeFileSync(path.join(ro, "f"), "from-host\n");
  const out = shOut(t, "echo w > /rw/made && cat /ro/f && (touch /ro/g 2>&1; echo rc=$?)", {
    modify: (s) => {
      s.mounts.push({ destination: "/rw", type: "bind", source: rw, options: ["rbind"] });
      s.mounts.push({ destination: "/ro", type: "bind", source: ro, options: ["rbind", "ro"] });
    },
  });
  assert.equal(fs.readFileSync(path.join(rw, "made"), "utf8"), "w\n");
  assert.match(out, /^from-host$/m);
  assert.match(out, /Read-only file system/);
  assert.match(out, /rc=1/);
  assert.deepEqual(fs.readdirSync(ro), ["f"]);
});

test("bind mount: a relative source is resolved against the bundle directory", (t) => {
  const out = shOut(t, "cat /data/f", {
    prepare: (b) => {
      fs.mkdirSync(path.join(b.dir, "data"));
      fs.writeFileSync(path.join(b.dir, "data", "f"), "relative-source\n");
    },
    modify: (s) => {
      s.mounts.push({ destination: "/data", type: "bind", source: "data", options: ["rbind", "ro"] });
    },
  });
  assert.equal(out, "relative-source\n");
});

test("bind mount: a single file can be bind-mounted (the target file is created)", (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, "file");
  fs.writeFileSync(file, "single-file\n");
  const out = shOut(t, "cat /etc/berth-test-file", {
    modify: (s) => {
      s.mounts.push({ destination: "/etc/berth-test-file", type: "bind", source: file, options: ["bind", "ro"] });
    },
  });
  assert.equal(out, "single-file\n");
});

test("bind mount: rbind carries submounts along, bind does not", (t) => {
  // The submount is made in a private mount namespace that only this runtime invocation
  // lives in: the host's mount table never sees it.
  const src = tmpDir(t);
  fs.mkdirSync(path.join(src, "sub"));
  const b = bundle(t, {
    args: ["sh", "-c", "echo r=[$(cat /r/sub/marker 2>/dev/null)] b=[$(ls -A /b/sub)]"],
    modify: (s) => {
      s.mounts.push({ destination: "/r", type: "bind", source: src, options: ["rbind", "ro"] });
      s.mounts.push({ destination: "/b", type: "bind", source: src, options: ["bind", "ro"] });
    },
  });
  const script =
    'mount -t tmpfs berth-test-sub "$0/sub" && echo submount > "$0/sub/marker" && "$@"; rc=$?; umount "$0/sub"; exit $rc';
  const res = spawnSync(
    "unshare",
    ["-m", "--propagation", "private", "sh", "-c", script, src, runtimeBin(), "--root", testRoot(), "run", "--bundle", b.dir, b.id],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.equal(res.status, 0, `unshare ... run: ${res.status} ${res.stdout} ${res.stderr}`);
  assert.equal(res.stdout, "r=[submount] b=[]\n");
  assert.deepEqual(fs.readdirSync(path.join(src, "sub")), [], "the submount never reached the host");
});

test("tmpfs mount: options (size, mode, nosuid/nodev/noexec) apply and show in /proc/mounts", (t) => {
  const out = shOut(
    t,
    "grep ' /scratch ' /proc/mounts; stat -c %a /scratch; cp /bin/busybox /scratch/bb && (/scratch/bb true 2>&1; echo rc=$?)",
    {
      modify: (s) => {
        s.mounts.push({
          destination: "/scratch",
          type: "tmpfs",
          source: "tmpfs",
          options: ["nosuid", "nodev", "noexec", "size=4m", "mode=700"],
        });
      },
    },
  );
  const opts = mountOpts(out, "/scratch");
  assert.ok(opts, `a tmpfs on /scratch: ${out}`);
  for (const o of ["nosuid", "nodev", "noexec", "size=4096k", "mode=700"]) assert.ok(opts.includes(o), `${o} in ${opts.join(",")}`);
  assert.match(out, /^700$/m);
  assert.match(out, /Permission denied/, "noexec really forbids exec");
  assert.match(out, /rc=126/);
});

test("rootfsPropagation: shared makes / a shared mount; the default is private", (t) => {
  const rootLine = (mi: string): string => mi.split("\n").find((l) => l.split(" ")[4] === "/") ?? "";
  const shared = shOut(t, "cat /proc/self/mountinfo", {
    modify: (s) => {
      s.linux["rootfsPropagation"] = "shared";
    },
  });
  assert.match(rootLine(shared), / shared:\d+ /);
  const dflt = shOut(t, "cat /proc/self/mountinfo");
  assert.doesNotMatch(rootLine(dflt), / (shared|master):\d+ /);
});

test("--no-pivot: the container runs chrooted into its rootfs", (t) => {
  const res = runSh(t, "cat /etc/hostname; ls /; readlink /proc/1/root", { runArgs: ["--no-pivot"] });
  ok(res);
  const lines = res.stdout.trim().split("\n");
  assert.equal(lines[0], "berth-test");
  assert.ok(lines.includes("bin") && lines.includes("proc"), res.stdout);
  assert.ok(!lines.includes("work") && !lines.includes("boot"), "no host directories");
  assert.equal(lines[lines.length - 1], "/");
});

test("/dev: the default devices exist with the right type, numbers and mode", (t) => {
  const out = shOut(
    t,
    "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done",
  );
  assert.equal(
    out,
    [
      "/dev/null character special file 1:3 666",
      "/dev/zero character special file 1:5 666",
      "/dev/full character special file 1:7 666",
      "/dev/random character special file 1:8 666",
      "/dev/urandom character special file 1:9 666",
      "/dev/tty character special file 5:0 666",
      "",
    ].join("\n"),
  );
});

test("/dev: the standard symlinks (ptmx, fd, stdin/stdout/stderr) and mounts (pts, shm, mqueue)", (t) => {
  const out = shOut(
    t,
    "for l in ptmx fd stdin stdout stderr; do echo $l=$(readlink /dev/$l); done; " +
      "for m in /dev/pts /dev/shm /dev/mqueue; do grep -q \" $m \" /proc/mounts && echo $m-mounted; done; " +
      "echo x > /dev/null && head -c 3 /dev/zero | od -An -tx1",
  );
  assert.equal(
    out,
    "ptmx=pts/ptmx\nfd=/proc/self/fd\nstdin=/proc/self/fd/0\nstdout=/proc/self/fd/1\nstderr=/proc/self/fd/2\n" +
      "/dev/pts-mounted\n/dev/shm-mounted\n/dev/mqueue-mounted\n 00 00 00\n",
  );
});

test("linux.devices: a device node is created with its numbers, mode and owner, and works", (t) => {
  const out = shOut(
    t,
    "stat -c '%F %t:%T %a %u:%g' /dev/myzero; head -c 4 /dev/myzero | od -An -tx1; " +
      "stat -c '%F %a' /dev/berth-fifo; stat -c '%t:%T' /dev/fuse",
    {
      modify: (s) => {
        s.linux["devices"] = [
          { path: "/dev/myzero", type: "c", major: 1, minor: 5, fileMode: 0o640, uid: 0, gid: 5 },
          { path: "/dev/berth-fifo", type: "p", fileMode: 0o600 },
          { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666 },
        ];
        s.linux.resources = {
          devices: [
            { allow: false, access: "rwm" },
            { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
            { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
            { allow: true, type: "c", major: 10, minor: 229, access: "rwm" },
          ],
        };
      },
    },
  );
  assert.equal(out, "character special file 1:5 640 0:5\n 00 00 00 00\nfifo 600\na:e5\n");
});

/**
 * A symlink in the image that points outside the rootfs, used as a mount destination:
 * whatever the runtime does (mount inside the rootfs, or refuse), nothing may be mounted
 * on or written to the host path.
 */
async function symlinkEscape(t: TestCtx, linkValue: (outside: string) => string): Promise<void> {
  const outside = tmpDir(t, 0o755);
  fs.writeFileSync(path.join(outside, "sentinel"), "host\n");
  const b = bundle(t, {
    args: ["sh", "-c", "echo pwned > /evil/pwned; touch /tmp/ready; sleep 100"],
    modify: (s) => {
      s.mounts.push({ destination: "/evil", type: "tmpfs", source: "berth-test-evil", options: ["size=1m"] });
    },
  });
  fs.symlinkSync(linkValue(outside), path.join(b.rootfs, "evil"));
  const res = runtimeCli(["run", "--detach", "--bundle", b.dir, b.id]);
  if (res.code !== 0) t.diagnostic(`the runtime refused the container: ${describe(res).replace(/\n/g, " | ")}`);
  if (res.code === 0) {
    await waitFor("the container to write", () => fs.existsSync(path.join(b.rootfs, "tmp", "ready")), 5000);
    const inside = ok(execSh(b.id, "grep berth-test-evil /proc/self/mountinfo | cut -d' ' -f5")).stdout.trim();
    t.diagnostic(`mounted inside the container at ${inside}`);
  }
  assert.deepEqual(fs.readdirSync(outside), ["sentinel"], "nothing written into the host directory");
  assert.ok(!hostMountPoints().includes(fs.realpathSync(outside)), "nothing mounted on the host directory");
  assert.ok(!fs.readFileSync("/proc/self/mountinfo", "utf8").includes("berth-test-evil"), "no such mount on the host");
}

test("symlink escape: an absolute symlink to a host dir as mount destination stays inside the rootfs", async (t) => {
  await symlinkEscape(t, (outside) => outside);
});

test("symlink escape: a ../../.. relative symlink as mount destination stays inside the rootfs", async (t) => {
  await symlinkEscape(t, (outside) => "../../../../../../../../.." + outside);
});

test("symlink escape: a symlinked parent directory of a bind destination stays inside the rootfs", async (t) => {
  const outside = tmpDir(t, 0o755);
  const src = tmpDir(t, 0o755);
  fs.writeFileSync(path.join(src, "payload"), "payload\n");
  const b = bundle(t, {
    args: ["sh", "-c", "cat /linkdir/target/payload"],
    modify: (s) => {
      s.mounts.push({ destination: "/linkdir/target", type: "bind", source: src, options: ["rbind", "ro"] });
    },
  });
  fs.symlinkSync(outside, path.join(b.rootfs, "linkdir"));
  const res = runtimeCli(["run", "--bundle", b.dir, b.id]);
  t.diagnostic(`run: ${describe(res).replace(/\n/g, " | ")}`);
  assert.deepEqual(fs.readdirSync(outside), [], "no mount point created in the host directory");
  assert.ok(!hostMountPoints().some((m) => m.startsWith(fs.realpathSync(outside))));
});


test(
  "symlink destination: a mount through a symlink whose target is missing is made at the in-root target (as runc)",
  (t) => {
  const out = shOut(t, "grep ' berth-test-dangling ' /proc/self/mountinfo | cut -d' ' -f5; readlink /evil; ls -d /berth-test-missing/dir", {
    prepare: (b) => fs.symlinkSync("/berth-test-missing/dir", path.join(b.rootfs, "evil")),
    modify: (s) => {
      s.mounts.push({ destination: "/evil", type: "tmpfs", source: "berth-test-dangling", options: ["size=1m"] });
    },
  });
  assert.equal(out, "/berth-test-missing/dir\n/berth-test-missing/dir\n/berth-test-missing/dir\n");
});
