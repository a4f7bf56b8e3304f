// Shared helpers for the real-kernel integration tests of berth-runtime (test/runtime/*.test.ts).
//
// Every container a test makes lives in the per-process --root of test/fixtures/runtime.ts and
// in a bundle of test/fixtures/busybox.ts; `container()` registers their cleanup on the test, so
// a failing assertion never leaves a container, a cgroup or a bundle behind.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Bundle, makeBundle, MakeBundleOptions, TestSpec } from "../fixtures/busybox";
import { CliOptions, CliResult, REPO_ROOT, runtimeCli, testRoot } from "../fixtures/runtime";

export { REPO_ROOT };

/** The part of node:test's TestContext the helpers need. */
export interface TestCtx {
  after(fn: () => void | Promise<void>): void;
  diagnostic(message: string): void;
}

/** Compiled test helpers (native/test-tools), built by `make -C native`. */
export const TEST_TOOLS = path.join(REPO_ROOT, "native", "build", "test-tools");
export const RECVTTY = path.join(TEST_TOOLS, "recvtty");
export const MSGQ = path.join(TEST_TOOLS, "msgq");
export const STAGE_BINARY = path.join(REPO_ROOT, "native", "build", "berth-stage");

/** cgroup v1 hierarchies under which the runtime makes /berth/<id> on this host. */
export const CGROUP_ROOT = "/sys/fs/cgroup";

/** Text of a failed command, for assertion messages. */
export function describe(res: CliResult): string {
  const how = res.timedOut ? "timed out" : res.code === null ? `killed by ${res.signal}` : `exit ${res.code}`;
  return `${how}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`;
}

/** Asserts exit status 0 (with stdout/stderr in the message otherwise) and returns the result. */
export function ok(res: CliResult, what = "berth-runtime"): CliResult {
  assert.equal(res.code, 0, `${what}: ${describe(res)}`);
  return res;
}

/** Asserts a failure with exit status `code` (default 1) and returns the result. */
export function fails(res: CliResult, code = 1, what = "berth-runtime"): CliResult {
  assert.equal(res.code, code, `${what} should fail with exit ${code}: ${describe(res)}`);
  return res;
}

/** `berth-runtime ...args` (sugar for runtimeCli). */
export function rt(args: string[], opts: CliOptions = {}): CliResult {
  return runtimeCli(args, opts);
}

/** A bundle whose removal is registered on the test (after any container in it is deleted). */
export function bundle(t: TestCtx, opts: MakeBundleOptions = {}): Bundle {
  const b = makeBundle(opts);
  t.after(() => {
    forceDelete(b.id);
    b.cleanup();
  });
  return b;
}

/** `delete --force` that tolerates a container that is already gone. */
export function forceDelete(id: string, root?: string): void {
  const res = runtimeCli(["delete", "--force", id], root ? { root } : {});
  if (res.code !== 0 && !/does not exist/.test(res.stderr)) {
    throw new Error(`cleanup: delete --force ${id}: ${describe(res)}`);
  }
}

export interface ShOptions extends CliOptions {
  modify?: (spec: TestSpec) => void;
  /** Extra flags for `run` (before the id). */
  runArgs?: string[];
  /** Called with the bundle before `run` (e.g. to add files to the rootfs). */
  prepare?: (b: Bundle) => void;
}

/**
 * Runs `sh -c script` in a fresh container in the foreground (`run`) and returns the
 * runtime's result (the container shares its stdout/stderr). The bundle is removed afterwards.
 */
export function runSh(t: TestCtx, script: string, opts: ShOptions = {}): CliResult & { bundle: Bundle } {
  const b = bundle(t, { args: ["sh", "-c", script], modify: opts.modify });
  opts.prepare?.(b);
  const res = runtimeCli(["run", ...(opts.runArgs ?? []), "--bundle", b.dir, b.id], opts);
  return { ...res, bundle: b };
}

/** Like runSh, and asserts exit 0; returns stdout. */
export function shOut(t: TestCtx, script: string, opts: ShOptions = {}): string {
  const res = runSh(t, script, opts);
  ok(res, `run sh -c ${JSON.stringify(script)}`);
  return res.stdout;
}

export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs?: string;
  created?: string;
  owner?: string;
  annotations?: Record<string, string>;
}

/** `state <id>`, parsed; asserts success. */
export function state(id: string): OciState {
  const res = ok(runtimeCli(["state", id]), `state ${id}`);
  return JSON.parse(res.stdout) as OciState;
}

/**
 * A detached container running `sh -c script` (created with `create`, then `start`ed
 * unless `start: false`). Deleted with --force and its bundle removed when the test ends.
 */
export function container(
  t: TestCtx,
  script: string,
  opts: {
    modify?: (spec: TestSpec) => void;
    /** Called with the bundle before `create` (e.g. to add files to the rootfs). */
    prepare?: (b: Bundle) => void;
    start?: boolean;
    createArgs?: string[];
  } = {},
): { b: Bundle; id: string; pid: number } {
  const b = bundle(t, { args: ["sh", "-c", script], modify: opts.modify });
  opts.prepare?.(b);
  ok(runtimeCli(["create", ...(opts.createArgs ?? []), "--bundle", b.dir, b.id]), `create ${b.id}`);
  if (opts.start !== false) ok(runtimeCli(["start", b.id]), `start ${b.id}`);
  const st = state(b.id);
  return { b, id: b.id, pid: st.pid };
}

/** `exec <id> sh -c script`; returns the result. */
export function execSh(id: string, script: string, flags: string[] = [], opts: CliOptions = {}): CliResult {
  return runtimeCli(["exec", ...flags, id, "sh", "-c", script], opts);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export { sleep };

/** Polls `pred` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  pred: () => T | undefined | null | false,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const st = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return st !== "Z" && st !== "X";
  } catch {
    return false;
  }
}

/** Waits until the container's status is `status` (polling `state`). */
export async function waitStatus(id: string, status: string, timeoutMs = 5000): Promise<OciState> {
  let last: OciState | undefined;
  return waitFor(
    `container ${id} to be ${status} (last: ${JSON.stringify(last?.status)})`,
    () => {
      last = state(id);
      return last.status === status ? last : undefined;
    },
    timeoutMs,
    25,
  );
}

/** The container's state directory under the test root. */
export function stateDir(id: string): string {
  return path.join(testRoot(), id);
}

/** Every /sys/fs/cgroup/<hierarchy>/berth/<id> that exists. */
export function cgroupDirs(id: string): string[] {
  const found: string[] = [];
  for (const h of fs.readdirSync(CGROUP_ROOT)) {
    const p = path.join(CGROUP_ROOT, h, "berth", id);
    if (fs.existsSync(p)) found.push(p);
  }
  return found;
}

/** Asserts that nothing of container `id` is left: no state dir, no cgroup. */
export function assertNothingLeft(id: string): void {
  assert.equal(fs.existsSync(stateDir(id)), false, `state dir ${stateDir(id)} should not exist`);
  assert.deepEqual(cgroupDirs(id), [], `no cgroup of ${id} should be left`);
}

/** A temp dir named berth-test-*, removed (if nothing is mounted in it) when the test ends. */
export function tmpDir(t: TestCtx, mode = 0o755): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-tmp-"));
  fs.chmodSync(dir, mode);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Mount points (field 5) of this process's /proc/self/mountinfo. */
export function hostMountPoints(): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4] ?? "");
}

/** The whole of /proc/self/mountinfo. */
export function hostMountinfo(): string {
  return fs.readFileSync("/proc/self/mountinfo", "utf8");
}

/** Copies a host file into the rootfs (e.g. a test tool into /bin), mode 0755. */
export function installTool(rootfs: string, hostFile: string, dest: string): void {
  const target = path.join(rootfs, dest.replace(/^\/+/, ""));
  fs.copyFileSync(hostFile, target);
  fs.chmodSync(target, 0o755);
}

/** Capability names → the /proc/<pid>/status mask (16 hex digits). */
export const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

export function capMask(caps: readonly string[]): string {
  let m = 0n;
  for (const c of caps) {
    const bit = CAP_BITS[c];
    if (bit === undefined) throw new Error(`unknown capability ${c}`);
    m |= 1n << BigInt(bit);
  }
  return m.toString(16).padStart(16, "0");
}

/** Parses "Key:\tvalue" lines (as in /proc/<pid>/status) into a map. */
export function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Sets the process capabilities (all of bounding/effective/permitted) to `caps`. */
export function setCaps(spec: TestSpec, caps: string[]): void {
  spec.process.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}
