// Terminals: process.terminal with --console-socket (the pty master handed over SCM_RIGHTS,
// received by native/test-tools/recvtty), consoleSize, input through the pty, /dev/console,
// exec -t, and a foreground `run` relaying a pty to the runtime's own terminal (under script(1)).
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { cleanupRuntime, runtimeBin, runtimeCli, testRoot } from "../fixtures/runtime";
import { TestSpec } from "../fixtures/busybox";
import { bundle, fails, ok, RECVTTY, state, TestCtx, tmpDir, waitFor, waitStatus } from "./helpers";

after(() => cleanupRuntime());

interface Recvtty {
  socket: string;
  /** Resolves when recvtty exits (the pty closed): its stdout (the terminal's output) and stderr. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts recvtty listening on a fresh socket; waits until it is ready to accept. */
async function startRecvtty(t: TestCtx, input?: string): Promise<Recvtty> {
  const dir = tmpDir(t, 0o700);
  const socket = path.join(dir, "console.sock");
  const args = ["-t", "20", ...(input !== undefined ? ["-w", input] : []), socket];
  const child = spawn(RECVTTY, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout, stderr })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await done;
  });
  await waitFor("recvtty to listen", () => fs.existsSync(socket) || child.exitCode !== null, 5000, 10);
  assert.ok(fs.existsSync(socket), `recvtty did not start: ${stderr}`);
  return { socket, done };
}

/**
 * Lines of terminal output, without the \r the line discipline adds and the "^@"/"^D" that
 * script(1) echoes for its own stdin's EOF.
 */
const lines = (s: string): string[] =>
  s.replace(/\r/g, "").replace(/\^[@D]/g, "").split("\n").filter((l) => l !== "");

function terminal(spec: TestSpec): void {
  spec.process.terminal = true;
}

test("console socket: the process gets a pty as its controlling terminal and stdio", async (t) => {
  const tty = await startRecvtty(t);
  const b = bundle(t, {
    args: ["sh", "-c", "tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; test -t 2 && echo stderr-tty; " +
      "stat -c %t:%T /dev/console; ls -l /proc/self/fd/0 | sed 's/.*-> //'; echo $TERM"],
    modify: terminal,
  });
  ok(runtimeCli(["run", "-d", "--console-socket", tty.socket, "--bundle", b.dir, b.id]));
  const res = await tty.done;
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /recvtty: name \/dev\//, "the pty master arrived with its name as payload");
  const out = lines(res.stdout);
  assert.deepEqual(out.slice(0, 4), ["/dev/pts/0", "stdin-tty", "stdout-tty", "stderr-tty"]);
  assert.equal(out[4], "88:0", "/dev/console is the pty (136:0)");
  assert.equal(out[5], "/dev/pts/0");
});

test("console socket: consoleSize sets the terminal's rows and columns", async (t) => {
  const tty = await startRecvtty(t);
  const b = bundle(t, {
    args: ["stty", "size"],
    modify: (s) => {
      s.process.terminal = true;
      s.process.consoleSize = { height: 40, width: 100 };
    },
  });
  ok(runtimeCli(["run", "-d", "--console-socket", tty.socket, "--bundle", b.dir, b.id]));
  assert.deepEqual(lines((await tty.done).stdout), ["40 100"]);
});

test("console socket: input written to the pty master reaches the process", async (t) => {
  const tty = await startRecvtty(t, "hello-through-pty\\n");
  const b = bundle(t, { args: ["sh", "-c", "read x; echo got:$x"], modify: terminal });
  ok(runtimeCli(["run", "-d", "--console-socket", tty.socket, "--bundle", b.dir, b.id]));
  const out = lines((await tty.done).stdout);
  assert.ok(out.includes("got:hello-through-pty"), out.join("|"));
});

test("console socket: create hands over the pty at create time; the process runs after start", async (t) => {
  const tty = await startRecvtty(t);
  const b = bundle(t, { args: ["sh", "-c", "echo started; tty"], modify: terminal });
  ok(runtimeCli(["create", "--console-socket", tty.socket, "--bundle", b.dir, b.id]));
  assert.equal(fs.existsSync(tty.socket), false, "recvtty got its connection during create");
  assert.equal(state(b.id).status, "created");
  ok(runtimeCli(["start", b.id]));
  const res = await tty.done;
  assert.deepEqual(lines(res.stdout), ["started", "/dev/pts/0"]);
  await waitStatus(b.id, "stopped");
});

test("console socket: a non-root process owns its pty", async (t) => {
  const tty = await startRecvtty(t);
  const b = bundle(t, {
    args: ["sh", "-c", "stat -c %u $(tty); id -u"],
    modify: (s) => {
      s.process.terminal = true;
      s.process.user = { uid: 1000, gid: 1000 };
    },
  });
  ok(runtimeCli(["run", "-d", "--console-socket", tty.socket, "--bundle", b.dir, b.id]));
  assert.deepEqual(lines((await tty.done).stdout), ["1000", "1000"]);
});

test("console socket: a foreground run hands the pty over too and exits with the process's status", async (t) => {
  const tty = await startRecvtty(t);
  const b = bundle(t, { args: ["sh", "-c", "tty; exit 6"], modify: terminal });
  fails(runtimeCli(["run", "--console-socket", tty.socket, "--bundle", b.dir, b.id]), 6);
  assert.deepEqual(lines((await tty.done).stdout), ["/dev/pts/0"]);
});

test("console socket: a detached create of a terminal container needs --console-socket", (t) => {
  const b = bundle(t, { args: ["tty"], modify: terminal });
  const res = runtimeCli(["create", "--bundle", b.dir, b.id]);
  fails(res);
  assert.match(res.stderr, /console-socket/);
  assert.equal(fs.existsSync(path.join(testRoot(), b.id)), false);
});

test("console socket: --console-socket without terminal:true is refused", async (t) => {
  const dir = tmpDir(t);
  const b = bundle(t, { args: ["true"] });
  const res = runtimeCli(["create", "--console-socket", path.join(dir, "sock"), "--bundle", b.dir, b.id]);
  fails(res);
  assert.match(res.stderr, /terminal/);
});

test(
  "exec -t -d --console-socket: the exec'd process gets its own pty",
  async (t) => {
  const b = bundle(t, { args: ["sleep", "100"] });
  ok(runtimeCli(["run", "-d", "--bundle", b.dir, b.id]));
  const tty = await startRecvtty(t);
  ok(runtimeCli(["exec", "-t", "-d", "--console-socket", tty.socket, b.id, "sh", "-c", "tty; test -t 0 && echo in-tty"]));
  const out = lines((await tty.done).stdout);
  assert.match(out[0] ?? "", /^\/dev\/pts\/\d+$/);
  assert.equal(out[1], "in-tty");
});

/** Runs `cmd` under script(1), which gives it a pty as stdio; returns output and status. */
function underScript(cmd: string[], timeoutMs = 20_000): { status: number | null; out: string } {
  const quoted = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const res = spawnSync("script", ["-qfec", quoted, "/dev/null"], { encoding: "utf8", timeout: timeoutMs, stdio: ["pipe", "pipe", "pipe"], input: "" });
  return { status: res.status, out: (res.stdout ?? "") + (res.stderr ?? "") };
}

test("run with terminal:true and no console socket relays the pty to the runtime's terminal", (t) => {
  const b = bundle(t, {
    args: ["sh", "-c", "tty; stty size; exit 5"],
    modify: (s) => {
      s.process.terminal = true;
      s.process.consoleSize = { height: 33, width: 77 };
    },
  });
  const res = underScript([runtimeBin(), "--root", testRoot(), "run", "--bundle", b.dir, b.id]);
  assert.equal(res.status, 5, res.out);
  const out = lines(res.out);
  assert.ok(out.includes("/dev/pts/0"), out.join("|"));
});

test("exec -t without a console socket relays the pty to the runtime's terminal", (t) => {
  const b = bundle(t, { args: ["sleep", "100"] });
  ok(runtimeCli(["run", "-d", "--bundle", b.dir, b.id]));
  const res = underScript([runtimeBin(), "--root", testRoot(), "exec", "-t", b.id, "sh", "-c", "tty; test -t 1 && echo out-tty; exit 4"]);
  assert.equal(res.status, 4, res.out);
  const out = lines(res.out);
  assert.ok(out.some((l) => /^\/dev\/pts\/\d+$/.test(l)), out.join("|"));
  assert.ok(out.includes("out-tty"), out.join("|"));
});
