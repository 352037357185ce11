// The implicit run of a one-off execution: its record, and how it ends with its only step.
import type { ExecutionResponse } from "@mend/wire";
import type { Caller } from "../core/caller.ts";
import { newId } from "../core/ids.ts";
import type { NewRun, RunPatch } from "../store/store.ts";
import type { StepEnding } from "./step-spec.ts";

/**
 * A one-off execution's new run: created with its step's claim, ended with its end. `ended` is set once the
 * step's outcome is known (its end committed with the run's update); `patchedAttempt` is the attempt whose end
 * was built with that update, which is not yet a committed one.
 * @example const implicit: ImplicitRun = { run: newImplicitRun(who, undefined, "one-off"), ended: false, patchedAttempt: null };
 */
export interface ImplicitRun {
  run: NewRun;
  ended: boolean;
  patchedAttempt: number | null;
}

/**
 * The record of `who`'s implicit run (idempotent by key when one is given).
 * @example const { run } = await store.createRun(newImplicitRun(who, "execution:abc", "mcp"));
 */
export function newImplicitRun(
  who: Caller,
  idempotencyKey: string | undefined,
  origin: "one-off" | "mcp",
): NewRun {
  return {
    id: newId("run"),
    tenant: who.tenant,
    mode: "client",
    goal: null,
    implicit: true,
    origin,
    policy: who.policy.name,
    policyVersion: who.policy.version,
    idempotencyKey: idempotencyKey ?? null,
  };
}

/**
 * The update of a one-off's run from its step's ending as written (notes the attempt it was built for).
 * @example const ending = { ...e, runPatch: (e: StepEnding) => endedRun(implicit, step.attempt, e) };
 */
export function endedRun(implicit: ImplicitRun, attempt: number, e: StepEnding): RunPatch {
  implicit.patchedAttempt = attempt;
  const result = (e.output as { result?: unknown } | null)?.result;
  return e.status === "succeeded"
    ? { status: "succeeded", output: result ?? null }
    : { status: "failed", failure: e.failure ?? null };
}

/**
 * An implicit run's update from its only step's response, when the step ended without it.
 * @example if (!res.replayed) await store.updateRun(run.id, finishedRun(res));
 */
export function finishedRun(res: ExecutionResponse): RunPatch {
  return {
    status: res.status,
    ...(res.status === "succeeded" ? { output: res.result ?? null } : { failure: res.failure ?? null }),
  };
}
