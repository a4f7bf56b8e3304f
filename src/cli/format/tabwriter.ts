/**
 * Go's text/tabwriter (docker's copy), as docker's tables use it: NewWriter(out, minwidth 10,
 * tabwidth 1, padding 3, ' ', 0). Cells are tab-terminated; a column's width is the widest
 * cell of its block of consecutive lines plus padding (at least minwidth); the last cell of a
 * line is not part of a column. A line with a single cell ends the block (Go flushes there).
 */

interface Cell {
  text: string;
  width: number;
}

/** Display width: East Asian wide and fullwidth characters take two columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x300 && c < 0x370) || c === 0x200b) continue;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1f300 && c <= 0x1faff) ||
      (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

export class TabWriter {
  private lines: Cell[][] = [[]];
  private cell = '';
  private out = '';
  private widths: number[] = [];

  constructor(
    private readonly minwidth = 10,
    private readonly padding = 3,
  ) {}

  write(s: string): void {
    for (const ch of s) {
      if (ch === '\t' || ch === '\v' || ch === '\n' || ch === '\f') {
        const line = this.lines[this.lines.length - 1]!;
        line.push({ text: this.cell, width: displayWidth(this.cell) });
        this.cell = '';
        if (ch === '\n' || ch === '\f') {
          const ncells = line.length;
          this.lines.push([]);
          if (ch === '\f' || ncells === 1) this.flushLines();
        }
      } else {
        this.cell += ch;
      }
    }
  }

  /** Format everything written so far and return the text (the writer is reset). */
  flush(): string {
    if (this.cell.length > 0) {
      this.lines[this.lines.length - 1]!.push({ text: this.cell, width: displayWidth(this.cell) });
      this.cell = '';
    }
    this.flushLines();
    const out = this.out;
    this.out = '';
    return out;
  }

  /** Format every line; the last (open) line is written without a newline, as Go does. */
  private flushLines(): void {
    this.format(0, this.lines.length);
    this.lines = [[]];
  }

  private writeLines(line0: number, line1: number): void {
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i]!;
      line.forEach((c, j) => {
        this.out += c.text;
        if (j < this.widths.length) this.out += ' '.repeat(Math.max(0, this.widths[j]! - c.width));
      });
      if (i + 1 < this.lines.length) this.out += '\n';
    }
  }

  private format(line0: number, line1: number): void {
    const column = this.widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= this.lines[cur]!.length - 1) continue;
      this.writeLines(line0, cur);
      line0 = cur;
      let width = this.minwidth;
      for (; cur < line1; cur++) {
        const line = this.lines[cur]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, line[column]!.width + this.padding);
      }
      this.widths.push(width);
      this.format(line0, cur);
      this.widths.pop();
      line0 = cur;
    }
    this.writeLines(line0, line1);
  }
}

/** Align tab-separated text in one go. */
export function tabulate(text: string, minwidth = 10, padding = 3): string {
  const tw = new TabWriter(minwidth, padding);
  tw.write(text);
  return tw.flush();
}
