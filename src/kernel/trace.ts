// BERTH_TRACE=1 prints phase timings (ms since process start) to stderr: how start-up work is found.
const on = !!process.env.BERTH_TRACE;

export function mark(label: string): void {
  if (on) process.stderr.write(`[trace] ${performance.now().toFixed(1).padStart(7)} ms  ${label}\n`);
}
