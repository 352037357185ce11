// Failures the QuickJS scheduler decides itself: shutdown, cancellation, an oversized limit, lost guests.
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLimits } from "../engine.ts";
import { timeoutFailure } from "../guest-failures.ts";
import { hostableMb, placeableBytes } from "./guest-placement.ts";

/**
 * The engine is closing: queued and living guests end `interrupted` (retryable elsewhere).
 *
 * @example task.fail(shutdownFailure());
 */
export function shutdownFailure(): Failure {
  return makeFailure("interrupted", "The code-mode engine is shutting down.", true);
}

/**
 * The caller cancelled the execution wherever it was.
 *
 * @example task.fail(cancelledFailure());
 */
export function cancelledFailure(): Failure {
  return makeFailure("interrupted", "The execution was cancelled before it finished.", true);
}

/**
 * A memory limit no worker can ever place (fitsSlot, even empty) would wait in the queue forever: the policy
 * allows more memory than the engine's workers hold. Refused at once, saying what would run; undefined when
 * a worker of `wasmMemoryMaxMb` can hold it.
 *
 * @example const refused = oversizedFailure(task.limits.memoryMb, options.wasmMemoryMaxMb);
 */
export function oversizedFailure(memoryMb: number, wasmMemoryMaxMb: number): Failure | undefined {
  const hostable = hostableMb(placeableBytes(wasmMemoryMaxMb));
  if (memoryMb <= hostable) return undefined;
  return makeFailure(
    "policy_violation",
    `memoryMb=${memoryMb} is more than one QuickJS worker can hold for a script (${hostable} MiB with its ${wasmMemoryMaxMb} MiB of wasm memory); ask for at most ${hostable}, or ask the operator to lower the policy's codemode.max.memoryMb`,
    false,
    { rule: "codemode.max.memoryMb", remedy: { action: "change_request", memoryMb: hostable } },
  );
}

/**
 * A guest lost its worker (`crash`) or found it full (`full`) more often than it may start over.
 *
 * @example task.fail(rerunsExhaustedFailure("crash", task.reruns));
 */
export function rerunsExhaustedFailure(why: "crash" | "full", reruns: number): Failure {
  const lost =
    why === "full"
      ? `The sandboxes running this script ran out of the memory they share with other scripts ${reruns} times`
      : `The sandbox running this script was lost ${reruns} times (other scripts crashed it)`;
  return makeFailure("sandbox_unavailable", `${lost}. Retry shortly.`, true, {
    remedy: { action: "retry_later" },
  });
}

/**
 * A slice outlived its budget and the kill grace: the guest times out, saying it was stopped from outside.
 *
 * @example task.fail(stuckFailure(task.limits)); slot.kill("stuck past its time limit", task.id);
 */
export function stuckFailure(limits: CodeModeLimits): Failure {
  const detail =
    " (the sandbox was stopped from outside: the script was stuck inside a long built-in operation)";
  return timeoutFailure(limits, undefined, detail);
}
