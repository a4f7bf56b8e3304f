// OCI hooks: every phase runs at its point of the lifecycle, in order, with the state JSON on
// stdin and in the right namespaces; a failing or timed-out hook undoes the create.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupRuntime, runtimeCli } from "../fixtures/runtime";
import { DEFAULT_PATH_ENV, TestSpec } from "../fixtures/busybox";
import { alive, assertNothingLeft, bundle, fails, ok, state, tmpDir, waitFor, waitStatus } from "./helpers";

after(() => cleanupRuntime());

/** A hook script that appends "<phase> <mnt-ns> <uts-ns> <stdin>" to `log`. */
function writeHook(file: string, log: string): void {
  fs.writeFileSync(
    file,
    `#!/bin/sh\necho "$1 $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts) $(cat)" >> ${log}\n`,
    { mode: 0o755 },
  );
}

interface LogLine {
  phase: string;
  mntNs: string;
  utsNs: string;
  state: { id: string; pid: number; status: string; bundle: string; ociVersion: string };
}

function readLog(log: string): LogLine[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [phase, mntNs, utsNs, ...rest] = l.split(" ");
      return { phase: phase!, mntNs: mntNs!, utsNs: utsNs!, state: JSON.parse(rest.join(" ")) };
    });
}

/**
 * A bundle with a hook for every phase: host-side scripts in a temp dir (mounted in the
 * container at /hooks so the startContainer hook, which runs in the container, logs there too).
 */
function hookedBundle(t: Parameters<typeof bundle>[0], args: string[], tweak?: (s: TestSpec, dir: string) => void) {
  const dir = tmpDir(t, 0o755);
  const log = path.join(dir, "log");
  const hostHook = path.join(dir, "hook.sh");
  writeHook(hostHook, log);
  const b = bundle(t, {
    args,
    modify: (s) => {
      s.hostname = "berth-test-hooks";
      s.mounts.push({ destination: "/hooks", type: "bind", source: dir, options: ["rbind", "rw"] });
      const h = (phase: string) => [{ path: hostHook, args: ["hook.sh", phase], env: [DEFAULT_PATH_ENV] }];
      s.hooks = {
        prestart: h("prestart"),
        createRuntime: h("createRuntime"),
        createContainer: h("createContainer"),
        // Runs inside the container after pivot_root: a path in the rootfs, the container's sh.
        startContainer: [{ path: "/hook.sh", args: ["hook.sh", "startContainer"], env: [DEFAULT_PATH_ENV] }],
        poststart: h("poststart"),
        poststop: h("poststop"),
      };
      tweak?.(s, dir);
    },
  });
  writeHook(path.join(b.rootfs, "hook.sh"), "/hooks/log");
  return { b, log, dir, hostHook };
}

test("hooks: all phases run across create/start/delete, each at its step, with the state on stdin", async (t) => {
  const { b, log } = hookedBundle(t, ["sleep", "100"]);
  const hostMnt = fs.readlinkSync("/proc/self/ns/mnt");
  const hostUts = fs.readlinkSync("/proc/self/ns/uts");

  ok(runtimeCli(["create", "--bundle", b.dir, b.id]), "create");
  const pid = state(b.id).pid;
  const initMnt = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  const initUts = fs.readlinkSync(`/proc/${pid}/ns/uts`);
  assert.deepEqual(readLog(log).map((l) => l.phase), ["prestart", "createRuntime", "createContainer"]);

  ok(runtimeCli(["start", b.id]), "start");
  // Their relative order is checked by the next test; here: both ran, after the create hooks.
  await waitFor("startContainer and poststart", () => readLog(log).length >= 5);
  assert.deepEqual(readLog(log).map((l) => l.phase).slice(3).sort(), ["poststart", "startContainer"]);

  ok(runtimeCli(["delete", "--force", b.id]), "delete");
  const lines = readLog(log);
  assert.equal(lines.length, 6);
  assert.equal(lines[5]?.phase, "poststop");
  for (const l of lines) {
    assert.equal(l.state.id, b.id, `${l.phase}: id`);
    assert.equal(l.state.bundle, b.dir, `${l.phase}: bundle`);
    assert.equal(typeof l.state.ociVersion, "string", `${l.phase}: ociVersion`);
    if (l.phase !== "poststop") assert.equal(l.state.pid, pid, `${l.phase}: pid`);
  }
  const by = Object.fromEntries(lines.map((l) => [l.phase, l]));
  assert.equal(by["poststart"]?.state.status, "running");
  assert.equal(by["poststop"]?.state.status, "stopped");
  // Runtime-namespace hooks run on the host; container hooks in the container's namespaces.
  for (const p of ["prestart", "createRuntime", "poststart", "poststop"]) {
    assert.equal(by[p]?.mntNs, hostMnt, `${p} runs in the runtime's mount namespace`);
    assert.equal(by[p]?.utsNs, hostUts, `${p} runs in the runtime's UTS namespace`);
  }
  for (const p of ["createContainer", "startContainer"]) {
    assert.equal(by[p]?.mntNs, initMnt, `${p} runs in the container's mount namespace`);
    assert.equal(by[p]?.utsNs, initUts, `${p} runs in the container's UTS namespace`);
  }
});

test(
  "hooks: poststart runs after the startContainer hooks and the process's exec, before start returns",
  async (t) => {
  const { b, dir } = hookedBundle(t, ["sleep", "100"], (s, d) => {
    // A slow startContainer hook: start must wait for it and for the exec of the process.
    s.hooks!["startContainer"] = [{ path: "/bin/sh", args: ["sh", "-c", "sleep 0.5; echo startContainer >> /hooks/order"] }];
    s.hooks!["poststart"] = [
      {
        path: "/bin/sh",
        args: ["sh", "-c", `pid=$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/'); echo "poststart $(tr '\\0' ' ' < /proc/$pid/cmdline)" >> ${d}/order`],
        env: [DEFAULT_PATH_ENV],
      },
    ];
  });
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]));
  ok(runtimeCli(["start", b.id]));
  const order = path.join(dir, "order");
  // Both lines are there when start returns (OCI: poststart runs before start returns).
  const lines = fs.existsSync(order) ? fs.readFileSync(order, "utf8").split("\n").map((l) => l.trim()).filter(Boolean) : [];
  assert.deepEqual(lines, ["startContainer", "poststart sleep 100"]);
});

test("hooks: run (foreground) runs every phase, poststop after the process exits", (t) => {
  const { b, log } = hookedBundle(t, ["sh", "-c", "echo in-container >> /hooks/log-body"]);
  ok(runtimeCli(["run", "--bundle", b.dir, b.id]));
  const phases = readLog(log).map((l) => l.phase);
  // startContainer vs poststart: see "poststart runs after the startContainer hooks ...".
  assert.deepEqual(phases.slice(0, 3), ["prestart", "createRuntime", "createContainer"]);
  assert.deepEqual(phases.slice(3, 5).sort(), ["poststart", "startContainer"]);
  assert.equal(phases[5], "poststop");
  assert.equal(phases.length, 6);
});

test("hooks: createContainer runs before pivot_root (host paths visible), startContainer after it", async (t) => {
  const { b, log } = hookedBundle(t, ["sleep", "100"], (s, dir) => {
    s.hooks!["createContainer"] = [
      { path: "/bin/sh", args: ["sh", "-c", `test -e ${dir}/hook.sh && echo seen-host >> ${dir}/where`], env: [DEFAULT_PATH_ENV] },
    ];
    s.hooks!["startContainer"] = [
      { path: "/bin/sh", args: ["sh", "-c", `test -e ${dir}/hook.sh && echo host || echo container-root >> /hooks/where`] },
    ];
  });
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]));
  ok(runtimeCli(["start", b.id]));
  const where = path.join(path.dirname(log), "where");
  await waitFor("both hooks", () => fs.existsSync(where) && fs.readFileSync(where, "utf8").split("\n").length >= 3);
  assert.equal(fs.readFileSync(where, "utf8"), "seen-host\ncontainer-root\n");
});

test("hooks: a failing prestart hook makes create fail; nothing is left, poststop still runs", (t) => {
  const { b, log } = hookedBundle(t, ["sleep", "100"], (s, d) => {
    const failing = path.join(d, "fail.sh");
    fs.writeFileSync(failing, "#!/bin/sh\necho prestart-failing >&2\nexit 3\n", { mode: 0o755 });
    s.hooks!["prestart"] = [{ path: failing }];
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  fails(res);
  assert.match(res.stderr, /prestart/);
  assert.match(res.stderr, /exit status 3/);
  assertNothingLeft(b.id);
  const phases = readLog(log).map((l) => l.phase);
  assert.ok(!phases.includes("createRuntime") && !phases.includes("createContainer"), `later hooks do not run: ${phases}`);
  assert.ok(phases.includes("poststop"), `poststop runs: ${phases}`);
});

test("hooks: a failing createContainer hook (run in the stage) makes create fail and leaves nothing", (t) => {
  const { b, log } = hookedBundle(t, ["sleep", "100"], (s) => {
    s.hooks!["createContainer"] = [{ path: "/bin/false", args: ["false"] }];
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  fails(res);
  assert.match(res.stderr, /createContainer/);
  assertNothingLeft(b.id);
  const phases = readLog(log).map((l) => l.phase);
  assert.deepEqual(phases.filter((p) => p !== "poststop"), ["prestart", "createRuntime"]);
});

test(
  "hooks: a failing startContainer hook makes start fail, and the process never runs",
  async (t) => {
  const { b, dir } = hookedBundle(t, ["sh", "-c", "echo ran > /hooks/process-ran; sleep 100"], (s) => {
    s.hooks!["startContainer"] = [{ path: "/bin/false", args: ["false"] }];
  });
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]));
  const res = runtimeCli(["start", b.id]);
  // OCI: "If any startContainer hook fails, the runtime MUST generate an error, stop the container".
  fails(res);
  assert.match(res.stderr, /startContainer/);
  await waitStatus(b.id, "stopped");
  assert.equal(fs.existsSync(path.join(dir, "process-ran")), false);
});

test("hooks: a hook that is not executable makes create fail naming it", (t) => {
  const { b } = hookedBundle(t, ["sleep", "100"], (s) => {
    s.hooks!["createRuntime"] = [{ path: "/berth-test-no-such-hook" }];
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  fails(res);
  assert.match(res.stderr, /berth-test-no-such-hook/);
  assertNothingLeft(b.id);
});

for (const phase of ["prestart", "createContainer"] as const) {
  test(`hooks: a ${phase} hook exceeding its timeout is killed and create fails within ~2 s`, (t) => {
    const { b, dir } = hookedBundle(t, ["sleep", "100"], (s, d) => {
      const slow = path.join(d, "slow.sh");
      fs.writeFileSync(slow, `#!/bin/sh\necho $$ > ${d}/slow.pid\nexec sleep 10\n`, { mode: 0o755 });
      s.hooks![phase] = [{ path: slow, timeout: 1 }];
    });
    const t0 = Date.now();
    const res = runtimeCli(["create", "--bundle", b.dir, b.id], { timeoutMs: 15_000 });
    const took = Date.now() - t0;
    fails(res);
    assert.ok(took < 2500, `create failed after ${took} ms`);
    assert.match(res.stderr, new RegExp(phase));
    assert.match(res.stderr, /timed out/);
    assertNothingLeft(b.id);
    const pid = Number(fs.readFileSync(path.join(dir, "slow.pid"), "utf8"));
    assert.ok(pid > 0);
    // In the runtime's namespaces the pid is the host's; in the container it died with the init.
    if (phase === "prestart") assert.equal(alive(pid), false, "the timed-out hook was killed");
  });
}

test("hooks: a failing poststart hook is only a warning; the container keeps running", async (t) => {
  const { b } = hookedBundle(t, ["sleep", "100"], (s) => {
    s.hooks!["poststart"] = [{ path: "/bin/false", args: ["false"] }];
  });
  ok(runtimeCli(["create", "--bundle", b.dir, b.id]));
  const res = runtimeCli(["start", b.id]);
  // runc: poststart failures are logged; the container has started either way.
  assert.match(res.stderr, /poststart/);
  assert.equal((await waitStatus(b.id, "running")).status, "running");
});

test("hooks: hook env and args are exactly the spec's", (t) => {
  const { b, dir } = hookedBundle(t, ["true"], (s, d) => {
    s.hooks!["createRuntime"] = [
      { path: "/bin/sh", args: ["sh", "-c", `echo "$0|$1|$FOO|$(env | grep -c .)" > ${d}/env`, "arg0", "arg1"], env: ["FOO=bar"] },
    ];
  });
  ok(runtimeCli(["run", "--bundle", b.dir, b.id]));
  // FOO plus what sh itself adds (PWD; some shells add SHLVL/_): nothing of the runtime's env.
  const [a0, a1, foo, n] = fs.readFileSync(path.join(dir, "env"), "utf8").trim().split("|");
  assert.equal(a0, "arg0");
  assert.equal(a1, "arg1");
  assert.equal(foo, "bar");
  assert.ok(Number(n) <= 4, `hook environment has ${n} variables`);
});
