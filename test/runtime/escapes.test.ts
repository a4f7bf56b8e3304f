// Known container-escape routes stay closed:
//  - CVE-2019-5736: the runtime binary must not be reachable for writing through /proc/<pid>/exe
//    (berth's stage runs from a sealed memfd);
//  - CVE-2024-21626: no file descriptor of the runtime (a host directory, the cgroupfs, the
//    state dir) may survive into the container, and the process's cwd must be inside it, even
//    when the spec asks for a cwd of /proc/self/fd/N;
//  - plus /proc and /sys views that must not let the container reach the host.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { cleanupRuntime, runtimeBin, runtimeCli, testRoot } from "../fixtures/runtime";
import { DOCKER_DEFAULT_CAPS } from "../fixtures/busybox";
import {
  alive,
  bundle,
  container,
  execSh,
  ok,
  setCaps,
  shOut,
  STAGE_BINARY,
  state,
  TestCtx,
  tmpDir,
  waitFor,
} from "./helpers";

after(() => cleanupRuntime());

/** [fd, target] of every open fd of host process `pid`, as the host sees them. */
function fdsOf(pid: number): string[][] {
  const dir = `/proc/${pid}/fd`;
  return fs
    .readdirSync(dir)
    .map(Number)
    .sort((a, b) => a - b)
    .map((fd) => {
      try {
        return [String(fd), fs.readlinkSync(`${dir}/${fd}`)];
      } catch {
        return [String(fd), "?"];
      }
    });
}

/** True when both paths (magic links followed) are the same inode. */
function sameFile(a: string, b: string): boolean {
  const sa = fs.statSync(a);
  const sb = fs.statSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

/** Asserts fds 0-2 only, none pointing at the bundle, the state root, the cgroupfs or the stage. */
function assertOnlyStdio(fds: string[][], bundleDir: string): void {
  assert.deepEqual(fds.map((f) => f[0]), ["0", "1", "2"], JSON.stringify(fds));
  for (const [, target] of fds) {
    for (const bad of [bundleDir, testRoot(), "/sys/fs/cgroup", "memfd:", "exec.fifo"]) {
      assert.ok(!(target ?? "").includes(bad), `fd -> ${target} must not point at ${bad}`);
    }
  }
}

const sha256 = (file: string): string => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

test("CVE-2019-5736: a created container's init runs from a sealed memfd, not writable through /proc/<pid>/exe", (t) => {
  const before = sha256(STAGE_BINARY);
  const c = container(t, "sleep 100", { start: false });
  assert.equal(state(c.id).status, "created");
  const exe = fs.readlinkSync(`/proc/${c.pid}/exe`);
  assert.match(exe, /memfd:berth-stage/, `the init's exe is ${exe}`);

  let wrote = false;
  let why = "";
  try {
    const fd = fs.openSync(`/proc/${c.pid}/exe`, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, "pwned", 0);
      wrote = true;
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code ?? String(e);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    why = (e as NodeJS.ErrnoException).code ?? String(e);
  }
  assert.equal(wrote, false, "writing to the init's executable must fail");
  assert.match(why, /^(ETXTBSY|EPERM|EACCES)$/);
  assert.equal(sha256(STAGE_BINARY), before, "native/build/berth-stage is unchanged");
});

test("CVE-2019-5736: a container overwriting its own /proc/self/exe target does not reach the runtime", (t) => {
  // The classic attack: make the binary that `exec` runs a "#!/proc/self/exe" script, so the
  // runtime re-executes itself inside the container, then write to /proc/<that pid>/exe.
  const before = sha256(STAGE_BINARY);
  const c = container(t, "sleep 100");
  fs.writeFileSync(path.join(c.b.rootfs, "evil"), "#!/proc/self/exe\n", { mode: 0o755 });
  const res = runtimeCli(["exec", c.id, "/evil"], { timeoutMs: 10_000 });
  t.diagnostic(`exec /evil: exit ${res.code}: ${res.stderr.trim()}`);
  ok(execSh(c.id, "for p in /proc/[0-9]*; do echo pwned > $p/exe 2>/dev/null && echo WROTE $p; done; true"));
  assert.equal(sha256(STAGE_BINARY), before, "native/build/berth-stage is unchanged");
  assert.ok(alive(c.pid));
});

test("CVE-2024-21626: the container's process has only fds 0, 1 and 2, none pointing at the bundle, state or cgroupfs", async (t) => {
  // `sh -c "sleep 100"` execs sleep: the init is the process itself, seen from the host.
  const c = container(t, "sleep 100");
  await waitFor("the exec", () => fs.readFileSync(`/proc/${c.pid}/cmdline`, "utf8").startsWith("sleep"));
  assertOnlyStdio(fdsOf(c.pid), c.b.dir);
  assert.ok(sameFile(`/proc/${c.pid}/cwd`, c.b.rootfs), "its cwd is the rootfs (/ inside)");
  assert.ok(sameFile(`/proc/${c.pid}/root`, c.b.rootfs), "its root is the rootfs");
});

test("CVE-2024-21626: an exec'd process has only fds 0, 1 and 2 and its cwd inside the container", async (t) => {
  const c = container(t, "sleep 100");
  const dir = tmpDir(t);
  ok(runtimeCli(["exec", "-d", "--cwd", "/tmp", "--pid-file", path.join(dir, "pid"), c.id, "sleep", "100"]));
  const pid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
  await waitFor("the exec", () => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep"));
  assertOnlyStdio(fdsOf(pid), c.b.dir);
  assert.ok(sameFile(`/proc/${pid}/cwd`, path.join(c.b.rootfs, "tmp")), "its cwd is the container's /tmp");
  assert.ok(sameFile(`/proc/${pid}/root`, c.b.rootfs), "its root is the rootfs");
});

test("CVE-2024-21626: the process's cwd is / inside the container, and / is the rootfs", (t) => {
  const out = shOut(t, "readlink /proc/self/cwd; readlink /proc/1/cwd; readlink /proc/1/root; ls -a / | tr '\\n' ' '");
  const [cwd, cwd1, root, ls] = out.split("\n");
  assert.equal(cwd, "/");
  assert.equal(cwd1, "/");
  assert.equal(root, "/");
  assert.match(ls ?? "", / bin /);
  assert.doesNotMatch(ls ?? "", / (work|boot|lost\+found) /, "no host directory in /");
});

/** stdio for spawning the runtime with `fd` leaked (inherited) as its file descriptor `n`. */
function leakAt(n: number, fd: number): Array<"ignore" | "pipe" | number> {
  const stdio: Array<"ignore" | "pipe" | number> = ["ignore", "pipe", "pipe"];
  for (let i = 3; i <= n; i++) stdio.push(i === n ? fd : "ignore");
  return stdio;
}

const SHOW_CWD = "echo cwd=$(readlink /proc/self/cwd); ls; ls ../../../../../../../..";

/**
 * The attack of CVE-2024-21626: a file descriptor to a host directory is open in the runtime
 * when the container's process does chdir(cwd), with cwd = /proc/self/fd/N. Here the caller
 * of berth-runtime leaks such a descriptor (as runc's callers could, and runc itself did):
 * fd N → a host dir holding a marker file. The container must either be refused or end up
 * with a cwd inside its own filesystem; it must never see the host's directories.
 */
function assertNoHostCwd(t: TestCtx, hostDir: string, res: { status: number | null; stdout: string; stderr: string }): void {
  t.diagnostic(`exit ${res.status}: ${res.stdout.replace(/\n/g, " ")} ${res.stderr.trim()}`);
  assert.doesNotMatch(res.stdout, /host-marker/, "the process must not have the host directory as its cwd");
  assert.doesNotMatch(res.stdout, new RegExp(`cwd=${hostDir}`));
  assert.doesNotMatch(res.stdout, /cwd=.*unreachable/);
  assert.doesNotMatch(res.stdout, /\bwork\b|\bboot\b|lost\+found/, "no host root directory reachable through ..");
}

function hostDirWithMarker(t: TestCtx): { hostDir: string; dirFd: number } {
  const hostDir = tmpDir(t, 0o755);
  fs.writeFileSync(path.join(hostDir, "host-marker"), "host\n");
  const dirFd = fs.openSync(hostDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  t.after(() => fs.closeSync(dirFd));
  return { hostDir, dirFd };
}


for (const n of [5, 20, 100]) {
  test(`CVE-2024-21626: process.cwd /proc/self/fd/${n} with a leaked host dir fd ${n} cannot land outside the container`, (t) => {
    const { hostDir, dirFd } = hostDirWithMarker(t);
    const b = bundle(t, {
      args: ["sh", "-c", SHOW_CWD],
      modify: (s) => {
        s.process.cwd = `/proc/self/fd/${n}`;
      },
    });
    const r = spawnSync(runtimeBin(), ["--root", testRoot(), "run", "--bundle", b.dir, b.id], {
      stdio: leakAt(n, dirFd),
      encoding: "utf8",
      timeout: 20_000,
    });
    assertNoHostCwd(t, hostDir, { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" });
  });

  test(`CVE-2024-21626: exec --cwd /proc/self/fd/${n} with a leaked host dir fd ${n} cannot land outside the container`, (t) => {
    const { hostDir, dirFd } = hostDirWithMarker(t);
    const c = container(t, "sleep 100");
    const r = spawnSync(runtimeBin(), ["--root", testRoot(), "exec", "--cwd", `/proc/self/fd/${n}`, c.id, "sh", "-c", SHOW_CWD], {
      stdio: leakAt(n, dirFd),
      encoding: "utf8",
      timeout: 20_000,
    });
    assertNoHostCwd(t, hostDir, { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" });
  });
}

test("CVE-2024-21626: a descriptor leaked by the runtime's caller does not reach the container process", (t) => {
  const { dirFd } = hostDirWithMarker(t);
  // The fds of a child the shell forked before any pipe existed: listing the shell's own fds
  // races with the pipeline's pipe being open in the shell (a flaky "0 1 2 3").
  const b = bundle(t, { args: ["sh", "-c", "sleep 5 & p=$!; ls /proc/$p/fd | tr '\\n' ' '; kill $p"] });
  const r = spawnSync(runtimeBin(), ["--root", testRoot(), "run", "--bundle", b.dir, b.id], {
    stdio: leakAt(20, dirFd),
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "0 1 2 ");
});

test("/proc/sys, /proc/sysrq-trigger-like files and /sys are not writable from the container", (t) => {
  const out = shOut(
    t,
    "echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo drop-caches-written; " +
      "echo x > /sys/kernel/uevent_helper 2>/dev/null && echo sysfs-written; " +
      "grep -E ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
    { modify: (s) => setCaps(s, [...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"]) },
  );
  assert.equal(out, "ro\n");
});

test("a container without CAP_SYS_ADMIN cannot remount its read-only paths writable", (t) => {
  const out = shOut(t, "mount -o remount,rw /proc/sys 2>/dev/null && echo remounted; umount /proc/keys 2>/dev/null && echo unmasked; echo done");
  assert.equal(out, "done\n");
});

test("the container cannot see or signal host processes", (t) => {
  const me = process.pid;
  const out = shOut(t, `test -e /proc/${me}/status && echo sees-host-pid; kill -0 ${me} 2>/dev/null && echo can-signal; echo done`);
  // PID ${me} may exist inside the container's PID namespace only if it is one of its own (it is not: only a few pids).
  assert.equal(out, "done\n");
});
