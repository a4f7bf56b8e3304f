// User namespaces with idmapped mounts: an unchowned rootfs (annotation org.berth.rootfs.idmap)
// and bind mounts with their own uid/gid mappings are shown with the container's ownership, and
// nothing is chowned on the host. Where the kernel refuses an idmapped mount (ramfs here), the
// rootfs falls back to a chowned copy with a warning, and an idmapped bind mount is an error.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { cleanupRuntime } from "../fixtures/runtime";
import { TestSpec } from "../fixtures/busybox";
import {
  assertNothingLeft,
  bundle,
  container,
  describe,
  execSh,
  fails,
  ok,
  rt,
  runSh,
  shOut,
  stateDir,
  TestCtx,
  tmpDir,
} from "./helpers";

after(() => cleanupRuntime());

const ANNOTATION = "org.berth.rootfs.idmap";

/** A new user namespace mapping container 0-65535 to host 100000-165535. */
const USERNS = (s: TestSpec): void => {
  s.linux.namespaces!.push({ type: "user" });
  s.linux["uidMappings"] = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux["gidMappings"] = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

/** USERNS plus the annotation asking for an idmapped rootfs. */
const IDMAPPED_ROOTFS = (s: TestSpec): void => {
  USERNS(s);
  s.annotations = { ...(s.annotations ?? {}), [ANNOTATION]: "true" };
};

/** uid:gid of every entry below `dir` (not following symlinks), by relative path. */
function ownership(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const st = fs.lstatSync(path.join(dir, rel));
    out.set(rel, `${st.uid}:${st.gid}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(path.join(dir, rel))) walk(path.join(rel, n));
  };
  walk("");
  return out;
}

/** `ls -ln` lines → owner "uid:gid" by name. */
function owners(lsOutput: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lsOutput.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 9 && /^[-dlcbps]/.test(f[0] ?? "")) out.set(f.slice(8).join(" ").replace(/ -> .*$/, ""), `${f[2]}:${f[3]}`);
  }
  return out;
}

/** A ramfs (no idmapped mounts) at a berth-test-* temp dir, unmounted when the test ends. */
function ramfs(t: TestCtx): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-ramfs-"));
  execFileSync("mount", ["-t", "ramfs", "-o", "mode=755", "berth-test-ramfs", dir]);
  t.after(() => {
    execFileSync("umount", [dir]);
    fs.rmdirSync(dir);
  });
  return dir;
}

test("idmapped rootfs: an unchowned rootfs is owned by the container's root inside, and stays unchowned", (t) => {
  let before = new Map<string, string>();
  const res = runSh(
    t,
    "ls -ln /; echo ---; stat -c '%u:%g %n' /etc/passwd /home/berth-test; head -n1 /etc/passwd; " +
      "echo made > /made-by-root && mkdir /dir-by-root && echo created; awk '$5 == \"/\"' /proc/self/mountinfo",
    {
      modify: IDMAPPED_ROOTFS,
      prepare: (b) => {
        before = ownership(b.rootfs);
      },
    },
  );
  ok(res);
  const [ls = "", rest = ""] = res.stdout.split("---\n");
  const inside = owners(ls);
  for (const d of ["bin", "etc", "root", "tmp", "usr"]) assert.equal(inside.get(d), "0:0", `/${d} inside is owned by the container's root:\n${ls}`);
  const lines = rest.trim().split("\n");
  assert.deepEqual(lines.slice(0, 4), ["0:0 /etc/passwd", "1000:1000 /home/berth-test", lines[2], "created"]);
  assert.match(lines[2] ?? "", /^root:x:0:0:/, "/etc/passwd is readable");
  assert.match(lines[4] ?? "", /[ ,]idmapped[ ,]/, `the root mount is idmapped:\n${lines[4]}`);

  // Through the idmapped mount, the container's uid 0 (host uid 100000) writes as on-disk uid 0.
  const rootfs = res.bundle.rootfs;
  for (const made of ["made-by-root", "dir-by-root"]) {
    const st = fs.statSync(path.join(rootfs, made));
    assert.equal(`${st.uid}:${st.gid}`, "0:0", `${made} is owned by uid 0 on disk`);
  }
  assert.equal(fs.readFileSync(path.join(rootfs, "made-by-root"), "utf8"), "made\n");
  // Nothing that was there was chowned.
  const afterRun = ownership(rootfs);
  afterRun.delete("made-by-root");
  afterRun.delete("dir-by-root");
  assert.deepEqual(afterRun, before);
});

test("without the annotation the same rootfs shows the overflow owner and is not writable (the control)", (t) => {
  const out = shOut(t, "ls -ln / | grep ' etc$'; touch /x 2>/dev/null && echo wrote || echo refused", { modify: USERNS });
  const [etc, wrote] = out.trim().split("\n");
  assert.equal(owners(etc ?? "").get("etc"), "65534:65534");
  assert.equal(wrote, "refused");
});

test("idmapped bind mount: a host directory owned by 1000 is owned by the container's root through its uidMappings", (t) => {
  const dir = tmpDir(t, 0o755);
  fs.writeFileSync(path.join(dir, "host-file"), "from the host\n");
  fs.chownSync(dir, 1000, 1000);
  fs.chownSync(path.join(dir, "host-file"), 1000, 1000);
  const map = [{ containerID: 1000, hostID: 100000, size: 1 }];
  const out = shOut(t, "stat -c '%u:%g %n' /data /data/host-file; cat /data/host-file; echo inside > /data/made-inside && echo created", {
    modify: (s) => {
      IDMAPPED_ROOTFS(s);
      s.mounts.push({ destination: "/data", type: "bind", source: dir, options: ["rbind", "rw"], uidMappings: map, gidMappings: map });
    },
  });
  assert.deepEqual(out.trim().split("\n"), ["0:0 /data", "0:0 /data/host-file", "from the host", "created"]);
  // Written by the container's root, stored as the on-disk id the mapping gives it.
  const st = fs.statSync(path.join(dir, "made-inside"));
  assert.equal(`${st.uid}:${st.gid}`, "1000:1000");
  const d = fs.statSync(dir);
  assert.equal(`${d.uid}:${d.gid}`, "1000:1000", "the source is not chowned");
});

test('"idmap" without mappings of its own maps a bind mount like the container\'s user namespace', (t) => {
  const dir = tmpDir(t, 0o755);
  fs.chownSync(dir, 1000, 1000);
  const out = shOut(t, "stat -c '%u:%g' /data; touch /data/x && stat -c '%u:%g' /data/x", {
    modify: (s) => {
      IDMAPPED_ROOTFS(s);
      s.mounts.push({ destination: "/data", type: "bind", source: dir, options: ["bind", "idmap"] });
    },
  });
  assert.deepEqual(out.trim().split("\n"), ["1000:1000", "0:0"]);
  const st = fs.statSync(path.join(dir, "x"));
  assert.equal(`${st.uid}:${st.gid}`, "0:0", "the container's root writes as on-disk uid 0");
});

test("an idmapped rootfs works with a read-only root and with --no-pivot", (t) => {
  const ro = runSh(t, "stat -c '%u:%g' /etc; touch /x 2>/dev/null && echo wrote || echo read-only", {
    modify: (s) => {
      IDMAPPED_ROOTFS(s);
      s.root.readonly = true;
    },
  });
  ok(ro);
  assert.deepEqual(ro.stdout.trim().split("\n"), ["0:0", "read-only"]);
  const noPivot = shOut(t, "stat -c '%u:%g' /etc; touch /y && echo wrote", { modify: IDMAPPED_ROOTFS, runArgs: ["--no-pivot"] });
  assert.deepEqual(noPivot.trim().split("\n"), ["0:0", "wrote"]);
});

test("a root.path through a symlink is followed, as for the plain self-bind", (t) => {
  const out = shOut(t, "stat -c '%u:%g' /etc", {
    modify: IDMAPPED_ROOTFS,
    prepare: (b) => {
      fs.renameSync(b.rootfs, path.join(b.dir, "real-rootfs"));
      fs.symlinkSync("real-rootfs", b.rootfs);
    },
  });
  assert.equal(out, "0:0\n");
});

test('"ridmap" idmaps the mounts below a recursive bind too, "idmap" only the bind itself', (t) => {
  // <dir> owned by 1000, with a tmpfs owned by 1000 mounted at <dir>/sub.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-ridmap-"));
  fs.mkdirSync(path.join(dir, "sub"));
  fs.chownSync(dir, 1000, 1000);
  execFileSync("mount", ["-t", "tmpfs", "-o", "mode=755,uid=1000,gid=1000,size=1m", "berth-test-ridmap", path.join(dir, "sub")]);
  t.after(() => {
    execFileSync("umount", [path.join(dir, "sub")]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const map = [{ containerID: 1000, hostID: 100000, size: 1 }];
  const withOption = (option: string) =>
    shOut(t, "stat -c '%u:%g' /data /data/sub", {
      modify: (s) => {
        IDMAPPED_ROOTFS(s);
        s.mounts.push({ destination: "/data", type: "bind", source: dir, options: ["rbind", option], uidMappings: map, gidMappings: map });
      },
    });
  assert.deepEqual(withOption("ridmap").trim().split("\n"), ["0:0", "0:0"]);
  // Not idmapped, the tmpfs shows host uid 1000, which the container's namespace does not map.
  assert.deepEqual(withOption("idmap").trim().split("\n"), ["0:0", "65534:65534"]);
});

test("exec into a container with an idmapped rootfs sees the same ownership", (t) => {
  const c = container(t, "sleep 100", { modify: IDMAPPED_ROOTFS });
  const out = ok(execSh(c.id, "stat -c '%u:%g' /etc/passwd; id -u")).stdout;
  assert.deepEqual(out.trim().split("\n"), ["0:0", "0"]);
});

test("fallback: on a filesystem that refuses idmapped mounts (ramfs) the rootfs is a chowned copy, with a warning", (t) => {
  const ram = ramfs(t);
  const b = bundle(t, { args: ["sh", "-c", "ls -ln / | grep ' etc$'; touch /made-in-copy && echo created"], modify: IDMAPPED_ROOTFS });
  const rootfs = path.join(ram, "rootfs");
  execFileSync("cp", ["-a", b.rootfs, rootfs]);
  const spec = JSON.parse(fs.readFileSync(b.configPath, "utf8")) as TestSpec;
  spec.root.path = rootfs;
  fs.writeFileSync(b.configPath, JSON.stringify(spec));
  const before = ownership(rootfs);

  const res = ok(rt(["run", "--bundle", b.dir, b.id]));
  const copy = path.join(stateDir(b.id), "idmap-copies", "0");
  assert.match(res.stderr, new RegExp(`warning: the kernel refuses an idmapped mount of the rootfs ${rootfs} \\(mount_setattr\\(MOUNT_ATTR_IDMAP\\): EINVAL`));
  assert.ok(res.stderr.includes(`using a copy chowned to the container's IDs instead: ${copy}`), res.stderr);
  const [etc, created] = res.stdout.trim().split("\n");
  assert.equal(owners(etc ?? "").get("etc"), "0:0");
  assert.equal(created, "created");
  // The original is untouched; the copy went with the container's state.
  assert.equal(fs.existsSync(path.join(rootfs, "made-in-copy")), false);
  assert.deepEqual(ownership(rootfs), before);
  assert.equal(fs.existsSync(copy), false, "the copy is removed with the container");
});

test("an idmapped bind mount on a filesystem that refuses it is an error naming the mount and the errno; nothing is left", (t) => {
  const ram = ramfs(t);
  const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const res = runSh(t, "true", {
    modify: (s) => {
      IDMAPPED_ROOTFS(s);
      s.mounts.push({ destination: "/data", type: "bind", source: ram, options: ["rbind"], uidMappings: map, gidMappings: map });
    },
  });
  fails(res);
  assert.match(
    res.stderr,
    new RegExp(`config\\.json: mounts\\[\\d+\\]: the kernel refuses an idmapped mount of ${ram} \\(mount_setattr\\(MOUNT_ATTR_IDMAP\\): EINVAL, the filesystem does not support idmapped mounts`),
  );
  assertNothingLeft(res.bundle.id);
});

test("bad idmap requests are clear errors before anything is made", (t) => {
  const cases: [string, (s: TestSpec) => void, RegExp][] = [
    ["annotation value", (s) => { IDMAPPED_ROOTFS(s); s.annotations![ANNOTATION] = "yes"; }, /annotations\["org\.berth\.rootfs\.idmap"\]: must be "true" or "false" \(got "yes"\)/],
    ["annotation without a user namespace", (s) => { s.annotations = { [ANNOTATION]: "true" }; }, /an idmapped rootfs needs a new user namespace/],
    ["idmap on a tmpfs", (s) => { USERNS(s); s.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"] }); }, /mounts\[\d+\]: id-mapped mounts must be bind mounts/],
    ["idmap without any mappings", (s) => { s.mounts.push({ destination: "/t", type: "bind", source: "/tmp", options: ["rbind", "idmap"] }); }, /"idmap" without uidMappings\/gidMappings .* has no new one/],
  ];
  for (const [what, modify, message] of cases) {
    const res = runSh(t, "true", { modify });
    fails(res, 1, what);
    assert.match(res.stderr, message, `${what}: ${describe(res)}`);
    assertNothingLeft(res.bundle.id);
  }
});

test("features: idmapped mounts are enabled, idmap and ridmap are known mount options", () => {
  const f = JSON.parse(ok(rt(["features"])).stdout) as { mountOptions: string[]; linux: { mountExtensions: { idmap: { enabled: boolean } } } };
  assert.equal(f.linux.mountExtensions.idmap.enabled, true);
  assert.ok(f.mountOptions.includes("idmap") && f.mountOptions.includes("ridmap"));
});
