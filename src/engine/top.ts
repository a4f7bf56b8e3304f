/**
 * `docker top`: the container's processes (every pid of its cgroup) in `ps -ef` columns, read
 * from /proc as the host sees them (host pids and user names, as Docker shows them).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { EngineConflictError } from './errors';

const CLK_TCK = 100;

function hostUserNames(): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2) m.set(Number(f[2]), f[0]!);
    }
  } catch {
    /* numeric uids */
  }
  return m;
}

function bootTimeMs(): number {
  const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
  return m ? Number(m[1]) * 1000 : Date.now() - os.uptime() * 1000;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

export function topProcesses(pids: number[]): { Titles: string[]; Processes: string[][] } {
  const users = hostUserNames();
  const boot = bootTimeMs();
  const rows: string[][] = [];
  for (const pid of [...pids].sort((a, b) => a - b)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      const ppid = f[1]!;
      const ttyNr = Number(f[4]);
      const cpuTicks = Number(f[11]) + Number(f[12]);
      const start = new Date(boot + (Number(f[19]) / CLK_TCK) * 1000);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '').join(' ');
      const major = (ttyNr >> 8) & 0xfff;
      const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
      const tty = ttyNr === 0 ? '?' : major === 136 ? `pts/${minor}` : `tty${minor}`;
      const secs = Math.floor(cpuTicks / CLK_TCK);
      const elapsed = (Date.now() - start.getTime()) / 1000;
      const c = elapsed > 0 ? Math.floor((cpuTicks / CLK_TCK / elapsed) * 100) : 0;
      const stime = Date.now() - start.getTime() < 86_400_000 ? `${pad2(start.getHours())}:${pad2(start.getMinutes())}` : start.toDateString().slice(4, 10);
      rows.push([
        users.get(uid) ?? String(uid),
        String(pid),
        ppid,
        String(c),
        stime,
        tty,
        `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}`,
        cmdline || `[${comm}]`,
      ]);
    } catch {
      /* exited meanwhile */
    }
  }
  return { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: rows };
}

/**
 * `docker top c aux` (any ps_args but the default): as dockerd does, runs the host's `ps` with
 * those arguments and keeps the rows whose PID column is one of the container's.
 */
export function topWithPs(pids: number[], psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.split(' ').filter((a) => a !== '');
  return new Promise((resolve, reject) => {
    execFile('ps', args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n')[0];
        reject(new EngineConflictError(500, `ps ${psArgs} failed: ${why} (ps_args are passed to the host's ps)`));
        return;
      }
      try {
        resolve(parsePsOutput(stdout, new Set(pids)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** moby's parsePSOutput: titles from the header, the last column keeps its spaces. */
export function parsePsOutput(out: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new EngineConflictError(500, 'Couldn\'t find PID field in ps output');
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!Number.isInteger(pid) || !pids.has(pid)) continue;
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}
