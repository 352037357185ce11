// Why a QuickJS guest was stopped, or what its evaluation threw, as the Failure its execution ends with.
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLimits } from "../engine.ts";
import {
  fragmentedHeapFailure,
  interruptedFailure,
  outOfMemoryFailure,
  outputLimitFailure,
  stackOverflowFailure,
  syntaxFailure,
  timeoutFailure,
  userStack,
  type GuestThrow,
} from "../guest-failures.ts";

const MiB = 1024 * 1024;

/**
 * Why the host stopped a guest (from its interrupt handler, a refused allocation or a fatal tool failure).
 *
 * @example let stop: Stop | undefined; stop ??= { kind: "timeout" };
 */
export type Stop =
  | { kind: "timeout" }
  | { kind: "logs" }
  | { kind: "memory" }
  | { kind: "aborted" }
  | { kind: "fatal"; failure: Failure }
  | { kind: "worker_full" }
  /** Alone in its worker, it filled the worker's memory (its bytes) itself: fragmentedHeapFailure. */
  | { kind: "worker_memory"; workerBytes: number };

/**
 * The failure of a guest stopped for `stop`, located where the guest was (`stopStack`, the stack of the
 * first error that escaped).
 *
 * @example const failure = stopFailure({ kind: "timeout" }, stack, "script.js", limits);
 */
export function stopFailure(
  stop: Stop,
  stopStack: string | undefined,
  filename: string,
  limits: CodeModeLimits,
): Failure {
  const { location } = userStack(stopStack ?? "", filename);
  switch (stop.kind) {
    case "timeout":
      return timeoutFailure(limits, location);
    case "logs":
      return outputLimitFailure("logs", limits, undefined, location);
    case "memory":
      return outOfMemoryFailure(limits, location);
    case "worker_memory":
      return fragmentedHeapFailure(limits, Math.round(stop.workerBytes / MiB), location);
    case "aborted":
      return interruptedFailure();
    case "fatal":
      return stop.failure;
    case "worker_full": // #slice turns it into a rerun before any outcome leaves the worker
      return makeFailure("sandbox_unavailable", "The sandbox's memory is full. Retry shortly.", true);
  }
}

/**
 * The failure of a script whose evaluation threw `error` (dumped to the host) while the guest was not
 * stopped: a syntax error, memory or stack exhausted at the top level, or an uncaught error (`thrown`).
 *
 * @example const failure = evalFailure(ctx.dump(handle), "script.ts", limits, (t) => uncaught(t));
 */
export function evalFailure(
  error: unknown,
  filename: string,
  limits: CodeModeLimits,
  thrownFailure: (thrown: GuestThrow) => Failure,
): Failure {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; stack?: unknown };
  const name = typeof e.name === "string" ? e.name : "Error";
  const message = typeof e.message === "string" ? e.message : JSON.stringify(error);
  const stack = typeof e.stack === "string" ? e.stack : "";
  if (name === "SyntaxError") return syntaxFailure(message, stack, filename);
  if (error === null || message === "out of memory")
    return outOfMemoryFailure(limits, userStack(stack, filename).location);
  if (message === "stack overflow") return stackOverflowFailure(limits, userStack(stack, filename).location);
  return thrownFailure({ kind: "error", name, message, stack });
}
