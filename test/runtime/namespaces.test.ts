// Namespaces: each one the spec asks for really isolates the container (uts, pid, ipc, mount,
// network, user, cgroup, time), and `path` joins an existing container's namespaces.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cleanupRuntime } from "../fixtures/runtime";
import {
  container,
  execSh,
  hostMountinfo,
  installTool,
  MSGQ,
  ok,
  runSh,
  setCaps,
  shOut,
  tmpDir,
  waitFor,
} from "./helpers";
import { DOCKER_DEFAULT_CAPS, TestSpec } from "../fixtures/busybox";

after(() => cleanupRuntime());

const hostNs = (type: string): string => fs.readlinkSync(`/proc/self/ns/${type}`);

/** A new user namespace mapping container 0-65535 to host 100000-165535. */
const USERNS = (s: TestSpec): void => {
  s.linux.namespaces!.push({ type: "user" });
  s.linux["uidMappings"] = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux["gidMappings"] = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

test("uts: the container's hostname is the spec's, the host's is unchanged", (t) => {
  const before = os.hostname();
  const out = shOut(t, "hostname; cat /proc/sys/kernel/hostname", {
    modify: (s) => {
      s.hostname = "berth-test-uts";
    },
  });
  assert.equal(out, "berth-test-uts\nberth-test-uts\n");
  assert.equal(os.hostname(), before);
});

test("uts: domainname is set in the container's UTS namespace only", (t) => {
  const before = fs.readFileSync("/proc/sys/kernel/domainname", "utf8");
  const out = shOut(t, "cat /proc/sys/kernel/domainname", {
    modify: (s) => {
      s["domainname"] = "berth-test.example";
    },
  });
  assert.equal(out, "berth-test.example\n");
  assert.equal(fs.readFileSync("/proc/sys/kernel/domainname", "utf8"), before);
});

test("pid: the container's process is PID 1 and sees only its own processes", (t) => {
  const out = shOut(t, "echo $$; readlink /proc/self/ns/pid; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '");
  const [pid1, ns, procs] = out.split("\n");
  assert.equal(pid1, "1");
  assert.notEqual(ns, hostNs("pid"));
  // sh (1), and the pipeline's ls/grep/sort/tr: nothing of the host.
  const pids = (procs ?? "").trim().split(" ").map(Number);
  assert.equal(pids[0], 1);
  assert.ok(pids.length <= 6, `only the container's processes are visible, got ${procs}`);
});

test("ipc: System V queues and POSIX mqueues are per container", async (t) => {
  const key = 0x62000000 + crypto.randomBytes(3).readUIntBE(0, 3); // "b" + random
  const c = container(t, `msgq ${key} > /tmp/msqid && touch /dev/mqueue/berth-test-q && touch /tmp/ready && sleep 100`, {
    prepare: (b) => installTool(b.rootfs, MSGQ, "/bin/msgq"),
  });
  await waitFor("the queue to be made", () => fs.existsSync(path.join(c.b.rootfs, "tmp", "ready")), 5000);

  const inside = ok(execSh(c.id, "cat /proc/sysvipc/msg; ls /dev/mqueue; readlink /proc/self/ns/ipc"), "exec").stdout;
  const keyCol = (text: string): string[] =>
    text.split("\n").slice(1).map((l) => l.trim().split(/\s+/)[0] ?? "").filter(Boolean);
  assert.ok(keyCol(inside).includes(String(key)), `the queue is listed inside:\n${inside}`);
  assert.match(inside, /^berth-test-q$/m);
  assert.ok(!keyCol(fs.readFileSync("/proc/sysvipc/msg", "utf8")).includes(String(key)), "not on the host");
  const ns = inside.trim().split("\n").pop();
  assert.match(ns ?? "", /^ipc:\[\d+\]$/);
  assert.notEqual(ns, hostNs("ipc"));
});

test("mount: a mount made inside the container does not appear on the host", async (t) => {
  const tag = `berth-test-mnt-${crypto.randomBytes(4).toString("hex")}`;
  const c = container(t, `mkdir -p /mnt && mount -t tmpfs ${tag} /mnt && touch /mnt/inside && touch /tmp/ready && sleep 100`, {
    modify: (s) => setCaps(s, [...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"]),
  });
  await waitFor("the mount inside", () => fs.existsSync(path.join(c.b.rootfs, "tmp", "ready")), 5000);
  const inside = ok(execSh(c.id, "cat /proc/self/mountinfo"), "exec").stdout;
  assert.ok(inside.includes(` ${tag} `), `the tmpfs is mounted inside:\n${inside}`);
  assert.ok(!hostMountinfo().includes(tag), "the tmpfs must not be visible in the host's mount namespace");
  assert.equal(fs.existsSync(path.join(c.b.rootfs, "mnt", "inside")), false, "the file went to the container's tmpfs");
});

test("network: a new network namespace has only the loopback interface", (t) => {
  const out = shOut(t, "ls /sys/class/net; readlink /proc/self/ns/net");
  const lines = out.trim().split("\n");
  assert.deepEqual(lines.slice(0, -1), ["lo"]);
  assert.notEqual(lines[lines.length - 1], hostNs("net"));
});

test("network: the loopback interface is up (as runc sets it)", (t) => {
  const out = shOut(t, "cat /sys/class/net/lo/flags; ping -c 1 -W 2 127.0.0.1 >/dev/null 2>&1 && echo ping-ok || echo ping-failed");
  const [flags, ping] = out.trim().split("\n");
  assert.equal(Number(flags) & 1, 1, `IFF_UP should be set on lo (flags ${flags})`);
  assert.equal(ping, "ping-ok");
});

test("network: a TCP connection over the container's loopback works", (t) => {
  const out = shOut(
    t,
    "timeout 5 nc -l -p 7777 127.0.0.1 > /tmp/got & " +
      "for i in $(seq 40); do echo hello-loopback | timeout 1 nc 127.0.0.1 7777 2>/dev/null && break; sleep 0.05; done; " +
      "wait; echo got: $(cat /tmp/got)",
    { timeoutMs: 15_000 },
  );
  assert.equal(out, "got: hello-loopback\n");
});

test("user: uid/gid mappings apply, and files made inside are owned by the mapped host ids", (t) => {
  const shared = tmpDir(t, 0o777);
  const out = shOut(t, "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /shared/made-inside; echo done", {
    // The container's root (host uid 100000) cannot create the mount point in a
    // root-owned rootfs (runc cannot either): make it beforehand.
    prepare: (b) => fs.mkdirSync(path.join(b.rootfs, "shared")),
    modify: (s) => {
      USERNS(s);
      s.mounts.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind", "rw"] });
    },
  });
  const lines = out.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  assert.deepEqual(lines, ["0 100000 65536", "0 100000 65536", "0", "done"]);
  const st = fs.statSync(path.join(shared, "made-inside"));
  assert.equal(st.uid, 100000);
  assert.equal(st.gid, 100000);
});

test("cgroup: a new cgroup namespace shows / as the container's cgroup", (t) => {
  const out = shOut(t, "cat /proc/self/cgroup; readlink /proc/self/ns/cgroup", {
    modify: (s) => {
      s.linux.namespaces!.push({ type: "cgroup" });
    },
  });
  const lines = out.trim().split("\n");
  const ns = lines.pop();
  assert.notEqual(ns, hostNs("cgroup"));
  const pidsLine = lines.find((l) => /^\d+:pids:/.test(l));
  assert.equal(pidsLine?.split(":")[2], "/", `pids cgroup inside: ${out}`);
  const memLine = lines.find((l) => /^\d+:memory:/.test(l));
  assert.equal(memLine?.split(":")[2], "/", `memory cgroup inside: ${out}`);
});

test("cgroup: without a cgroup namespace the container sees its /berth/<id> path", (t) => {
  const res = runSh(t, "cat /proc/self/cgroup");
  ok(res);
  assert.match(res.stdout, new RegExp(`^\\d+:pids:/berth/${res.bundle.id}$`, "m"));
});

test("time: a time namespace with a boottime offset shifts /proc/uptime by it", (t) => {
  const hostUptime = (): number => Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const before = hostUptime();
  const out = shOut(t, "cat /proc/uptime; readlink /proc/self/ns/time", {
    modify: (s) => {
      s.linux.namespaces!.push({ type: "time" });
      s.linux["timeOffsets"] = { boottime: { secs: 86400, nanosecs: 0 } };
    },
  });
  const afterUp = hostUptime();
  const [uptime, ns] = out.trim().split("\n");
  const inside = Number((uptime ?? "").split(" ")[0]);
  assert.ok(inside >= before + 86400 - 1 && inside <= afterUp + 86400 + 1, `uptime inside ${inside}, host ${before}..${afterUp}`);
  assert.notEqual(ns, hostNs("time"));
});

test("join: namespaces given by path are joined (network and uts of another container)", (t) => {
  const a = container(t, "sleep 100", {
    modify: (s) => {
      s.hostname = "berth-test-a";
    },
  });
  const aNet = fs.readlinkSync(`/proc/${a.pid}/ns/net`);
  const aUts = fs.readlinkSync(`/proc/${a.pid}/ns/uts`);
  const out = shOut(t, "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts", {
    modify: (s) => {
      delete s.hostname;
      s.linux.namespaces = s.linux.namespaces!.map((n) =>
        n.type === "network" ? { type: "network", path: `/proc/${a.pid}/ns/net` } : n.type === "uts" ? { type: "uts", path: `/proc/${a.pid}/ns/uts` } : n,
      );
    },
  });
  assert.deepEqual(out.trim().split("\n"), ["berth-test-a", aNet, aUts]);
  // A's namespaces are untouched: it still runs, with its hostname.
  assert.equal(ok(execSh(a.id, "hostname")).stdout, "berth-test-a\n");
});

test("user: exec joins the container's user namespace", (t) => {
  const c = container(t, "sleep 100", { modify: USERNS });
  const out = ok(execSh(c.id, "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user")).stdout.trim().split("\n");
  assert.equal(out[0], "0");
  assert.equal(out[1]?.trim().split(/\s+/).join(" "), "0 100000 65536");
  assert.equal(out[2], fs.readlinkSync(`/proc/${c.pid}/ns/user`));
  const st = fs.readFileSync(`/proc/${c.pid}/status`, "utf8");
  assert.match(st, /^Uid:\s+100000\s+100000\s+100000\s+100000$/m, "the init runs as host uid 100000");
});

test("time: exec joins the container's time namespace (same uptime offset)", (t) => {
  const c = container(t, "sleep 100", {
    modify: (s) => {
      s.linux.namespaces!.push({ type: "time" });
      s.linux["timeOffsets"] = { boottime: { secs: 86400, nanosecs: 0 } };
    },
  });
  const host = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const out = ok(execSh(c.id, "cat /proc/uptime; readlink /proc/self/ns/time")).stdout.trim().split("\n");
  const inside = Number((out[0] ?? "").split(" ")[0]);
  assert.ok(inside >= host + 86400 - 1 && inside <= host + 86400 + 5, `exec uptime ${inside}, host ${host}`);
  assert.equal(out[1], fs.readlinkSync(`/proc/${c.pid}/ns/time`));
});

test(
  "time + user: a time namespace with offsets also works inside a new user namespace",
  (t) => {
  const out = shOut(t, "cat /proc/uptime; id -u", {
    modify: (s) => {
      USERNS(s);
      s.linux.namespaces!.push({ type: "time" });
      s.linux["timeOffsets"] = { monotonic: { secs: 3600, nanosecs: 0 }, boottime: { secs: 86400, nanosecs: 0 } };
    },
  });
  const [uptime, uid] = out.trim().split("\n");
  assert.ok(Number((uptime ?? "").split(" ")[0]) >= 86400);
  assert.equal(uid, "0");
});
