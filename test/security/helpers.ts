// Shared pieces of the security suite (test/security): the two container configurations it
// attacks, the static attack probe (native/test-tools/escape-probe.c) and facts about the host
// that decide what a realistic outcome is.
//
// "default" is exactly what `docker run` gives a container: Docker's 14 capabilities, masked and
// read-only paths, no_new_privs off, /sys and the cgroup mount read-only, a deny-all device
// cgroup (plus the runtime's defaults: mknod of anything, the standard /dev nodes) and Docker's
// default seccomp profile. "privileged" is `docker run --privileged`: every capability
// berth-runtime holds, no seccomp, no masked or read-only paths, every device, /sys and the
// cgroup mount read-write. The privileged runs show that every attack of the suite is a real
// attack: where the default configuration blocks it, the privileged one lets it through.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { Bundle, TestSpec } from "../fixtures/busybox";
import { CliResult } from "../fixtures/runtime";
import { CAP_BITS, describe, installTool, REPO_ROOT, runSh, TEST_TOOLS, TestCtx } from "../runtime/helpers";
import {
  DOCKER_DEFAULT_CAPABILITIES,
  DOCKER_DEFAULT_DEVICE_RULES,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
} from "../../src/runtime/spec/docker-defaults";
import { dockerDefaultProfile } from "../../src/runtime/seccomp/default-profile";
import type { LinuxSeccomp } from "../../src/runtime/spec/types";

export { REPO_ROOT };

/** The attack probe, statically linked (runs inside the busybox rootfs as /bin/escape-probe). */
export const PROBE = path.join(TEST_TOOLS, "escape-probe");

// ---------------------------------------------------------------------------------------------
// seccomp

/**
 * Local switch for a berth-runtime that does not apply `linux.seccomp` (it refused such specs
 * until commit af4b0fb): with false, default containers run without the profile and the tests
 * whose outcome comes from the profile are marked todo.
 */
export const SECCOMP_WIRED: boolean = true;

/** node:test options for a test whose expected outcome needs Docker's seccomp profile. */
export function seccompTodo(needsSeccomp: boolean): { todo?: string } {
  return needsSeccomp && !SECCOMP_WIRED ? { todo: "needs linux.seccomp wired into berth-runtime" } : {};
}

/** Docker's default profile for a container with `capabilities` (as dockerd expands it). */
export function dockerSeccomp(capabilities: readonly string[]): LinuxSeccomp {
  return dockerDefaultProfile({ capabilities: [...capabilities] });
}


// ---------------------------------------------------------------------------------------------
// the host

const hostStatus = fs.readFileSync("/proc/self/status", "utf8");

/** Capability names in this process's (= berth-runtime's) bounding set. */
export const HOST_CAPS: readonly string[] = (() => {
  const m = /^CapBnd:\s*([0-9a-f]+)/m.exec(hostStatus);
  const mask = BigInt("0x" + (m?.[1] ?? "0"));
  return Object.keys(CAP_BITS).filter((c) => (mask >> BigInt(CAP_BITS[c] ?? 0)) & 1n);
})();

/** Pure cgroup v2 host (then Docker adds a cgroup namespace). */
export const CGROUP_V2 = fs.existsSync("/sys/fs/cgroup/cgroup.controllers");

/** The kernel supports loadable modules / kexec / magic sysrq. */
export const HOST_HAS_MODULES = fs.existsSync("/proc/modules");
export const HOST_HAS_KEXEC = fs.existsSync("/sys/kernel/kexec_loaded");
export const HOST_HAS_SYSRQ = fs.existsSync("/proc/sysrq-trigger");

/** A cgroup v1 controller hierarchy mounted on the host (e.g. "pids"), or undefined. */
export const V1_CONTROLLER: string | undefined = (() => {
  const mounted = new Set<string>();
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [type, , opts] = line.slice(sep + 3).split(" ");
    if (type === "cgroup") for (const o of (opts ?? "").split(",")) mounted.add(o);
  }
  return ["pids", "memory", "freezer", "devices", "blkio", "cpu"].find((c) => mounted.has(c));
})();

/** major, minor of the block device the host's / is on (a real disk here: 254:0). */
export function hostRootDevice(): { major: number; minor: number } {
  const dev = fs.statSync("/").dev;
  return { major: Math.floor(dev / 256) & 0xfff, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00) };
}

export const sha256 = (file: string): string =>
  crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

// ---------------------------------------------------------------------------------------------
// the two configurations

export type Variant = "default" | "privileged";

export interface ConfigOptions {
  /** Capabilities instead of Docker's default 14 (default variant; the profile follows them). */
  caps?: readonly string[];
}

const CGROUP_MOUNT_OPTS = ["nosuid", "noexec", "nodev", "relatime"];

function setAllCaps(spec: TestSpec, caps: readonly string[]): void {
  spec.process.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}

function namespaces(spec: TestSpec): void {
  spec.linux.namespaces = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }];
  if (CGROUP_V2) spec.linux.namespaces.push({ type: "cgroup" });
}

/** Turns makeBundle's spec into `docker run`'s default (see the file comment). */
export function dockerDefault(spec: TestSpec, opts: ConfigOptions = {}): void {
  const caps = opts.caps ?? DOCKER_DEFAULT_CAPABILITIES;
  setAllCaps(spec, caps);
  spec.process.noNewPrivileges = false;
  namespaces(spec);
  spec.linux.maskedPaths = [...DOCKER_MASKED_PATHS];
  spec.linux.readonlyPaths = [...DOCKER_READONLY_PATHS];
  for (const m of spec.mounts) if (m.destination === "/sys") m.options = ["nosuid", "noexec", "nodev", "ro"];
  spec.mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: [...CGROUP_MOUNT_OPTS, "ro"] });
  spec.linux.resources = { devices: DOCKER_DEFAULT_DEVICE_RULES.map((r) => ({ ...r })) };
  if (SECCOMP_WIRED) spec.linux["seccomp"] = dockerSeccomp(caps);
  else delete spec.linux["seccomp"];
}

/** Turns makeBundle's spec into `docker run --privileged` (see the file comment). */
export function privileged(spec: TestSpec): void {
  setAllCaps(spec, HOST_CAPS);
  spec.process.noNewPrivileges = false;
  namespaces(spec);
  spec.linux.maskedPaths = [];
  spec.linux.readonlyPaths = [];
  for (const m of spec.mounts) if (m.destination === "/sys") m.options = ["nosuid", "noexec", "nodev", "rw"];
  spec.mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: [...CGROUP_MOUNT_OPTS, "rw"] });
  spec.linux.resources = { devices: [{ allow: true, access: "rwm" }] };
  delete spec.linux["seccomp"];
}

export function configure(variant: Variant, opts: ConfigOptions = {}): (spec: TestSpec) => void {
  return (spec) => (variant === "default" ? dockerDefault(spec, opts) : privileged(spec));
}

// ---------------------------------------------------------------------------------------------
// running attacks

/** One line of the probe's output: "<step>: <OK|ERRNO> [n] [detail]". */
export interface Step {
  step: string;
  result: string;
  detail: string;
}

export function parseSteps(stdout: string): Step[] {
  const steps: Step[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^([\w-]+): (?:OK|(E[A-Z0-9]+) \d+)(?: (.*))?$/.exec(line);
    if (m) steps.push({ step: m[1] ?? "", result: m[2] ?? "OK", detail: m[3] ?? "" });
  }
  return steps;
}

/** "step: RESULT" per line, for deepEqual against an expectation. */
export const outcomes = (steps: Step[]): string[] => steps.map((s) => `${s.step}: ${s.result}`);

export interface AttackRun extends CliResult {
  bundle: Bundle;
  steps: Step[];
}

export interface RunOptions extends ConfigOptions {
  /** More spec changes, after the variant's. */
  modify?: (spec: TestSpec) => void;
  /** Called with the bundle (probe installed) before `run`. */
  prepare?: (b: Bundle) => void;
}

/**
 * Runs `sh -c script` as the init of a fresh container of `variant` (escape-probe installed as
 * /bin/escape-probe) in the foreground; asserts exit 0 and returns the probe's steps.
 */
export function attack(t: TestCtx, variant: Variant, script: string, opts: RunOptions = {}): AttackRun {
  const res = runSh(t, script, {
    modify: (s) => {
      configure(variant, opts)(s);
      opts.modify?.(s);
    },
    prepare: (b) => {
      installTool(b.rootfs, PROBE, "/bin/escape-probe");
      opts.prepare?.(b);
    },
  });
  assert.equal(res.code, 0, `the attack's container: ${describe(res)}`);
  const steps = parseSteps(res.stdout);
  t.diagnostic(res.stdout.trim().replace(/\n/g, " | "));
  return { ...res, steps };
}

/** A loop device over a fresh temp file that starts with `marker`; detached when the test ends. */
export function loopDevice(t: TestCtx, marker: string): { dev: string; major: number; minor: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-loop-"));
  const file = path.join(dir, "disk.img");
  const img = Buffer.alloc(1024 * 1024);
  img.write(marker, 0);
  fs.writeFileSync(file, img);
  let dev = "";
  t.after(() => {
    try {
      if (dev !== "") execFileSync("losetup", ["-d", dev]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  dev = execFileSync("losetup", ["--find", "--show", file], { encoding: "utf8" }).trim();
  const rdev = fs.statSync(dev).rdev;
  return { dev, major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}
