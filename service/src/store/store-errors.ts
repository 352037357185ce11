// Errors every Store implementation throws for the same conditions, so callers never import a backend.

/**
 * Thrown by `listRuns` for a cursor the store did not issue.
 * @example try { await store.listRuns(t, { limit: 10, cursor }) } catch (e) { if (e instanceof InvalidCursorError) ... }
 */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

/**
 * Thrown when a run or step that must exist does not (`updateRun`, `endStep` of an unknown row).
 * @example await store.endStep("run_missing", 1, end) // rejects with NotFoundError
 */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}
