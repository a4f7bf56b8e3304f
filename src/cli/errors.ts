/**
 * The client's errors and small request helpers that need no HTTP stack (so commands can
 * import them without loading node:http before they talk to the daemon).
 */
export class ConnectError extends Error {}

export class DaemonError extends Error {
  constructor(
    readonly statusCode: number,
    readonly daemonMessage: string,
  ) {
    super(`Error response from daemon: ${daemonMessage}`);
  }
}

/** docker's filters.Args JSON: {"dangling":{"true":true}}. Flag values are "key=value". */
export function encodeFilters(values: readonly string[], extra: Array<[string, string]> = []): string | undefined {
  const m: Record<string, Record<string, boolean>> = {};
  const add = (k: string, v: string) => {
    (m[k] ??= {})[v] = true;
  };
  for (const f of values) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new Error('bad format of filter (expected name=value)');
    add(f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1).trim());
  }
  for (const [k, v] of extra) add(k, v);
  return Object.keys(m).length ? JSON.stringify(m) : undefined;
}
