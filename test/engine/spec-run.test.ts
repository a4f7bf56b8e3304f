// The engine's spec builder against the real kernel: a `docker run`-like request turned into
// config.json by buildContainerSpec and run with `berth-runtime run --bundle`, checking the
// effects from inside the container (ids, capabilities, cgroup limits, read-only root, tmpfs,
// env, cwd, init, sysctls).
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { buildContainerSpec } from "../../src/engine/spec";
import type { ContainerSpecResult } from "../../src/engine/spec";
import type { ContainerConfig, HostConfig } from "../../src/engine/spec/docker-types";
import { stringifySpec } from "../../src/runtime/spec";
import { buildRootfs, removeTreeSafely } from "../fixtures/busybox";
import { cleanupRuntime, REPO_ROOT, runtimeCli } from "../fixtures/runtime";

const INIT = path.join(REPO_ROOT, "native", "build", "berth-init");
const MiB = 1024 * 1024;

after(() => cleanupRuntime());

const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeTreeSafely(d);
});

/** Does berth-init take tini's "--" before the command, as Docker's /sbin/docker-init does? */
function initUsable(): { ok: boolean; why: string } {
  if (!fs.existsSync(INIT)) return { ok: false, why: `${INIT} is not built yet` };
  const r = spawnSync(INIT, ["--", "/bin/true"], { timeout: 5000 });
  if (r.status !== 0) {
    return { ok: false, why: `berth-init does not accept Docker's "/sbin/docker-init -- CMD" form yet (exit ${r.status}: ${String(r.stderr).trim()})` };
  }
  return { ok: true, why: "" };
}

interface Run {
  result: ContainerSpecResult;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Build the spec for a busybox rootfs from a Docker request, write the bundle, run it in the foreground. */
function runRequest(config: ContainerConfig, hostConfig: HostConfig, withInit: boolean): Run {
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), "berth-spec-run-"));
  dirs.push(bundle);
  const rootfs = path.join(bundle, "rootfs");
  buildRootfs(rootfs);
  const id = crypto.randomBytes(32).toString("hex");
  const result = buildContainerSpec({
    id,
    image: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
    config,
    hostConfig,
    rootfs,
    readFile: (p) => {
      try {
        return fs.readFileSync(path.join(rootfs, p), "utf8");
      } catch {
        return undefined;
      }
    },
    resolveContainer: () => undefined,
    ...(withInit ? { initPath: INIT } : {}),
  });
  fs.writeFileSync(path.join(bundle, "config.json"), stringifySpec(result.spec));
  const res = runtimeCli(["run", "--bundle", bundle, id], { timeoutMs: 30_000 });
  return { result, code: res.code, stdout: res.stdout, stderr: res.stderr };
}

const SCRIPT = [
  "echo uid=$(id -u) gid=$(id -g) groups=$(id -G)",
  "grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status",
  "echo cmdline=$(tr '\\0' ' ' < /proc/1/cmdline)",
  "touch /rootfile 2>/dev/null && echo root=rw || echo root=ro",
  "touch /run/x && echo run=rw || echo run=ro",
  "echo run-opts=$(grep ' /run ' /proc/self/mounts)",
  "echo pwd=$(pwd) foo=$FOO host=$(hostname) hostnameenv=$HOSTNAME",
  "echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)",
  "echo pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)",
  "echo ping=$(cat /proc/sys/net/ipv4/ping_group_range | tr '\\t' ' ')",
  "echo seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)",
  "echo nnp=$(grep '^NoNewPrivs:' /proc/self/status | cut -f2)",
].join("; ");

function fields(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^(\w[\w-]*)[=:]\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

test("a docker-run-like request runs with its options in effect", (t) => {
  const init = initUsable();
  if (!init.ok) t.diagnostic(`init assertion skipped: ${init.why}`);
  const run = runRequest(
    { User: "1000:1000", Env: ["FOO=bar"], WorkingDir: "/home/berth-test", Cmd: ["sh", "-c", SCRIPT], Hostname: "spec-run" },
    {
      Memory: 64 * MiB,
      PidsLimit: 64,
      CapDrop: ["ALL"],
      CapAdd: ["net_raw"],
      ReadonlyRootfs: true,
      Tmpfs: { "/run": "rw,size=16m,noexec" },
      GroupAdd: ["users", "4242"],
      Init: init.ok,
      SecurityOpt: ["no-new-privileges"],
      NetworkMode: "none",
    },
    init.ok,
  );
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  const f = fields(run.stdout);
  assert.equal(f["uid"], "1000 gid=1000 groups=1000 100 4242");
  // Only NET_RAW (bit 13) in the bounding set; a non-root process keeps no effective capabilities.
  assert.equal(f["CapBnd"], "0000000000002000");
  assert.equal(f["CapEff"], "0000000000000000");
  assert.equal(f["CapPrm"], "0000000000000000");
  assert.equal(f["root"], "ro");
  assert.equal(f["run"], "rw");
  assert.match(f["run-opts"] ?? "", /tmpfs \/run tmpfs rw,nosuid,nodev,noexec,.*size=16384k/);
  assert.equal(f["pwd"], "/home/berth-test foo=bar host=spec-run hostnameenv=spec-run");
  assert.equal(f["mem"], String(64 * MiB));
  assert.equal(f["pids"], "64");
  assert.equal(f["ping"], "0 2147483647");
  assert.equal(f["seccomp"], "2");
  assert.equal(f["nnp"], "1");
  if (init.ok) {
    assert.equal(f["cmdline"], `/sbin/docker-init -- sh -c ${SCRIPT}`.replace(/\s+/g, " ").trim());
  } else {
    assert.match(f["cmdline"] ?? "", /^sh -c /);
  }
  assert.deepEqual(run.result.hostDirs, []);
});

test("Docker's defaults: root, default capabilities, masked /proc/timer_list, /dev/shm of 64 MiB", () => {
  const script = [
    "echo uid=$(id -u)",
    "grep -E '^CapEff:' /proc/self/status",
    "echo masked=$(stat -c %t:%T /proc/timer_list) $(wc -c < /proc/timer_list)",
    "echo shm=$(grep ' /dev/shm ' /proc/self/mounts)",
    "echo sysfs=$(grep ' /sys sysfs ' /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1)",
    "touch /rootfile && echo root=rw",
  ].join("; ");
  const run = runRequest({ Cmd: ["sh", "-c", script] }, {}, false);
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  const f = fields(run.stdout);
  assert.equal(f["uid"], "0");
  // Docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
  assert.equal(f["CapEff"], "00000000a80425fb");
  assert.equal(f["masked"], "1:3 0"); // /dev/null bound over it
  assert.match(f["shm"] ?? "", /size=65536k/);
  assert.equal(f["sysfs"], "ro");
  assert.equal(f["root"], "rw");
  assert.ok(run.result.warnings.some((w) => w.includes("bridge network")));
});
