// `run` and `exec` in the foreground pass the signals they get on to the process.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export function forwardSignals(pid: number, tty: boolean): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [];
  for (const sig of FORWARDED) {
    if (tty && sig === 'SIGWINCH') continue; // the stage resizes the pty itself
    const h = () => {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    };
    process.on(sig, h);
    handlers.push([sig, h]);
  }
  return () => handlers.forEach(([s, h]) => process.off(s, h));
}
