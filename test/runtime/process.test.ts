// The container process: env, cwd, user and groups, umask, rlimits, capabilities,
// no_new_privs, oom_score_adj, sysctls, and how its exit status comes back from `run`.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupRuntime, runtimeCli, runtimeCliAsync } from "../fixtures/runtime";
import { DEFAULT_PATH_ENV, DOCKER_DEFAULT_CAPS } from "../fixtures/busybox";
import {
  assertNothingLeft,
  bundle,
  capMask,
  describe,
  fails,
  ok,
  runSh,
  setCaps,
  shOut,
  state,
  statusFields,
  waitFor,
} from "./helpers";

after(() => cleanupRuntime());

test("env: the spec's environment is the process's, HOME comes from /etc/passwd", (t) => {
  const out = shOut(t, "echo \"FOO=[$FOO]\"; echo \"EMPTY=[$EMPTY]\"; echo HOME=$HOME; env | grep -c ^PATH=", {
    modify: (s) => {
      s.process.env = [DEFAULT_PATH_ENV, "FOO=bar baz", "EMPTY="];
    },
  });
  assert.equal(out, "FOO=[bar baz]\nEMPTY=[]\nHOME=/root\n1\n");
});

test("cwd: the process starts in the spec's cwd", (t) => {
  const out = shOut(t, "pwd; readlink /proc/self/cwd", {
    modify: (s) => {
      s.process.cwd = "/home/berth-test";
    },
  });
  assert.equal(out, "/home/berth-test\n/home/berth-test\n");
});

test(
  "cwd: a missing cwd is created (as runc does), even with a read-only root",
  (t) => {
  const out = shOut(t, "pwd; stat -c %a .", {
    modify: (s) => {
      s.process.cwd = "/var/berth-test-cwd/sub";
      s.root.readonly = true;
    },
  });
  assert.equal(out, "/var/berth-test-cwd/sub\n755\n");
});

test("cwd: a cwd that is not a directory fails with exit 1 (not 127) and names it", (t) => {
  const res = runSh(t, "pwd", {
    modify: (s) => {
      s.process.cwd = "/etc/hostname";
    },
  });
  fails(res, 1);
  assert.match(res.stderr, /\/etc\/hostname/);
  assert.match(res.stderr, /[Nn]ot a directory/);
  assertNothingLeft(res.bundle.id);
});

test("user: uid, gid and additionalGids are applied (and HOME is the user's)", (t) => {
  const out = shOut(t, "id -u; id -g; id -G; echo $HOME; grep -E '^(Uid|Gid|Groups):' /proc/self/status", {
    modify: (s) => {
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 100] };
    },
  });
  const [uid, gid, groups, home, ...status] = out.trim().split("\n");
  assert.equal(uid, "1000");
  assert.equal(gid, "1000");
  assert.deepEqual(new Set((groups ?? "").split(" ")), new Set(["1000", "5", "100"]), `id -G: ${groups}`);
  assert.equal(home, "/home/berth-test");
  const f = statusFields(status.join("\n"));
  assert.equal(f["Uid"], "1000\t1000\t1000\t1000");
  assert.equal(f["Gid"], "1000\t1000\t1000\t1000");
  assert.deepEqual((f["Groups"] ?? "").split(" ").filter(Boolean).sort(), ["100", "5"]);
});

test("user: a non-root user cannot write root-owned files", (t) => {
  const out = shOut(t, "touch /etc/passwd 2>&1; echo rc=$?; touch /home/berth-test/mine && echo home-ok", {
    modify: (s) => {
      s.process.user = { uid: 1000, gid: 1000 };
    },
  });
  assert.match(out, /Permission denied/);
  assert.match(out, /rc=1/);
  assert.match(out, /home-ok/);
});

test("user.umask: the umask is applied to the process and to the files it creates", (t) => {
  const out = shOut(t, "umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d", {
    modify: (s) => {
      s.process.user = { uid: 0, gid: 0, umask: 0o077 };
    },
  });
  assert.equal(out, "0077\n600\n700\n");
});

test("user.umask: defaults to 0022", (t) => {
  assert.equal(shOut(t, "umask"), "0022\n");
});

test("rlimits: soft and hard limits are applied", (t) => {
  const out = shOut(t, "ulimit -n; ulimit -Hn; grep 'Max open files' /proc/self/limits", {
    modify: (s) => {
      s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 100, hard: 200 }];
    },
  });
  const [soft, hard, line] = out.trim().split("\n");
  assert.equal(soft, "100");
  assert.equal(hard, "200");
  assert.match(line ?? "", /Max open files\s+100\s+200\s+files/);
});

test("rlimits: a hard limit above the runtime's own fails clearly and leaves nothing behind", (t) => {
  const b = bundle(t, {
    args: ["true"],
    modify: (s) => {
      s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1048576 }];
    },
  });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  fails(res);
  assert.match(res.stderr, /^berth-runtime: /);
  assert.match(res.stderr, /RLIMIT_NOFILE/);
  assertNothingLeft(b.id);
});

test("capabilities: the process has exactly the spec's sets", (t) => {
  const caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
  const out = shOut(t, "grep -E '^Cap' /proc/self/status", {
    modify: (s) => {
      s.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
    },
  });
  const f = statusFields(out);
  const mask = capMask(caps);
  assert.equal(f["CapBnd"], mask);
  assert.equal(f["CapPrm"], mask);
  assert.equal(f["CapEff"], mask);
  assert.equal(f["CapInh"], "0000000000000000");
  assert.equal(f["CapAmb"], "0000000000000000");
});

test("capabilities: the default Docker set, and ambient capabilities reach a non-root process", (t) => {
  const out = shOut(t, "grep -E '^Cap' /proc/self/status", {
    modify: (s) => {
      s.process.user = { uid: 1000, gid: 1000 };
      s.process.capabilities = {
        bounding: [...DOCKER_DEFAULT_CAPS],
        effective: ["CAP_NET_BIND_SERVICE"],
        permitted: ["CAP_NET_BIND_SERVICE"],
        inheritable: ["CAP_NET_BIND_SERVICE"],
        ambient: ["CAP_NET_BIND_SERVICE"],
      };
    },
  });
  const f = statusFields(out);
  assert.equal(f["CapBnd"], capMask(DOCKER_DEFAULT_CAPS));
  const nbs = capMask(["CAP_NET_BIND_SERVICE"]);
  assert.equal(f["CapAmb"], nbs);
  assert.equal(f["CapEff"], nbs);
  assert.equal(f["CapPrm"], nbs);
});

test("capabilities: without CAP_CHOWN, chown fails; with it, it works", (t) => {
  const script = "touch /tmp/f; chown 1000 /tmp/f 2>&1; echo rc=$?";
  const without = shOut(t, script, { modify: (s) => setCaps(s, DOCKER_DEFAULT_CAPS.filter((c) => c !== "CAP_CHOWN")) });
  assert.match(without, /Operation not permitted/);
  assert.match(without, /rc=1/);
  assert.equal(shOut(t, script), "rc=0\n");
});

test("capabilities: without CAP_NET_RAW, a raw (ping) socket cannot be opened", (t) => {
  const script = "ping -c 1 -W 1 127.0.0.1 2>&1; echo rc=$?";
  const out = shOut(t, script, { modify: (s) => setCaps(s, DOCKER_DEFAULT_CAPS.filter((c) => c !== "CAP_NET_RAW")) });
  assert.match(out, /permission denied|Operation not permitted/i);
  assert.match(out, /rc=1/);
});

test("capabilities: without CAP_SYS_ADMIN, mount fails (and with it, it works)", (t) => {
  const script = "mkdir -p /mnt; mount -t tmpfs berth-test-cap /mnt 2>&1; echo rc=$?";
  const out = shOut(t, script);
  assert.match(out, /Operation not permitted|permission denied/i);
  assert.match(out, /rc=[1-9]/);
  assert.equal(shOut(t, script, { modify: (s) => setCaps(s, [...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"]) }), "rc=0\n");
});

test("noNewPrivileges: true sets NoNewPrivs, false leaves it clear", (t) => {
  const on = statusFields(shOut(t, "grep NoNewPrivs /proc/self/status"));
  assert.equal(on["NoNewPrivs"], "1");
  const off = statusFields(
    shOut(t, "grep NoNewPrivs /proc/self/status", {
      modify: (s) => {
        s.process.noNewPrivileges = false;
      },
    }),
  );
  assert.equal(off["NoNewPrivs"], "0");
});

test("oomScoreAdj: the process's oom_score_adj is the spec's", (t) => {
  const out = shOut(t, "cat /proc/self/oom_score_adj", {
    modify: (s) => {
      s.process["oomScoreAdj"] = 500;
    },
  });
  assert.equal(out, "500\n");
});

test("sysctl: a namespaced sysctl is set inside, and the host's is unchanged", (t) => {
  const host = fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
  const out = shOut(t, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax", {
    modify: (s) => {
      s.linux["sysctl"] = { "net.ipv4.ip_forward": host.trim() === "1" ? "0" : "1", "kernel.msgmax": "12345" };
    },
  });
  assert.equal(out, `${host.trim() === "1" ? "0" : "1"}\n12345\n`);
  assert.equal(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), host);
  assert.notEqual(fs.readFileSync("/proc/sys/kernel/msgmax", "utf8").trim(), "12345");
});

test("exit status: run exits with the process's exit code", (t) => {
  const res = runSh(t, "exit 42");
  fails(res, 42);
  assert.equal(res.stderr, "");
  assertNothingLeft(res.bundle.id);
});

test("exit status: stdout and stderr of the container are the runtime's", (t) => {
  const res = runSh(t, "echo to-stdout; echo to-stderr >&2; cat", { input: "from-stdin\n" });
  ok(res);
  assert.equal(res.stdout, "to-stdout\nfrom-stdin\n");
  assert.equal(res.stderr, "to-stderr\n");
});

test("exit status: a container killed by SIGKILL makes run exit 137", async (t) => {
  const b = bundle(t, { args: ["sleep", "100"] });
  const running = runtimeCliAsync(["run", "--bundle", b.dir, b.id], { timeoutMs: 20_000 });
  await waitFor("the container to run", () => {
    const r = runtimeCli(["state", b.id]);
    return r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === "running";
  });
  ok(runtimeCli(["kill", b.id, "KILL"]));
  const res = await running;
  assert.equal(res.code, 137, describe(res));
  assertNothingLeft(b.id);
});

test("exit status: a process killed by a signal it raises itself gives 128+N", (t) => {
  // Without a PID namespace: a namespace's init never dies of a signal it has no handler for.
  const res = runSh(t, "kill -USR1 $$; sleep 1", {
    modify: (s) => {
      s.linux.namespaces = s.linux.namespaces!.filter((n) => n.type !== "pid");
    },
  });
  assert.equal(res.code, 128 + 10, describe(res));
});

test("exec errors: a command that is not found exits 127 and names the command", (t) => {
  const b = bundle(t, { args: ["berth-test-no-such-command", "arg"] });
  const res = runtimeCli(["run", "--bundle", b.dir, b.id]);
  fails(res, 127);
  assert.match(res.stderr, /berth-test-no-such-command/);
  assert.match(res.stderr, /not found/);
  assertNothingLeft(b.id);
});

test("exec errors: a command that is not executable exits 126", (t) => {
  const b = bundle(t, { args: ["/not-executable"] });
  fs.writeFileSync(path.join(b.rootfs, "not-executable"), "#!/bin/sh\necho hi\n", { mode: 0o644 });
  const res = runtimeCli(["run", "--bundle", b.dir, b.id]);
  fails(res, 126);
  assert.match(res.stderr, /not-executable/);
  assert.match(res.stderr, /permission denied/i);
  assertNothingLeft(b.id);
});

test("process.args: arguments reach the process verbatim (spaces, quotes, empty)", (t) => {
  const b = bundle(t, { args: ["sh", "-c", 'for a in "$@"; do echo "[$a]"; done', "sh", "a b", "", "'q'\"", "$HOME"] });
  const res = ok(runtimeCli(["run", "--bundle", b.dir, b.id]));
  assert.equal(res.stdout, "[a b]\n[]\n['q'\"]\n[$HOME]\n");
});

test("state: the process is the container's init, its host pid is the state's pid", (t) => {
  const b = bundle(t, { args: ["sleep", "100"] });
  ok(runtimeCli(["run", "--detach", "--bundle", b.dir, b.id]));
  const st = state(b.id);
  assert.equal(fs.readFileSync(`/proc/${st.pid}/cmdline`, "utf8"), "sleep\x00100\x00");
  const nspid = fs.readFileSync(`/proc/${st.pid}/status`, "utf8").match(/^NSpid:\s+(.*)$/m)?.[1]?.split(/\s+/);
  assert.deepEqual(nspid, [String(st.pid), "1"]);
});
