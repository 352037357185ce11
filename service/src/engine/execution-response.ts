// The execution response of a step: shaped from its record and output, read back from the journal.
import type { ExecutionResponse } from "@mend/wire";
import { executionId } from "../core/ids.ts";
import { Rejection } from "../core/rejection.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { StepRecord } from "../store/records.ts";
import { internalize, type StepOutput } from "./step-output.ts";

/**
 * The execution response of a journaled step (large values read back from `blobs`); Rejection `conflict`
 * for a step that has not finished.
 * @example return respondStep(done, true, blobs);
 */
export async function respondStep(
  step: StepRecord,
  replayed: boolean,
  blobs: BlobStore,
): Promise<ExecutionResponse> {
  if (step.status !== "succeeded" && step.status !== "failed") {
    throw new Rejection("conflict", `step "${step.key}" has not finished`);
  }
  const output = step.output
    ? ((await internalize(step.output, blobs)) as StepOutput)
    : { usage: { wallMs: 0 } };
  return composeResponse(step, output, step.failure ?? undefined, replayed);
}

/**
 * The execution response of `step` with `output` as the work produced it: failed when `failure` is given.
 * @example const res = composeResponse(outcome.step, outcome.output as StepOutput, outcome.failure, false);
 */
export function composeResponse(
  step: StepRecord,
  output: StepOutput,
  failure: ExecutionResponse["failure"],
  replayed: boolean,
): ExecutionResponse {
  return {
    id: executionId(step.runId, step.seq),
    runId: step.runId,
    stepSeq: step.seq,
    key: step.key,
    status: failure ? "failed" : "succeeded",
    ...output,
    usage: output.usage ?? { wallMs: 0 },
    ...(failure ? { failure } : {}),
    attempts: step.attempt,
    replayed,
  };
}
