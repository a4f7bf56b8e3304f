// berth attacks itself, runtime side: the escapes that go through the runtime rather than the
// kernel's interfaces, tried from inside default (`docker run`) and privileged containers.
//  - CVE-2019-5736: overwrite the runtime's binary through /proc/<pid>/exe of a runtime process
//    that is visible in the container (the init of a created container, a process joining for
//    `exec`, the runtime re-executed through "#!/proc/self/exe");
//  - CVE-2024-21626: a working directory or an inherited fd that points outside the rootfs;
//  - symlinks in the image that redirect mount, file and device targets outside the rootfs.
// The probe is native/test-tools/escape-probe.c; see escapes.test.ts for the conventions.
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { cleanupRuntime, runtimeBin, runtimeCli, runtimeCliAsync, testRoot } from "../fixtures/runtime";
import { bundle, container, hostMountinfo, installTool, ok, REPO_ROOT, STAGE_BINARY, TestCtx, tmpDir, waitFor } from "../runtime/helpers";
import { attack, configure, outcomes, parseSteps, PROBE, sha256, Step, Variant } from "./helpers";

after(() => cleanupRuntime());

const P = "escape-probe";

/** Every file a CVE-2019-5736 attack could aim at: the stage, the runtime, node itself. */
const RUNTIME_FILES = [STAGE_BINARY, path.join(REPO_ROOT, "dist", "berth-runtime.js"), path.join(REPO_ROOT, "bin", "berth-runtime"), process.execPath];

function runtimeHashes(): Record<string, string> {
  return Object.fromEntries(RUNTIME_FILES.map((f) => [f, sha256(f)]));
}

function assertNoWrite(steps: Step[]): void {
  for (const s of steps) {
    if (/^(write-exe|write-exe-after-exec|write-exe-later|reopen-exe-trunc)$/.test(s.step)) {
      assert.notEqual(s.result, "OK", `${s.step} must fail: ${s.detail}`);
    }
  }
  assert.ok(!steps.some((s) => s.step === "fd-dir"), "no directory fd of the runtime is reachable");
}

const readLog = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");

/**
 * The deterministic CVE-2019-5736 attack: PID 1 of a created container is berth's stage,
 * waiting for `start`. A process exec'd into the container opens /proc/1/exe for writing,
 * keeps an O_PATH fd to it, and once `start` has made the stage exec the container's process
 * (the runtime binary is then no longer running: no ETXTBSY), reopens it for writing through
 * /proc/self/fd/N and writes, as the published exploits do.
 */
async function attackCreatedInit(t: TestCtx, variant: Variant): Promise<Step[]> {
  const before = runtimeHashes();
  const c = container(t, "sleep 100", {
    start: false,
    modify: configure(variant),
    prepare: (b) => installTool(b.rootfs, PROBE, "/bin/escape-probe"),
  });
  assert.match(fs.readlinkSync(`/proc/${c.pid}/exe`), /memfd:berth-stage/, "the created init is the stage");
  const log = path.join(c.b.rootfs, "tmp", "attack.log");
  const exec = runtimeCliAsync(["exec", c.id, "sh", "-c", `${P} exe-attack 1 5000 > /tmp/attack.log 2>&1`], { timeoutMs: 20_000 });
  let done = false;
  void exec.then(() => (done = true));
  await waitFor("the attack to hold its fd (or give up)", () => done || readLog(log).includes("waiting:"), 10_000);
  ok(runtimeCli(["start", c.id]), "start");
  ok(await exec, "exec of the attacker");
  const steps = parseSteps(readLog(log));
  t.diagnostic(readLog(log).trim().replace(/\n/g, " | "));
  assertNoWrite(steps);
  assert.deepEqual(runtimeHashes(), before, "the runtime's files are unchanged");
  assert.equal(fs.readFileSync(`/proc/${c.pid}/cmdline`, "utf8"), "sleep\x00100\x00", "the container runs as if nothing happened");
  return steps;
}

/** The steps without the per-fd lines (their number depends on the runtime), and those. */
function splitFds(steps: Step[]): { main: string[]; fds: Step[] } {
  return { main: outcomes(steps.filter((s) => s.step !== "fd")), fds: steps.filter((s) => s.step === "fd") };
}

describe("CVE-2019-5736: overwriting the runtime through /proc/<pid>/exe", () => {
  test(
    "default: an exec'd process attacks PID 1 of a created container (berth's stage): /proc/1/exe → EACCES, " +
      "its fds, cwd and root → EACCES, ptrace → EPERM (non-dumpable); the runtime's files are unchanged",
    async (t) => {
      const { main, fds } = splitFds(await attackCreatedInit(t, "default"));
      assert.deepEqual(main, ["exe: EACCES", "open-exe-w: EACCES", "open-exe-path: EACCES", "fds: OK", "cwd: EACCES", "root: EACCES", "ptrace-seize: EPERM"]);
      assert.ok(fds.length > 0);
      for (const f of fds) assert.equal(f.result, "EACCES", `fd ${f.detail}`);
    },
  );

  test(
    "privileged: the same attack reaches the stage (CAP_SYS_PTRACE) but not the binary: open for writing → ETXTBSY, " +
      "reopened after the exec → write EPERM (a sealed memfd copy); the runtime's files are unchanged",
    async (t) => {
      const steps = await attackCreatedInit(t, "privileged");
      const { main, fds } = splitFds(steps);
      assert.deepEqual(main, [
        "exe: OK", "open-exe-w: ETXTBSY", "open-exe-path: OK", "fds: OK", "cwd: OK", "root: OK", "ptrace-seize: OK",
        "exec-seen: OK", "reopen-exe-w: OK", "write-exe-after-exec: EPERM", "reopen-exe-trunc: EPERM",
      ]);
      assert.match(steps[0]?.detail ?? "", /^\/memfd:berth-stage/, "the exe is the memfd, not the file on the host");
      // What a privileged container can see of the waiting stage (runc's is as visible): recorded.
      t.diagnostic(`the stage's fds as seen from a privileged container: ${fds.map((f) => f.detail).join("; ")}`);
      for (const f of fds) assert.equal(f.result, "OK");
    },
  );

  for (const variant of ["default", "privileged"] as const) {
    test(
      `${variant}: a process racing every \`exec\` (and "#!/proc/self/exe") for runtime processes in /proc opens none of their executables for writing` +
        (variant === "default" ? " (readlink/open → EACCES: non-dumpable)" : " (open → ETXTBSY, reopened later → write EPERM: sealed memfd)"),
      async (t) => {
        const before = runtimeHashes();
        const c = container(t, "sleep 100", {
          modify: configure(variant),
          prepare: (b) => {
            installTool(b.rootfs, PROBE, "/bin/escape-probe");
            // Run by `exec`, this would make the kernel run the exec-ing process's own binary (the
            // runtime) inside the container, for the hunter to catch; berth's exec fails with ENOENT here.
            fs.writeFileSync(path.join(b.rootfs, "evil"), "#!/proc/self/exe\n", { mode: 0o755 });
          },
        });
        const log = path.join(c.b.rootfs, "tmp", "hunt.log");
        const hunter = runtimeCliAsync(["exec", c.id, "sh", "-c", `${P} hunt 2500 > /tmp/hunt.log 2>&1`], { timeoutMs: 20_000 });
        await waitFor("the hunter to start", () => readLog(log).includes("hunting:"), 10_000);
        for (let i = 0; i < 3; i++) {
          const r = runtimeCli(["exec", c.id, "/evil"], { timeoutMs: 10_000 });
          t.diagnostic(`exec /evil: exit ${r.code}: ${r.stderr.trim()}`);
          ok(runtimeCli(["exec", c.id, "true"]), "exec true");
        }
        ok(await hunter, "the hunter");
        const steps = parseSteps(readLog(log));
        t.diagnostic(readLog(log).trim().replace(/\n/g, " | "));
        const seen = steps.filter((s) => s.step === "seen");
        assert.ok(seen.length > 0, "the hunter found the runtime's processes joining the container (else it attacked nothing)");
        assertNoWrite(steps);
        for (const s of steps.filter((x) => x.step === "open-exe-w")) {
          // ENOENT: the process was gone by then (a race the hunter may lose).
          assert.match(s.result, variant === "default" ? /^(EACCES|ENOENT)$/ : /^(EACCES|ETXTBSY|ENOENT)$/, `open-exe-w ${s.detail}`);
        }
        if (variant === "default") for (const s of seen) assert.equal(s.result, "EACCES", `seen ${s.detail}`);
        assert.deepEqual(runtimeHashes(), before, "the runtime's files are unchanged");
      },
    );
  }
});

// ---- CVE-2024-21626 -------------------------------------------------------------------------------

/** stdio that leaks `fd` to the runtime as its descriptor `n` (as runc's callers could). */
function leakAt(n: number, fd: number): Array<"ignore" | "pipe" | number> {
  const stdio: Array<"ignore" | "pipe" | number> = ["ignore", "pipe", "pipe"];
  for (let i = 3; i <= n; i++) stdio.push(i === n ? fd : "ignore");
  return stdio;
}

function hostDirFd(t: TestCtx): { dir: string; fd: number } {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, "host-marker"), "host\n");
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  t.after(() => fs.closeSync(fd));
  return { dir, fd };
}

const SHOW = "echo cwd=$(readlink /proc/self/cwd); ls; ls ../../../../../../..";

function assertRefusedNoHost(t: TestCtx, r: { status: number | null; stdout: string; stderr: string }, dir: string): void {
  t.diagnostic(`exit ${r.status}: ${r.stdout.replace(/\n/g, " ")} ${r.stderr.trim()}`);
  assert.doesNotMatch(r.stdout, /host-marker/, "the host directory is not the process's cwd");
  assert.doesNotMatch(r.stdout, new RegExp(`cwd=${dir}`));
  assert.doesNotMatch(r.stdout, /\bwork\b|lost\+found/, "no host root reachable through ..");
  assert.notEqual(r.status, 0, "refused");
  assert.match(r.stderr, /cwd|chdir/, "with an error about the cwd");
}

describe("CVE-2024-21626: a cwd or fd that points outside the rootfs", () => {
  for (const variant of ["default", "privileged"] as const) {
    for (const n of [5, 20]) {
      test(`${variant}: process.cwd = /proc/self/fd/${n} with a leaked host dir fd ${n} → refused`, (t) => {
        const { dir, fd } = hostDirFd(t);
        const b = bundle(t, {
          args: ["sh", "-c", SHOW],
          modify: (s) => {
            configure(variant)(s);
            s.process.cwd = `/proc/self/fd/${n}`;
          },
        });
        const r = spawnSync(runtimeBin(), ["--root", testRoot(), "run", "--bundle", b.dir, b.id], { stdio: leakAt(n, fd), encoding: "utf8", timeout: 20_000 });
        assertRefusedNoHost(t, { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" }, dir);
      });
    }
  }

  test("default: exec --cwd /proc/self/fd/N with a leaked host dir fd N → refused", (t) => {
    const { dir, fd } = hostDirFd(t);
    const c = container(t, "sleep 100", { modify: configure("default") });
    for (const n of [5, 20]) {
      const r = spawnSync(runtimeBin(), ["--root", testRoot(), "exec", "--cwd", `/proc/self/fd/${n}`, c.id, "sh", "-c", SHOW], {
        stdio: leakAt(n, fd),
        encoding: "utf8",
        timeout: 20_000,
      });
      assertRefusedNoHost(t, { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" }, dir);
    }
  });

  test("default: the container's init and an exec'd process hold only fds 0, 1, 2 though the runtime's caller leaked a host dir fd", async (t) => {
    const { fd } = hostDirFd(t);
    const b = bundle(t, { args: ["sh", "-c", `${P} fds; sleep 100`], modify: configure("default") });
    installTool(b.rootfs, PROBE, "/bin/escape-probe");
    const io = tmpDir(t);
    const out = fs.openSync(path.join(io, "out"), "w");
    const err = fs.openSync(path.join(io, "err"), "w");
    t.after(() => [out, err].forEach((f) => fs.closeSync(f)));
    // `run -d` with fd 9 leaked; files, not pipes: the detached container keeps them open.
    const stdio: Array<"ignore" | number> = ["ignore", out, err, "ignore", "ignore", "ignore", "ignore", "ignore", "ignore", fd];
    const r = spawnSync(runtimeBin(), ["--root", testRoot(), "run", "-d", "--bundle", b.dir, b.id], { stdio, timeout: 20_000 });
    assert.equal(r.status, 0, fs.readFileSync(path.join(io, "err"), "utf8"));
    await waitFor("the init's listing", () => /^fd: \w+ 2 /m.test(fs.readFileSync(path.join(io, "out"), "utf8")));
    const execd = spawnSync(runtimeBin(), ["--root", testRoot(), "exec", b.id, P, "fds"], { stdio: leakAt(9, fd), encoding: "utf8", timeout: 20_000 });
    assert.equal(execd.status, 0, execd.stderr);
    for (const [who, text] of [["init", fs.readFileSync(path.join(io, "out"), "utf8")], ["exec", execd.stdout]] as const) {
      t.diagnostic(`${who}: ${text.trim().replace(/\n/g, " | ")}`);
      const steps = parseSteps(text);
      assert.deepEqual(steps.map((s) => s.detail.split(" ")[0]), ["0", "1", "2"], `${who}: only stdio`);
    }
  });
});

// ---- symlinks in the image --------------------------------------------------------------------

describe("symlinks in the image that redirect targets outside the rootfs", () => {
  for (const variant of ["default", "privileged"] as const) {
    test(`${variant}: mount (dir and file) and device targets through absolute and ../ symlinks to a host dir → created inside the rootfs, nothing outside`, (t) => {
      const outside = tmpDir(t);
      fs.writeFileSync(path.join(outside, "sentinel"), "host\n");
      const src = tmpDir(t);
      fs.writeFileSync(path.join(src, "payload"), "payload\n");
      const run = attack(
        t,
        variant,
        "grep -E 'berth-sec-evil|payload' /proc/self/mountinfo | cut -d' ' -f5; " +
          "echo pwned > /abs/sub/x; echo pwned > /abs/y; echo pwned > /rel/z; cat /rel/file; ls -l /abs/null | cut -c1; true",
        {
          prepare: (b) => {
            fs.symlinkSync(outside, path.join(b.rootfs, "abs"));
            fs.symlinkSync("../../../../../../../.." + outside, path.join(b.rootfs, "rel"));
          },
          modify: (s) => {
            s.mounts.push({ destination: "/abs/sub", type: "tmpfs", source: "berth-sec-evil", options: ["size=1m"] });
            s.mounts.push({ destination: "/rel/file", type: "bind", source: path.join(src, "payload"), options: ["bind", "ro"] });
            s.linux["devices"] = [{ path: "/abs/null", type: "c", major: 1, minor: 3, fileMode: 0o666 }];
          },
        },
      );
      // Inside, the targets are the in-root paths that the symlinks name.
      assert.deepEqual(run.stdout.split("\n").slice(0, 2).sort(), [`${outside}/sub`, `${outside}/file`].sort(), run.stdout);
      assert.match(run.stdout, /^payload$/m);
      assert.match(run.stdout, /^c$/m, "the device node exists inside");
      assert.deepEqual(fs.readdirSync(outside), ["sentinel"], "nothing created in the host directory");
      const hostMounts = hostMountinfo();
      assert.ok(!hostMounts.includes("berth-sec-evil") && !hostMounts.includes(` ${outside}/`), "no mount appeared on the host");
      assert.ok(fs.existsSync(path.join(run.bundle.rootfs, outside.slice(1), "y")), "the writes landed in the rootfs");
    });
  }
});
