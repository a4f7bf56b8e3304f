/** Engine errors that carry their HTTP status (the API maps them; the CLI shows the message). */
export class EngineConflictError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'EngineConflictError';
  }
}

/** Start of a running container, stop of a stopped one: Docker answers 304. */
export class NotModifiedError extends Error {
  constructor() {
    super('not modified');
    this.name = 'NotModifiedError';
  }
}

export class NotRunningError extends EngineConflictError {
  constructor(id: string) {
    super(409, `Container ${id} is not running`);
  }
}

/** The shell's exit code for a command that could not run: 127 not found, 126 not executable. */
export function commandFailureCode(message: string): 127 | 126 | undefined {
  if (/not found|No such file/.test(message)) return 127;
  if (/ermission denied/.test(message)) return 126;
  return undefined;
}
