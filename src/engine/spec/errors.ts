// The one error type of the spec builder: the request cannot be turned into a spec. The
// engine answers it with HTTP 400 and the message as is, so every message names the
// request field and the offending value and says what would be accepted.

export class SpecInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecInputError';
  }
}

/** Throw a SpecInputError (an expression-friendly `throw`). */
export function refuse(message: string): never {
  throw new SpecInputError(message);
}

/** JSON-quote a value for a message. */
export const q = (v: unknown): string => JSON.stringify(v) ?? String(v);
