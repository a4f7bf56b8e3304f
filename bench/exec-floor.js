#!/usr/bin/env node
// The floor under `docker exec c true`: a stub engine on a unix socket that answers, at once and
// with canned bodies, exactly what the docker CLI sends for it:
//   HEAD /_ping, GET /vX/containers/c/json, POST /vX/containers/c/exec -> {Id},
//   POST /vX/exec/ID/start (Upgrade: tcp) -> 101 and close (no output), GET /vX/exec/ID/json
// and times the CLI against it with hyperfine, beside `docker version` (also answered by the
// stub) for reference. No engine can answer faster than this, so it is the lowest time
// `docker exec` can take behind this CLI on this machine.
//
//   node bench/exec-floor.js            hyperfine -N -w 3 -r $BENCH_N (default 30) for both
//   node bench/exec-floor.js --capture  run `docker exec c true` once and print the requests
//   node bench/exec-floor.js --serve    only serve (prints the DOCKER_HOST), until interrupted
'use strict';
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const API = '1.50';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-floor-'));
const sock = path.join(dir, 'docker.sock');
const capture = process.argv.includes('--capture');
const serveOnly = process.argv.includes('--serve');
const seen = [];

const bodies = {
  version: JSON.stringify({ Version: '28.2.2', ApiVersion: API, MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64', KernelVersion: os.release(), GoVersion: 'stub', GitCommit: '', BuildTime: '' }),
  inspect: JSON.stringify({ Id: 'c'.repeat(64), Name: '/c', State: { Status: 'running', Running: true, Paused: false, Pid: 1 }, Config: { Tty: false } }),
  create: JSON.stringify({ Id: 'e'.repeat(64) }),
  execJson: JSON.stringify({ ID: 'e'.repeat(64), Running: false, ExitCode: 0, Pid: 1, ContainerID: 'c'.repeat(64), OpenStdin: false, OpenStdout: true, OpenStderr: true, ProcessConfig: { tty: false, entrypoint: 'true', arguments: [], privileged: false, user: '' } }),
};

function reply(c, method, url) {
  const p = url.replace(/^\/v[\d.]+/, '').split('?')[0];
  let status = 200, body = '', type = 'application/json';
  if (p === '/_ping') (type = 'text/plain; charset=utf-8'), (body = 'OK');
  else if (p === '/version') body = bodies.version;
  else if (/^\/containers\/[^/]+\/json$/.test(p)) body = bodies.inspect;
  else if (/^\/containers\/[^/]+\/exec$/.test(p)) (status = 201), (body = bodies.create);
  else if (/^\/exec\/[^/]+\/start$/.test(p)) {
    // The hijack: switch protocols, send no output, close: the process ran and ended.
    c.end('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    return false;
  } else if (/^\/exec\/[^/]+\/json$/.test(p)) body = bodies.execJson;
  else (status = 404), (body = '{"message":"stub: not handled"}');
  const len = Buffer.byteLength(body);
  c.write(`HTTP/1.1 ${status} X\r\nApi-Version: ${API}\r\nOstype: linux\r\nDocker-Experimental: false\r\nContent-Type: ${type}\r\nContent-Length: ${len}\r\n\r\n${method === 'HEAD' ? '' : body}`);
  return true;
}

const server = net.createServer((c) => {
  let buf = Buffer.alloc(0);
  c.on('error', () => {});
  c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + len) return;
      if (capture) seen.push(buf.subarray(0, end + 4 + len).toString());
      buf = buf.subarray(end + 4 + len);
      const [method, url] = head.split(' ', 2);
      if (!reply(c, method, url)) return;
    }
  });
});

// Asynchronous throughout: the stub answers from this same event loop.
const run = promisify(execFile);

async function hyperfine(cmd, env, n) {
  const out = path.join(dir, 'h.json');
  await run('hyperfine', ['-N', '-w', '3', '-r', String(n), '--export-json', out, cmd], { env });
  const res = JSON.parse(fs.readFileSync(out, 'utf8')).results[0];
  const ms = (s) => (s * 1000).toFixed(1);
  return `median ${ms(res.median)} ms, mean ${ms(res.mean)} ± ${ms(res.stddev)} ms, min ${ms(res.min)} ms`;
}

function stop() {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

server.listen(sock, async () => {
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
  if (serveOnly) {
    console.log(`DOCKER_HOST=unix://${sock}`);
    for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, stop);
    return;
  }
  try {
    await run('docker', ['exec', 'c', 'true'], { env }); // fails loudly if the stub misses a request
    if (capture) {
      for (const r of seen) process.stdout.write(`${r.trimEnd()}\n\n`);
      return;
    }
    const n = Number(process.env.BENCH_N || 30);
    console.log(`stub docker version:   ${await hyperfine('docker version', env, n)}`);
    console.log(`stub docker exec true: ${await hyperfine('docker exec c true', env, n)}`);
  } catch (e) {
    console.error(`exec-floor: ${e.message}`);
    process.exitCode = 1;
  } finally {
    stop();
  }
});
