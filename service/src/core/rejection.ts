// Domain refusals of the engine (not failures of code): the HTTP edge maps each reason to a status once.

export type RejectionReason =
  | "invalid"
  | "not_found"
  | "conflict"
  | "too_large"
  | "not_configured"
  | "unavailable"
  /** Over a rate or concurrency limit; `details.retryAfterSeconds` says when to retry. */
  | "rate_limited"
  /** A destination refused by the destination policy; `details.failure` is the network_denied failure. */
  | "network_denied"
  /** A step key reused with a different input (non-determinism); `details` holds both input hashes. */
  | "input_mismatch";

/**
 * A request the engine will not execute. Not a failure value: nothing ran.
 * @example throw new Rejection("conflict", "run run_1 is succeeded; no more steps")
 */
export class Rejection extends Error {
  override name = "Rejection";
  readonly reason: RejectionReason;
  readonly details: Record<string, unknown>;

  constructor(reason: RejectionReason, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.reason = reason;
    this.details = details;
  }
}
