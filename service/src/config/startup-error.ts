// A condition that stops the service from starting, said in one line that names the setting to change.

/**
 * Thrown at start-up for what an operator must fix (a port in use, a data dir that cannot be written, a
 * missing policies dir); the CLI prints its message alone and exits 78 (EX_CONFIG), never a stack trace.
 * @example throw new StartupError("MEND_PORT=8080: 127.0.0.1:8080 is already in use (EADDRINUSE)")
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/** The errno code and message of a system error, for a one-line explanation. */
export function describeSystemError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, "")}` : String((err as Error).message ?? err);
}
