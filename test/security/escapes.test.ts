// berth attacks itself: every known route from a container to the host's kernel interfaces,
// tried from inside a default container (exactly `docker run`'s configuration, Docker's seccomp
// profile included) and again from inside a `--privileged`-like one.
//
// Each attack is one test per configuration, named after the attack and the errno it must get.
// The attack runs inside the container: the static probe native/test-tools/escape-probe.c
// prints the errno of every call it makes ("keyctl: EPERM 1") and exits 0, and the test
// compares those lines with the expectation. In the default configuration every attack must be
// refused, or stay inside the container where Docker allows the call (ptrace of the container's
// own PID 1, raw sockets with CAP_NET_RAW, chroot); in the privileged one the same attack must get
// through (or reach the kernel's argument checks: EINVAL instead of EPERM), which shows that the
// test can fail.
//
// Destructive calls never run for real, in neither configuration: reboot, kexec, the clock and
// module loading use invalid arguments the kernel rejects after its permission checks (EPERM =
// blocked, EINVAL/EBADF/ENOEXEC = "the call got through"), sysctl files are opened and never
// written, sysrq is never touched in the privileged configuration, and the release_agent of a
// host hierarchy is only checked with access(2).
//
// The runtime-level escapes (CVE-2019-5736, CVE-2024-21626, symlinked mount targets) are in
// runtime-cves.test.ts.
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import { capMask, container, execSh, ok, statusFields, TestCtx } from "../runtime/helpers";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/runtime/spec/docker-defaults";
import { cleanupRuntime } from "../fixtures/runtime";
import {
  attack,
  AttackRun,
  CGROUP_V2,
  configure,
  HOST_CAPS,
  HOST_HAS_KEXEC,
  HOST_HAS_MODULES,
  HOST_HAS_SYSRQ,
  hostRootDevice,
  loopDevice,
  outcomes,
  parseSteps,
  PROBE,
  RunOptions,
  seccompTodo,
  V1_CONTROLLER,
  Variant,
} from "./helpers";

after(() => cleanupRuntime());

/** What the privileged configuration does with an attack. */
type Privileged =
  | {
      /** Expected "step: RESULT" lines. */
      expect: string[];
      /** Instead of the default script (e.g. a different, harmless target). */
      script?: string;
      opts?: RunOptions;
      check?: (t: TestCtx, run: AttackRun) => void;
    }
  | { skip: string };

interface Attack {
  /** The attack, as the test names it. */
  what: string;
  /** What stops it in the default configuration (for the test name). */
  because: string;
  /** Run inside the container as `sh -c script`. */
  script: string;
  /** Expected "step: RESULT" lines in the default configuration. */
  expect: string[];
  /** The default outcome comes from Docker's seccomp profile (the capabilities alone would not do). */
  seccomp?: boolean;
  opts?: RunOptions;
  check?: (t: TestCtx, run: AttackRun) => void;
  privileged: Privileged;
}

const has = (cap: string): boolean => HOST_CAPS.includes(cap);
/** The outcome of a module-loading call with bogus arguments where it is permitted. */
const moduleErrno = (ifLoadable: string): string => (!HOST_HAS_MODULES ? "ENOSYS" : has("CAP_SYS_MODULE") ? ifLoadable : "EPERM");

/** A pid that exists on the host (this test process) but cannot exist in a fresh container. */
const HOST_PID = process.pid;

const LOOP_MARKER = "berth-security-loop-marker";

/** The mount point (on the host) of the filesystem that holds the bundles: shocker's target. */
function fsRootOf(dir: string): string {
  const real = fs.realpathSync(dir);
  let best = "/";
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (mp === undefined) continue;
    if ((real === mp || real.startsWith(mp === "/" ? "/" : mp + "/")) && mp.length > best.length) best = mp;
  }
  return best;
}
const SHOCKER_ROOT = fsRootOf(os.tmpdir());
/** "<type> <hex>" of SHOCKER_ROOT's file handle, computed on the host (as an attacker would brute-force it). */
const SHOCKER_HANDLE = (() => {
  const out = execFileSync(PROBE, ["name-to-handle", SHOCKER_ROOT], { encoding: "utf8" });
  const m = /^handle: OK (\d+) ([0-9a-f]+)/m.exec(out);
  if (!m) throw new Error(`escape-probe name-to-handle ${SHOCKER_ROOT}: ${out}`);
  return `${m[1]} ${m[2]}`;
})();

const P = "escape-probe";

/** Root-writable sysfs files that exist here (uevent_helper: the classic host code execution). */
const SYSFS_TARGETS = ["/sys/kernel/uevent_helper", "/sys/kernel/rcu_expedited", "/sys/kernel/mm/transparent_hugepage/enabled"]
  .filter((f) => fs.existsSync(f))
  .slice(0, 2);

/**
 * What the host itself (root, every capability, no seccomp) gets from a harmless probe: where
 * the outcome depends only on the kernel's configuration, the privileged container gets the same.
 */
function onHost(...args: string[]): string[] {
  return outcomes(parseSteps(execFileSync(PROBE, args, { encoding: "utf8" })));
}

const ATTACKS: Attack[] = [
  // ---- /proc and /sys ------------------------------------------------------------------------
  {
    what: "mount -o remount,rw /proc",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} remount /proc`,
    expect: ["remount: EPERM"],
    privileged: { expect: ["remount: OK"] },
  },
  {
    what: "mount -o remount,bind,rw /proc/sys (a read-only path)",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} remount /proc/sys bind`,
    expect: ["remount: EPERM"],
    privileged: { skip: "no read-only paths in a privileged container: /proc/sys is writable as is (see core_pattern)" },
  },
  {
    what: "mount -o remount,rw /sys",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} remount /sys; ${P} remount /sys bind`,
    expect: ["remount: EPERM", "remount: EPERM"],
    // Only the bind remount: the sysfs superblock is not the container's to reconfigure.
    privileged: { script: `${P} remount /sys bind`, expect: ["remount: OK"] },
  },
  {
    what: "mount -o remount,bind,rw /sys/fs/cgroup",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} remount /sys/fs/cgroup bind`,
    expect: ["remount: EPERM"],
    privileged: { expect: ["remount: OK"] },
  },
  {
    what: "mount a fresh procfs (a view without the masks)",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} mount proc /tmp/proc proc`,
    expect: ["mount: EPERM"],
    privileged: { expect: ["mount: OK", "umount: OK"] },
  },
  {
    what: "umount a masked path (/proc/timer_list) to unmask it",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} umount /proc/timer_list`,
    expect: ["umount: EPERM"],
    privileged: { skip: "nothing is masked in a privileged container (see the timer_list read)" },
  },
  {
    what: "read /proc/timer_list (masked: host timers)",
    because: "masked with /dev/null",
    script: `${P} read /proc/timer_list`,
    expect: ["open: OK", "read: OK"],
    check: (_t, run) => assert.equal(run.steps[1]?.detail, "0 bytes"),
    privileged: {
      expect: ["open: OK", "read: OK"],
      check: (_t, run) => assert.notEqual(run.steps[1]?.detail, "0 bytes", "unmasked: the host's timers"),
    },
  },
  {
    what: "list /sys/firmware (masked: ACPI tables, memmap)",
    because: "masked with an empty read-only tmpfs",
    script: `${P} ls /sys/firmware`,
    expect: ["listing: OK"],
    check: (_t, run) => assert.equal(run.steps[0]?.detail, "", "an empty directory"),
    privileged: {
      expect: ["listing: OK"],
      check: (_t, run) =>
        assert.deepEqual(
          (run.steps[0]?.detail ?? "").split(",").filter(Boolean).sort(),
          fs.readdirSync("/sys/firmware").sort(),
          "the host's /sys/firmware",
        ),
    },
  },
  {
    what: "open /proc/sysrq-trigger for writing",
    because: HOST_HAS_SYSRQ ? "read-only path" : "this kernel has no sysrq: the read-only path is skipped",
    script: `${P} openw /proc/sysrq-trigger`,
    expect: [HOST_HAS_SYSRQ ? "openw: EROFS" : "openw: ENOENT"],
    privileged: { skip: "sysrq is never touched for real" },
  },
  {
    what: "open /proc/sys/kernel/core_pattern, vm/drop_caches, fs/file-max for writing (never written)",
    because: "/proc/sys is a read-only path",
    script: `${P} openw /proc/sys/kernel/core_pattern; ${P} openw /proc/sys/vm/drop_caches; ${P} openw /proc/sys/fs/file-max`,
    expect: ["openw: EROFS", "openw: EROFS", "openw: EROFS"],
    privileged: {
      // Opened and closed again, not a byte written.
      script: `${P} openw /proc/sys/kernel/core_pattern`,
      expect: ["openw: OK"],
    },
  },
  {
    what: `open ${SYSFS_TARGETS.join(", ")} for writing (never written)`,
    because: "/sys is mounted read-only",
    script: SYSFS_TARGETS.map((f) => `${P} openw ${f}`).join("; "),
    expect: SYSFS_TARGETS.map(() => "openw: EROFS"),
    privileged: { skip: "host sysfs files are not opened for writing where nothing stops it" },
  },
  // ---- cgroups (CVE-2022-0492) ----------------------------------------------------------------
  {
    what: `mount a cgroup v1 hierarchy (-o ${V1_CONTROLLER ?? "rdma"}) to reach its release_agent (CVE-2022-0492)`,
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} mount cgroup /tmp/cg cgroup ${V1_CONTROLLER ?? "rdma"} release_agent`,
    expect: ["mount: EPERM"],
    // Writable is checked with access(2) only: the host hierarchy's release_agent is never written.
    privileged: V1_CONTROLLER
      ? { expect: ["mount: OK", "writable: OK", "umount: OK"] }
      : { skip: "no cgroup v1 hierarchy on this host: a v1 mount would make a new one" },
  },
  {
    what: "write release_agent / notify_on_release through /sys/fs/cgroup",
    because: "the cgroup mount is read-only",
    script: CGROUP_V2
      ? `${P} openw /sys/fs/cgroup/release_agent creat; ${P} openw /sys/fs/cgroup/cgroup.procs`
      : `${P} openw /sys/fs/cgroup/${V1_CONTROLLER}/release_agent creat; ${P} openw /sys/fs/cgroup/${V1_CONTROLLER}/notify_on_release`,
    expect: ["openw: EROFS", "openw: EROFS"],
    privileged: {
      // The container's own cgroup (not the hierarchy's root): opened, not written.
      script: CGROUP_V2 ? `${P} openw /sys/fs/cgroup/cgroup.procs` : `${P} openw /sys/fs/cgroup/${V1_CONTROLLER}/notify_on_release`,
      expect: ["openw: OK"],
    },
  },
  // ---- kernel code and kernel state ----------------------------------------------------------
  {
    what: "init_module and finit_module (load a kernel module)",
    because: "seccomp; no CAP_SYS_MODULE",
    seccomp: true, // this kernel has no module support: without the profile, ENOSYS
    script: `${P} init_module; ${P} finit_module`,
    expect: ["init_module: EPERM", "finit_module: EPERM"],
    // Bogus arguments: nothing can be loaded; ENOEXEC/EBADF = permitted, ENOSYS = no module support.
    privileged: { expect: [`init_module: ${moduleErrno("ENOEXEC")}`, `finit_module: ${moduleErrno("EBADF")}`] },
  },
  {
    what: "kexec_load (invalid segment count)",
    because: "seccomp; no CAP_SYS_BOOT",
    seccomp: true,
    script: `${P} kexec`,
    expect: ["kexec_load: EPERM"],
    privileged: { expect: [`kexec_load: ${!HOST_HAS_KEXEC ? "ENOSYS" : has("CAP_SYS_BOOT") ? "EINVAL" : "EPERM"}`] },
  },
  {
    what: "reboot (invalid magic)",
    because: "seccomp; no CAP_SYS_BOOT",
    script: `${P} reboot`,
    expect: ["reboot: EPERM"],
    // EINVAL: permitted, refused only for the magic. Never called with a valid one.
    privileged: { expect: ["reboot: EINVAL"] },
  },
  {
    what: "clock_settime (invalid clock id)",
    because: "seccomp",
    seccomp: true, // without the profile the kernel checks the clock id first: EINVAL
    script: `${P} clock_settime`,
    expect: ["clock_settime: EPERM"],
    // EINVAL: permitted, refused only for the clock id. The clock is never set.
    privileged: { expect: ["clock_settime: EINVAL"] },
  },
  {
    what: "settimeofday(NULL, NULL)",
    because: "seccomp; no CAP_SYS_TIME",
    script: `${P} settimeofday`,
    expect: ["settimeofday: EPERM"],
    // A no-op when permitted: the clock is not changed.
    privileged: { expect: ["settimeofday: OK"] },
  },
  {
    what: "keyctl (the kernel keyring is not namespaced)",
    because: "seccomp",
    seccomp: true,
    script: `${P} keyctl`,
    expect: ["keyctl: EPERM"],
    privileged: { expect: ["keyctl: OK"] },
  },
  {
    what: "bpf(BPF_MAP_CREATE)",
    because: "seccomp; no CAP_BPF/CAP_SYS_ADMIN",
    script: `${P} bpf`,
    expect: ["bpf: EPERM"],
    privileged: { expect: ["bpf: OK"] },
  },
  {
    what: "perf_event_open (own task clock, user space only)",
    because: "seccomp",
    seccomp: true, // perf_event_paranoid 2 allows this one without the profile
    script: `${P} perf`,
    expect: ["perf_event_open: EPERM"],
    privileged: { expect: ["perf_event_open: OK"] },
  },
  {
    what: "userfaultfd (kernel-mode faults)",
    because: "seccomp; no CAP_SYS_PTRACE",
    script: `${P} userfaultfd`,
    expect: ["userfaultfd: EPERM"],
    privileged: { expect: ["userfaultfd: OK"] },
  },
  {
    what: "syslog(SYSLOG_ACTION_SIZE_BUFFER) (the host's kernel log)",
    because: "seccomp; no CAP_SYSLOG",
    script: `${P} syslog`,
    expect: ["syslog: EPERM"],
    privileged: { expect: ["syslog: OK"] },
  },
  {
    what: "fsopen(tmpfs) (the new mount API)",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} fsopen`,
    expect: ["fsopen: EPERM"],
    privileged: { expect: ["fsopen: OK"] },
  },
  {
    what: "io_uring_setup (a large attack surface of the kernel)",
    because: "seccomp",
    seccomp: true,
    script: `${P} io_uring`,
    expect: ["io_uring_setup: EPERM"],
    privileged: { expect: onHost("io_uring") },
  },
  {
    what: "open_by_handle_at of the host filesystem's root (shocker)",
    because: "seccomp; no CAP_DAC_READ_SEARCH",
    script: `${P} open-by-handle ${SHOCKER_HANDLE} /`,
    expect: ["open_by_handle_at: EPERM"],
    privileged: {
      expect: ["open_by_handle_at: OK", "listing: OK"],
      check: (_t, run) => {
        // The escape: the host's directory, outside the container's rootfs, listed from inside.
        const names = (run.steps[1]?.detail ?? "").split(",").sort();
        assert.deepEqual(names, fs.readdirSync(SHOCKER_ROOT).sort(), `the host's ${SHOCKER_ROOT}`);
      },
    },
  },
  // ---- namespaces ----------------------------------------------------------------------------
  {
    what: "unshare -U (a user namespace: root with all capabilities in it)",
    because: "seccomp",
    seccomp: true, // the kernel lets anyone make one
    script: `${P} unshare U`,
    expect: ["unshare: EPERM"],
    privileged: { expect: ["unshare: OK"] },
  },
  {
    what: "clone(CLONE_NEWUSER)",
    because: "seccomp (clone flags filter)",
    seccomp: true,
    script: `${P} clone U`,
    expect: ["clone: EPERM"],
    privileged: { expect: ["clone: OK"] },
  },
  {
    what: "clone3(CLONE_NEWUSER)",
    because: "seccomp (clone3 is ENOSYS, so libcs fall back to the filtered clone)",
    seccomp: true,
    script: `${P} clone3 U`,
    expect: ["clone3: ENOSYS"],
    privileged: { expect: ["clone3: OK"] },
  },
  {
    what: "unshare -m (a mount namespace)",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} unshare m`,
    expect: ["unshare: EPERM"],
    privileged: { expect: ["unshare: OK"] },
  },
  {
    what: "setns to the container's own namespaces (/proc/1/ns/mnt, /proc/self/ns/net)",
    because: "seccomp; no CAP_SYS_ADMIN",
    script: `${P} setns /proc/1/ns/mnt; ${P} setns /proc/self/ns/net`,
    expect: ["open: OK", "setns: EPERM", "open: OK", "setns: EPERM"],
    privileged: { expect: ["open: OK", "setns: OK", "open: OK", "setns: OK"] },
  },
  {
    what: `setns to a host process's namespaces (/proc/${HOST_PID}/ns/mnt)`,
    because: "not visible from the container's pid namespace",
    script: `${P} setns /proc/${HOST_PID}/ns/mnt`,
    expect: ["open: ENOENT"],
    privileged: { expect: ["open: ENOENT"] }, // privileged does not mean the host's pid namespace
  },
  // ---- processes -----------------------------------------------------------------------------
  {
    what: `ptrace(PTRACE_ATTACH) of a host process (pid ${HOST_PID})`,
    because: "not visible from the container's pid namespace",
    script: `${P} ptrace ${HOST_PID}`,
    expect: ["ptrace-attach: ESRCH"],
    privileged: { expect: ["ptrace-attach: ESRCH"] },
  },
  {
    what: "ptrace(PTRACE_ATTACH) of the container's PID 1 (same uid, same capabilities)",
    because: "allowed, as in Docker (its profile allows ptrace on kernels >= 4.8): inside the container only",
    script: `${P} ptrace 1; true`, // "; true": PID 1 stays the shell, the probe is its child
    expect: ["ptrace-attach: OK", "ptrace-detach: OK"],
    privileged: { expect: ["ptrace-attach: OK", "ptrace-detach: OK"] },
  },
  {
    what: "chroot breakout (chroot into a subdir, chdir .. x32, chroot .)",
    because: "pivot_root: the mount namespace's root is the container's rootfs",
    script: `${P} chroot-breakout`,
    expect: ["root-before: OK", "chroot: OK", "chroot-dot: OK", "root-after: OK", "listing: OK"],
    check: (_t, run) => assertStayedInside(run),
    privileged: {
      expect: ["root-before: OK", "chroot: OK", "chroot-dot: OK", "root-after: OK", "listing: OK"],
      check: (_t, run) => assertStayedInside(run),
    },
  },
  // ---- network -------------------------------------------------------------------------------
  {
    what: "socket(AF_INET, SOCK_RAW) and socket(AF_PACKET, SOCK_RAW) without CAP_NET_RAW",
    because: "CAP_NET_RAW dropped",
    script: `${P} rawsock`,
    opts: { caps: DOCKER_DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_NET_RAW") },
    expect: ["raw-inet: EPERM", "raw-packet: EPERM"],
    privileged: { expect: ["raw-inet: OK", "raw-packet: OK"] },
  },
  {
    what: "socket(AF_VSOCK) (the VM's host) and socket(AF_ALG) (the kernel's crypto API)",
    because: "seccomp (socket family filter)",
    seccomp: true,
    script: `${P} vsock-alg`,
    expect: ["vsock: EPERM", "alg: EPERM"],
    privileged: { expect: onHost("vsock-alg") },
  },
  {
    what: "socket(AF_INET, SOCK_RAW) with Docker's default CAP_NET_RAW",
    because: "allowed, as in Docker: the container's own network namespace",
    script: `${P} rawsock`,
    expect: ["raw-inet: OK", "raw-packet: OK"],
    privileged: { expect: ["raw-inet: OK", "raw-packet: OK"] },
  },
];

function assertStayedInside(run: AttackRun): void {
  const before = run.steps.find((s) => s.step === "root-before")?.detail;
  const afterBreakout = run.steps.find((s) => s.step === "root-after")?.detail;
  assert.equal(afterBreakout, before, "/ after the breakout is still the container's root");
  const names = (run.steps.find((s) => s.step === "listing")?.detail ?? "").split(",").sort();
  assert.deepEqual(names, fs.readdirSync(run.bundle.rootfs).sort(), "and lists the rootfs");
}

function title(variant: Variant, a: Attack, expect: string[], because?: string): string {
  return `${variant}: ${a.what} → ${expect.join(", ")}${because ? ` (${because})` : ""}`;
}

describe("the configurations under attack", () => {
  for (const variant of ["default", "privileged"] as const) {
    const caps = variant === "default" ? DOCKER_DEFAULT_CAPABILITIES : HOST_CAPS;
    const seccomp = variant === "default" ? "2" : "0";
    const mode = variant === "default" ? "ro" : "rw";
    test(
      `${variant}: the init and an exec'd process have ${caps.length} capabilities, no_new_privs 0, Seccomp ${seccomp}; /sys and /sys/fs/cgroup are ${mode}`,
      (t) => {
        const c = container(t, "sleep 100", { modify: configure(variant) });
        const wanted = { CapBnd: capMask(caps), CapEff: capMask(caps), NoNewPrivs: "0", Seccomp: seccomp };
        const pick = (f: Record<string, string>) => ({ CapBnd: f["CapBnd"], CapEff: f["CapEff"], NoNewPrivs: f["NoNewPrivs"], Seccomp: f["Seccomp"] });
        assert.deepEqual(pick(statusFields(fs.readFileSync(`/proc/${c.pid}/status`, "utf8"))), wanted, "the init");
        const res = ok(execSh(c.id, "cat /proc/self/status; echo ---; grep -E '^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /sys(/fs/cgroup)? ' /proc/self/mountinfo | cut -d' ' -f5,6"));
        const [status = "", mounts = ""] = res.stdout.split("---\n");
        assert.deepEqual(pick(statusFields(status)), wanted, "an exec'd process");
        const opts = Object.fromEntries(mounts.trim().split("\n").map((l) => l.split(" ") as [string, string]));
        for (const m of ["/sys", "/sys/fs/cgroup"]) assert.equal(opts[m]?.split(",")[0], mode, `${m}: ${mounts}`);
      },
    );
  }
});

describe("default container (docker run)", () => {
  for (const a of ATTACKS) {
    test(title("default", a, a.expect, a.because), seccompTodo(a.seccomp === true), (t) => {
      const run = attack(t, "default", a.script, a.opts);
      assert.deepEqual(outcomes(run.steps), a.expect, run.stdout);
      a.check?.(t, run);
    });
  }
});

describe("privileged container (docker run --privileged): the same attacks get through", () => {
  for (const a of ATTACKS) {
    const p = a.privileged;
    if ("skip" in p) {
      test(title("privileged", a, ["not run"]), { skip: p.skip }, () => {});
      continue;
    }
    test(title("privileged", a, p.expect), (t) => {
      const run = attack(t, "privileged", p.script ?? a.script, p.opts);
      assert.deepEqual(outcomes(run.steps), p.expect, run.stdout);
      p.check?.(t, run);
    });
  }
});

// ---- devices (the device cgroup) ---------------------------------------------------------------

describe("devices: mknod is allowed (as in Docker), opening is not", () => {
  const disk = hostRootDevice();

  test(`default: mknod of the host's disk (b ${disk.major}:${disk.minor}) → OK, open → EPERM (device cgroup)`, (t) => {
    const run = attack(t, "default", `${P} mknod /tmp/disk b ${disk.major} ${disk.minor}`);
    assert.deepEqual(outcomes(run.steps), ["mknod: OK", "open: EPERM"]);
  });

  test("default: mknod of /dev/mem (c 1:1) → OK, open → EPERM (device cgroup)", (t) => {
    const run = attack(t, "default", `${P} mknod /tmp/mem c 1 1`);
    assert.deepEqual(outcomes(run.steps), ["mknod: OK", "open: EPERM"]);
  });

  test("default: mknod of a loop device the host set up → OK, open → EPERM (device cgroup)", (t) => {
    const loop = loopDevice(t, LOOP_MARKER);
    const run = attack(t, "default", `${P} mknod /tmp/loop b ${loop.major} ${loop.minor}`);
    assert.deepEqual(outcomes(run.steps), ["mknod: OK", "open: EPERM"]);
  });

  test("privileged: mknod of a loop device the host set up → OK, open → OK, its data readable", (t) => {
    const loop = loopDevice(t, LOOP_MARKER);
    const run = attack(t, "privileged", `${P} mknod /tmp/loop b ${loop.major} ${loop.minor}`);
    assert.deepEqual(outcomes(run.steps), ["mknod: OK", "open: OK", "read: OK"]);
    assert.ok(run.steps[2]?.detail.startsWith(LOOP_MARKER), `read the host's data: ${run.steps[2]?.detail}`);
  });

  test("privileged: mknod + open of the host's disk and /dev/mem", { skip: "never opened for real: the loop device shows it" }, () => {});
});
