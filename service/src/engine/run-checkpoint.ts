// Checkpoints as journaled steps (kind `checkpoint`): the size cap, the step a value is recorded as, and the
// refusals of a checkpoint write.
import type { Caller } from "../core/caller.ts";
import { Rejection } from "../core/rejection.ts";
import { NotFoundError, RunFinishedError } from "../store/store-errors.ts";
import type { StepOutcome, StepSpec } from "./step-spec.ts";

/** A checkpoint value moves to the blob store when large. */
const CHECKPOINT_EXTERNAL_FIELDS = ["value"] as const;

/**
 * Largest checkpoint value, as JSON text (1 MiB).
 * @example if (Buffer.byteLength(json) > MAX_CHECKPOINT_BYTES) refuse();
 */
export const MAX_CHECKPOINT_BYTES = 1024 * 1024;

/**
 * Throws Rejection `too_large` for a checkpoint value whose JSON passes MAX_CHECKPOINT_BYTES.
 * @example assertCheckpointSize(value); // before anything is journaled
 */
export function assertCheckpointSize(value: unknown): void {
  const size = Buffer.byteLength(JSON.stringify(value ?? null));
  if (size > MAX_CHECKPOINT_BYTES) {
    throw new Rejection("too_large", `checkpoint value is ${size} bytes; the cap is ${MAX_CHECKPOINT_BYTES}`);
  }
}

/**
 * The step checkpoint `key` of run `id` is recorded as (key `checkpoint:<key>`), claimed only while the run
 * is `who`'s and not finished.
 * @example await steps.record(checkpointSpec(who, runId, "plan"), { status: "succeeded", output: { value } });
 */
export function checkpointSpec(who: Caller, id: string, key: string): StepSpec {
  return {
    runId: id,
    key: `checkpoint:${key}`,
    kind: "checkpoint",
    input: { key },
    tenant: who.tenant,
    activeRun: true,
    audit: {
      tenant: who.tenant,
      keyId: who.keyId,
      policy: who.policy.name,
      policyVersion: who.policy.version,
    },
    externalFields: CHECKPOINT_EXTERNAL_FIELDS,
  };
}

/**
 * What a failed checkpoint claim of run `id` answers: a missing (or another tenant's) run is `not_found`, a
 * finished one `conflict`; any other error as it is.
 * @example catch (e) { throw checkpointClaimError(e, runId); }
 */
export function checkpointClaimError(e: unknown, id: string): unknown {
  if (e instanceof NotFoundError) return new Rejection("not_found", `run ${id} does not exist`);
  if (e instanceof RunFinishedError) return new Rejection("conflict", `run ${id} is ${e.status}`);
  return e;
}

/**
 * The value checkpoint `key` of run `id` recorded (the first written wins); Rejection `conflict` when its
 * key is journaled as another kind of step.
 * @example return recordedValue(await steps.record(spec, ending), runId, "plan");
 */
export function recordedValue(outcome: StepOutcome, id: string, key: string): unknown {
  if (outcome.kind === "replayed" && outcome.step.kind !== "checkpoint") {
    throw new Rejection(
      "conflict",
      `step key "checkpoint:${key}" of run ${id} is a ${outcome.step.kind} step`,
    );
  }
  return (outcome.output as { value?: unknown } | null)?.value ?? null;
}
