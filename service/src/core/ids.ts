// Identifiers: sortable by creation time (so lists page stably), unguessable (so ids are not capabilities leaks).
import { randomBytes } from "node:crypto";

/**
 * A new id with a prefix, e.g. `run_0190f3c2a1b2_k3j4...`.
 * @example newId("run")
 */
export function newId(prefix: "run" | "key" | "req"): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, "0")}${randomBytes(10).toString("base64url")}`;
}

/** The execution id of a journaled step: stable, so a replay answers with the same id. */
export function executionId(runId: string, seq: number): string {
  return `ex_${runId.slice(4)}_${seq}`;
}
