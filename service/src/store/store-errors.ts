// Errors every Store implementation throws for the same conditions, so callers never import a backend.

/**
 * Thrown by `listRuns` for a cursor the store did not issue.
 * @example try { await store.listRuns(t, { limit: 10, cursor }) } catch (e) { if (e instanceof InvalidCursorError) ... }
 */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

/**
 * Thrown when a run or step that must exist does not (`updateRun`, `endStep`, `claimStep` of an unknown run).
 * @example await store.endStep("run_missing", 1, end) // rejects with NotFoundError
 */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/**
 * Thrown by a claim guarded with `NewStep.activeRunOf` when the run is finished (succeeded, failed or
 * cancelled): it takes no more steps. Nothing was written.
 * @example await store.claimStep({ ...step, activeRunOf: "acme" }) // RunFinishedError once the run succeeded
 */
export class RunFinishedError extends Error {
  override name = "RunFinishedError";
  readonly status: string;

  constructor(runId: string, status: string) {
    super(`run ${runId} is ${status}`);
    this.status = status;
  }
}

/**
 * Thrown by a fenced write whose writer no longer owns the row: `endStep` with an `attempt` that a later
 * claim superseded (or that was marked interrupted), `updateRun` with a `leaseOwner` that lost the lease.
 * Nothing was written.
 * @example await store.endStep(runId, seq, { ...end, attempt: 1 }) // FencedError once attempt 2 was claimed
 */
export class FencedError extends Error {
  override name = "FencedError";
}

/**
 * A FencedError of a hosted run's driver: the run's lease is another's (or lapsed), so the driver must
 * stop; thrown by `updateRun` with `fence` and by a `claimStep` with `lease`. Nothing was written.
 * @example try { await store.claimStep({ ...step, lease: me }) } catch (e) { if (e instanceof LeaseLostError) stopDriving() }
 */
export class LeaseLostError extends FencedError {
  override name = "LeaseLostError";
}

/**
 * The database cannot take the operation now: disk full, read-only or unopenable file, I/O error, the
 * database server unreachable. Nothing of the failed operation was written; the same call may succeed
 * once the condition is gone (the service retries by itself, callers get 503 with `Retry-After`).
 * @example try { await store.endStep(...) } catch (e) { if (e instanceof StorageUnavailableError) reply503(e.retryAfterS) }
 */
export class StorageUnavailableError extends Error {
  override name = "StorageUnavailableError";
  /** Seconds after which a retry is sensible. */
  readonly retryAfterS: number;

  constructor(message: string, opts: { cause?: unknown; retryAfterS?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryAfterS = opts.retryAfterS ?? 5;
  }
}

/**
 * A value the backend cannot represent exactly (PostgreSQL text holds no NUL character). Refused, never
 * stored altered.
 * @example await pgStore.claimStep({ ..., key: "a\u0000b" }) // rejects with UnstorableValueError
 */
export class UnstorableValueError extends Error {
  override name = "UnstorableValueError";
}

/** The per-tenant quotas a store enforces inside its writes (the policy's `limits`). */
export type StoredQuota = "journalBytes" | "blobBytes";

/**
 * A write that would take the tenant past a stored quota (`Store.setQuota`): journal bytes (runs, steps,
 * tool calls, checkpoints) or blob bytes. The check runs inside the write's own transaction, so nothing of
 * the refused write was stored.
 * @example try { await store.claimStep(step) } catch (e) { if (e instanceof QuotaExceededError) e.quota // "journalBytes" }
 */
export class QuotaExceededError extends Error {
  override name = "QuotaExceededError";
  /** Which quota the write would pass. */
  readonly quota: StoredQuota;

  constructor(quota: StoredQuota, message?: string, opts: { cause?: unknown } = {}) {
    super(
      message ?? `the tenant's ${quota} quota is used up`,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.quota = quota;
  }
}
