// A launch plan under construction: header records (read by the stage parent and
// first child), ops (executed in order by the init, each with a description for
// errors), and the process records.
import { PlanRecord, encodePlan } from './encode';

export class LaunchPlan {
  readonly header: PlanRecord[] = [];
  readonly ops: PlanRecord[] = [];
  readonly descriptions: string[] = [];
  readonly process: PlanRecord[] = [];
  /** Indexes of ops whose failure is about the command itself (exec → 127/126). */
  execOp = -1;

  op(description: string, kind: string, ...fields: PlanRecord): number {
    this.ops.push([`op:${kind}`, ...fields]);
    this.descriptions.push(description);
    return this.ops.length - 1;
  }

  has(keyword: string): boolean {
    return this.header.some((r) => r[0] === keyword);
  }

  /** Description of op `index`; the stage reports index -1 for parent-side steps. */
  describe(index: number): string | undefined {
    if (index === this.ops.length) return 'starting the container process';
    return this.descriptions[index];
  }

  encode(): Buffer {
    this.execOp = this.ops.length;
    return encodePlan([...this.header, ...this.ops, ...this.process]);
  }

  /** Human-readable dump, for BERTH_DEBUG_PLAN and tests. */
  dump(): string {
    const show = (r: PlanRecord) => r.map((f) => (Buffer.isBuffer(f) ? `<${f.length} bytes>` : JSON.stringify(String(f)))).join(' ');
    return [...this.header.map(show), ...this.ops.map((r, i) => `${i}: ${show(r)}  # ${this.descriptions[i]}`), ...this.process.map(show)].join('\n');
  }
}
