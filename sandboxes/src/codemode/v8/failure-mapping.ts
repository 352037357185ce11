// V8-specific classification on top of the shared guest-failures.ts: isolated-vm errors and V8's own messages.
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLimits } from "../engine.ts";
import {
  outOfMemoryFailure,
  syntaxFailure,
  timeoutFailure,
  uncaughtFailure,
  userStack,
  type GuestThrow,
} from "../guest-failures.ts";

/** isolated-vm's message when `{ timeout }` stops a run or an apply. */
const TIMED_OUT = "Script execution timed out.";
/** isolated-vm's message when the heap limit made it dispose the isolate. */
const MEMORY_DISPOSED = "Isolate was disposed during execution due to memory limit";
/** V8 RangeErrors that mean "this allocation does not fit" (QuickJS says "out of memory"). */
const ALLOCATION_ERRORS = new Set(["Invalid string length", "Array buffer allocation failed"]);
/** What V8 rejects `import()` with when the embedder (isolated-vm) installs no module loader. */
const DYNAMIC_IMPORT = "Not supported";

/**
 * Maps an uncaught guest value to its failure: the shared mapping, after V8's allocation failures
 * become `out_of_memory` and a refused `import()` says so.
 * @example v8UncaughtFailure({ kind: "error", name: "RangeError", message: "Invalid string length", stack: "" }, "script.js", limits, () => undefined, 3).kind // → "out_of_memory"
 */
export function v8UncaughtFailure(
  raw: GuestThrow,
  filename: string,
  limits: CodeModeLimits,
  toolFailure: (callId: number) => Failure | undefined,
  userLines = Number.POSITIVE_INFINITY,
): Failure {
  const thrown =
    raw.kind === "error" ? { ...raw, stack: withoutWrapperFrames(raw.stack, filename, userLines) } : raw;
  if (thrown.kind === "error" && thrown.name === "RangeError" && ALLOCATION_ERRORS.has(thrown.message)) {
    const failure = outOfMemoryFailure(limits, userStack(thrown.stack, filename).location);
    return { ...failure, cause: { type: "RangeError", message: thrown.message } };
  }
  if (thrown.kind === "error" && thrown.name === "Error" && thrown.message === DYNAMIC_IMPORT) {
    const message =
      'Cannot import modules: import() is not available in code-mode; use the tools object ("Not supported").';
    return uncaughtFailure({ ...thrown, message }, filename, limits, toolFailure);
  }
  return uncaughtFailure(thrown, filename, limits, toolFailure);
}

/** Drops frames past the user's last line: the async wrapper's own invocation (QuickJS names it "<eval>"). */
function withoutWrapperFrames(stack: string, filename: string, userLines: number): string {
  const position = new RegExp(`${filename.replace(".", "\\.")}:(\\d+):\\d+\\)?\\s*$`);
  return stack
    .split("\n")
    .filter((line) => {
      const match = position.exec(line);
      return match === null || Number(match[1]) <= userLines;
    })
    .join("\n");
}

/**
 * Whether an error from compile/run/apply comes from the isolate itself (timeout, memory limit,
 * disposal) rather than from a guest promise left rejected without a handler.
 * @example isIsolateError(new Error("Script execution timed out."), false) // → true
 */
export function isIsolateError(error: unknown, isolateDisposed: boolean): boolean {
  if (isolateDisposed) return true;
  const message = error instanceof Error ? error.message : "";
  return (
    message === TIMED_OUT || message.startsWith(MEMORY_DISPOSED) || message.startsWith("Isolate is disposed")
  );
}

/**
 * Maps an error thrown by isolated-vm itself (compile, run, apply) that no host stop explains.
 * @example isolateErrorFailure(new Error("Script execution timed out."), "script.js", limits, false).kind // → "timeout"
 */
export function isolateErrorFailure(
  error: unknown,
  filename: string,
  limits: CodeModeLimits,
  isolateDisposed: boolean,
): Failure {
  const e = error instanceof Error ? error : new Error(String(error));
  if (e.message === TIMED_OUT) return timeoutFailure(limits, userStack(e.stack ?? "", filename).location);
  if (e.message.startsWith(MEMORY_DISPOSED) || isolateDisposed) return outOfMemoryFailure(limits);
  if (e.name === "SyntaxError") {
    // isolated-vm appends " [file:LINE:COLUMN]" to compile errors: make it a frame userStack understands.
    const match = /\s*\[([^\]]+?):(\d+):(\d+)\]\s*$/.exec(e.message);
    if (match === null) return syntaxFailure(e.message, "", filename);
    return syntaxFailure(
      e.message.slice(0, match.index),
      `    at ${match[1]}:${match[2]}:${match[3]}`,
      filename,
    );
  }
  return makeFailure("runtime_error", `The V8 sandbox failed while running the script: ${e.message}`, false, {
    cause: { type: e.name, message: e.message },
  });
}
