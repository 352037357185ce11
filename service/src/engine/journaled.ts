// Journals an arbitrary host-side step (an LLM turn, a human answer): run once, recorded, replayed afterwards.
import { makeFailure, type Failure } from "@mend/wire";
import type { StepKind, StepRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { RunEvents } from "./run-events.ts";

export interface JournaledResult {
  status: "succeeded" | "failed";
  output: unknown;
  failure?: Failure;
  usage?: Record<string, unknown>;
}

/**
 * Runs `fn` as step `key` of a run unless the journal already has it finished; `fn` returning null leaves
 * the step unfinished (`interrupted`).
 * @example const { step, replayed } = await journaled(store, events, runId, "iter-1/llm", "llm", input, callModel)
 */
export async function journaled(
  store: Store,
  events: RunEvents,
  runId: string,
  key: string,
  kind: StepKind,
  input: unknown,
  fn: (step: StepRecord) => Promise<JournaledResult | null>,
): Promise<{ step: StepRecord; replayed: boolean }> {
  const claim = await store.claimStep({ runId, key, kind, input });
  if (claim.kind === "finished") return { step: claim.step, replayed: true };
  await events.publish(runId, "step.started", {
    seq: claim.step.seq,
    key,
    kind,
    attempt: claim.step.attempt,
  });
  const r = await fn(claim.step);
  if (r === null) {
    // Interrupted (shutdown): an unfinished attempt, executed again when the run resumes.
    const step = await store.endStep(runId, claim.step.seq, {
      status: "interrupted",
      output: null,
      failure: makeFailure("interrupted", "interrupted by a shutdown; resumed at the next start", true),
      usage: null,
    });
    return { step, replayed: false };
  }
  const step = await store.endStep(runId, claim.step.seq, {
    status: r.status,
    output: r.output ?? null,
    failure: r.failure ?? null,
    usage: r.usage ?? null,
  });
  await events.publish(runId, r.status === "succeeded" ? "step.completed" : "step.failed", {
    seq: step.seq,
    key,
    kind,
    attempt: step.attempt,
    status: r.status,
    ...(r.failure ? { failure: { kind: r.failure.kind, message: r.failure.message } } : {}),
  });
  return { step, replayed: false };
}
