// The store writes of the step lifecycle: a step's claim and its end, each with the event committed with it.
import type { StepRecord } from "../store/records.ts";
import type { Announce, NewStep, StepEnd } from "../store/store.ts";
import type { Replica } from "./replica.ts";
import type { StepEnding, StepSpec } from "./step-spec.ts";

// Built from the row just written, so the event carries the claim's seq and attempt.
const announceStarted: Announce = (s) => ({
  type: "step.started",
  data: { seq: s.seq, key: s.key, kind: s.kind, attempt: s.attempt },
});

// The fast path only takes succeeded endings, so its end event is always step.completed.
const announceCompleted: Announce = (s) => ({
  type: "step.completed",
  data: { seq: s.seq, key: s.key, kind: s.kind, attempt: s.attempt, status: s.status },
});

/**
 * The claim of `spec` (as `replica`'s when given, fenced by the run's lease `lease` when one is held).
 * @example const claim = await store.claimStep(newStepClaim(spec, replica, leases.get(spec.runId)));
 */
export function newStepClaim(
  spec: StepSpec,
  replica: Replica | undefined,
  lease: string | undefined,
): NewStep {
  return {
    runId: spec.runId,
    key: spec.key,
    kind: spec.kind,
    input: spec.input,
    remediation: spec.remediation ?? null,
    audit: spec.audit ?? null,
    // The step.started event commits with the claim (one transaction, one event order).
    announce: announceStarted,
    ...(replica ? { owner: replica.id, ownerTtlMs: replica.stepTtlMs } : {}),
    ...(lease !== undefined ? { lease } : {}),
    ...(spec.run ? { run: spec.run } : {}),
    ...(spec.activeRun ? { activeRunOf: spec.tenant } : {}),
  };
}

/**
 * The end that a claim of already-done work commits with it (NewStep.end): `ending` is a succeeded one
 * whose output fits inline, so it is written as it is.
 * @example await store.claimStep({ ...newStepClaim(spec, replica, undefined), end: recordedEnd(spec, ending) });
 */
export function recordedEnd(spec: StepSpec, ending: StepEnding): Omit<StepEnd, "attempt"> {
  return {
    status: ending.status,
    output: ending.output,
    failure: null,
    usage: ending.usage ?? null,
    cached: ending.cached ?? false,
    ...(ending.audit ? { audit: { ...spec.audit, ...ending.audit } } : {}),
    announce: announceCompleted,
  };
}

/**
 * The end of open attempt `step` with `ending`, its output already externalized (`output`). Calls the
 * ending's `runPatch`, so it is built only once the end is about to be written.
 * @example await store.endStep(step.runId, step.seq, stepEnd(step, ending, output));
 */
export function stepEnd(step: StepRecord, ending: StepEnding, output: StepEnd["output"]): StepEnd {
  const failure = ending.failure ?? null;
  return {
    // Fenced: a later attempt (another replica took the step over) makes this end write nothing.
    attempt: step.attempt,
    status: ending.status,
    output,
    failure,
    usage: ending.usage ?? null,
    cached: ending.cached ?? false,
    ...(ending.audit ? { audit: { ...step.audit, ...ending.audit } } : {}),
    ...(ending.toolCalls?.length ? { toolCalls: ending.toolCalls } : {}),
    ...(ending.runPatch ? { run: ending.runPatch(ending) } : {}),
    // The step.completed / step.failed event commits with the end.
    announce: (s) => ({
      type: s.status === "succeeded" ? "step.completed" : "step.failed",
      data: {
        seq: s.seq,
        key: s.key,
        kind: s.kind,
        attempt: s.attempt,
        status: s.status,
        ...(failure ? { failure: { kind: failure.kind, message: failure.message } } : {}),
      },
    }),
  };
}
