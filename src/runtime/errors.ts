// Errors meant for a person: what failed, on which object, and what to do.

export class RuntimeError extends Error {
  /** Process exit status for the CLI (runc uses 1; 127/126 for a missing/unrunnable command). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'RuntimeError';
    this.exitCode = exitCode;
  }
}

export function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
