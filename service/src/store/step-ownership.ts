// Step ownership (SCALE-OUT.md invariant 2): a started attempt whose owner is alive is not claimed by another.
import type { StepRecord } from "./records.ts";

/** How long a step owner's heartbeat counts as alive when a claim does not say (NewStep.ownerTtlMs). */
export const STEP_OWNER_TTL_MS = 10_000;

/**
 * True when `prev` is a started attempt owned by another process whose heartbeat is younger than the TTL.
 * Only a claim that names its owner is refused; an anonymous claim re-claims (one process, after a crash).
 * @example ownedByAnother(step, "replica-b", Date.now()) // true while replica-a heartbeats step
 */
export function ownedByAnother(prev: StepRecord, owner: string | null, now: number, ttlMs?: number): boolean {
  if (prev.status !== "started" || owner === null || prev.owner === null || prev.owner === owner)
    return false;
  return prev.heartbeatAt !== null && prev.heartbeatAt + (ttlMs ?? STEP_OWNER_TTL_MS) > now;
}
