// The failures the step lifecycle itself ends or leaves a step with (shutdown, attempt cap, host fault, cancel).
import { makeFailure, type Failure } from "@mend/wire";
import type { StepRecord } from "../store/records.ts";
import type { StepEnding } from "./step-spec.ts";

/**
 * What an attempt cut by a shutdown answers: retry the request (the key re-executes).
 * @example return { kind: "interrupted", step, output: null, failure: SHUTDOWN };
 */
export const SHUTDOWN = makeFailure(
  "interrupted",
  "The service shut down while this step ran; retry the request.",
  true,
);

/**
 * A failed ending whose failure says the work was cut short and may be resumed (`interrupted`, retryable).
 * @example if (cutShort(ending)) leaveInterrupted(step);
 */
export function cutShort(ending: StepEnding): boolean {
  return ending.status === "failed" && ending.failure?.kind === "interrupted" && ending.failure.retryable;
}

/**
 * The failure of an attempt past the cap: what the journal shows of the attempts that died.
 * @example if (step.attempt > max) ending = { status: "failed", output: null, failure: exhausted(step, max) };
 */
export function exhausted(step: StepRecord, maxAttempts: number): Failure {
  return makeFailure(
    "attempts_exhausted",
    `This step was started ${step.attempt} times and never finished: each attempt died with the service (killed, out of host memory, or shut down) before its end was journaled. It is not executed again; change what it does, or use a new step key.`,
    false,
    { attempts: step.attempt - 1, limits: { maxAttempts } },
  );
}

/**
 * The failure of a step whose work threw: a fault of the host path (`internal_error`), never the guest's.
 * @example catch (err) { ending = { status: "failed", output: null, failure: hostFault(err) }; }
 */
export function hostFault(err: unknown): Failure {
  const message = err instanceof Error ? err.message : String(err);
  return makeFailure(
    "internal_error",
    `Mend failed while executing this step (${message}); nothing of your code caused it. Retry with a new step key, or report the request id.`,
    false,
    { cause: { type: err instanceof Error ? err.name : typeof err, message } },
  );
}

/**
 * The failure of work cut by its run's cancellation: final (`interrupted`, not retryable).
 * @example if (signal.aborted) ending = { ...ending, status: "failed", failure: cancelledByRun() };
 */
export function cancelledByRun(): Failure {
  return makeFailure("interrupted", "The run was cancelled while this step ran.", false);
}
