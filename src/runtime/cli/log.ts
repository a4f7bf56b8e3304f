// Errors and warnings: to stderr for a person, and to --log (text or JSON lines,
// as runc writes them) for the tool that drives us (containerd, conmon).
import * as fs from 'node:fs';

export class Logger {
  constructor(private readonly file?: string, private readonly format: 'text' | 'json' = 'text') {}

  private toFile(level: string, msg: string): void {
    if (!this.file) return;
    const time = new Date().toISOString();
    const line = this.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    try {
      fs.appendFileSync(this.file, line + '\n');
    } catch {
      /* the log is best effort; stderr still has it */
    }
  }

  error(msg: string): void {
    this.toFile('error', msg);
    process.stderr.write(`berth-runtime: ${msg}\n`);
  }

  warn(msg: string): void {
    this.toFile('warning', msg);
    process.stderr.write(`berth-runtime: warning: ${msg}\n`);
  }
}
