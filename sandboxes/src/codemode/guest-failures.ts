// How guest outcomes become FAILURES.md values, shared by the engines: kinds, messages, user locations.
import { MAX_JSON_DEPTH, jsonTextDepth, makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLimits } from "./engine.ts";
import { SCRIPT_PREFIX } from "./script-source.ts";

/** A location in the user's code (1-based). */
export interface UserLocation {
  line: number;
  column: number;
}

/** What the guest reports about an uncaught value (built by the guest prelude). */
export type GuestThrow =
  | { kind: "error"; name: string; message: string; stack: string; callId?: number }
  | { kind: "thrown"; type: string; repr: string };

const FRAME = /^\s*at (?:(.*?) \()?([^()\s]+?):(\d+)(?::(\d+))?\)?\s*$/;

/**
 * Keeps the stack frames of the user's script (drops the prelude's and native ones), with line-1
 * columns shifted back over the async wrapper, and returns the first user frame as the location.
 *
 * @example userStack("    at f (script.js:3:9)\n    at tool (mend:prelude:1:2)\n", "script.js") // { stack: "    at f (script.js:3:9)", location: { line: 3, column: 9 } }
 */
export function userStack(stack: string, filename: string): { stack: string; location?: UserLocation } {
  const kept: string[] = [];
  let location: UserLocation | undefined;
  for (const raw of stack.split("\n")) {
    const match = FRAME.exec(raw);
    if (match === null || match[2] !== filename) continue;
    const name = match[1];
    // "<eval>" is the wrapper's own invocation, not user code.
    if (name === "<eval>") continue;
    const line = Number(match[3]);
    let column = match[4] === undefined ? 1 : Number(match[4]);
    if (line === 1) {
      column -= SCRIPT_PREFIX.length;
      // A position inside the async wrapper itself: no user location to give.
      if (column < 1) continue;
    }
    kept.push(
      name === undefined
        ? `    at ${filename}:${line}:${column}`
        : `    at ${name} (${filename}:${line}:${column})`,
    );
    location ??= { line, column };
  }
  return location === undefined ? { stack: kept.join("\n") } : { stack: kept.join("\n"), location };
}

const where = (location: UserLocation | undefined): string =>
  location === undefined ? "" : ` (line ${location.line}, column ${location.column})`;

/** The wall-clock limit was reached. */
export function timeoutFailure(limits: CodeModeLimits, location?: UserLocation, detail = ""): Failure {
  return makeFailure(
    "timeout",
    `The script was stopped after reaching its ${limits.timeoutMs} ms time limit${where(location)}${detail}. Make it do less work (fewer iterations, smaller inputs) or raise timeoutMs.`,
    true,
    {
      limits: { timeoutMs: limits.timeoutMs },
      remedy: { action: "increase_timeout", timeoutMs: limits.timeoutMs * 2 },
      ...(location ? { location } : {}),
    },
  );
}

/** The guest heap limit was reached (or the worker's bounded wasm memory). */
export function outOfMemoryFailure(limits: CodeModeLimits, location?: UserLocation): Failure {
  return makeFailure(
    "out_of_memory",
    `The script ran out of memory: it reached its ${limits.memoryMb} MiB limit${where(location)}. Keep less data in memory (stream, paginate, drop references) or raise memoryMb.`,
    true,
    {
      limits: { memoryMb: limits.memoryMb },
      remedy: { action: "increase_memory", memoryMb: limits.memoryMb * 2 },
      ...(location ? { location } : {}),
      cause: { type: "InternalError", message: "out of memory" },
    },
  );
}

/**
 * Out of memory below the script's own limit: alone in its code-mode worker, it needed more heap than the
 * worker holds — freed objects between live ones leave gaps that larger ones cannot use, so the heap
 * outgrows what the script keeps. More memoryMb does not help (the worker's size is the bound, and no
 * worker is larger), nor does the same script again: not retryable, no remedy; what helps is in the message.
 * @example fragmentedHeapFailure({ ...limits, memoryMb: 33 }, 40).message // "…more than the 40 MiB a code-mode worker holds…"
 */
export function fragmentedHeapFailure(
  limits: CodeModeLimits,
  workerMb: number,
  location?: UserLocation,
): Failure {
  return makeFailure(
    "out_of_memory",
    `The script ran out of memory${where(location)}: its heap needed more than the ${workerMb} MiB a code-mode worker holds, although what it kept stayed within its ${limits.memoryMb} MiB limit — objects freed between ones still held leave gaps that larger ones cannot use. Raising memoryMb does not help: build large values once instead of many growing ones, reuse them, or keep fewer at a time.`,
    false,
    {
      limits: { memoryMb: limits.memoryMb },
      ...(location ? { location } : {}),
      cause: { type: "InternalError", message: "out of memory" },
    },
  );
}

/** Unbounded recursion hit the stack limit. */
export function stackOverflowFailure(
  limits: CodeModeLimits,
  location?: UserLocation,
  stack?: string,
): Failure {
  return makeFailure(
    "stack_overflow",
    `The script overflowed its ${limits.stackKb} KiB stack${where(location)}: unbounded or too deep recursion. Use a loop or an explicit stack.`,
    false,
    {
      limits: { stackKb: limits.stackKb },
      ...(location ? { location } : {}),
      cause: { type: "RangeError", message: "stack overflow", ...(stack ? { stack } : {}) },
    },
  );
}

/** Console output or the result went over its cap. */
export function outputLimitFailure(
  what: "logs" | "result",
  limits: CodeModeLimits,
  bytes?: number,
  location?: UserLocation,
): Failure {
  const cap = what === "logs" ? limits.maxLogBytes : limits.maxResultBytes;
  const message =
    what === "logs"
      ? `The script's console output went over its ${cap}-byte cap${where(location)}; it was stopped and the output kept up to the cap. Log less (summaries, counts) and return data as the result instead.`
      : `The script's result is ${bytes ?? "over"} bytes of JSON, over the ${cap}-byte cap. Return less (a summary, a page, the ids) instead of the whole data.`;
  return makeFailure("output_limit", message, false, {
    limits: what === "logs" ? { maxLogBytes: cap } : { maxResultBytes: cap },
    ...(bytes !== undefined ? { usage: { resultBytes: bytes } } : {}),
    ...(location ? { location } : {}),
  });
}

/**
 * Why the script's result (its JSON text) cannot be returned, or undefined: over `maxResultBytes` →
 * `output_limit`; nested deeper than MAX_JSON_DEPTH → `runtime_error` "result too deep" (checked on the
 * text, before the host parses or walks it).
 *
 * @example resultJsonFailure("[[1]]", limits) // undefined
 */
export function resultJsonFailure(json: string, limits: CodeModeLimits): Failure | undefined {
  const bytes = json.length * 3 > limits.maxResultBytes ? Buffer.byteLength(json) : json.length;
  if (bytes > limits.maxResultBytes) return outputLimitFailure("result", limits, bytes);
  if (jsonTextDepth(json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    return makeFailure(
      "runtime_error",
      `The script's result is too deep: it nests arrays or objects more than ${MAX_JSON_DEPTH} levels. Return a flatter value (a list of rows, ids, a summary).`,
      false,
      { cause: { type: "ResultTooDeep", message: `result nested deeper than ${MAX_JSON_DEPTH} levels` } },
    );
  }
  return undefined;
}

/** The execution was cancelled (run cancelled, service shutting down) before it finished. */
export function interruptedFailure(): Failure {
  return makeFailure("interrupted", "The execution was cancelled before it finished.", true);
}

/** The script's promise can never settle: nothing (tool call, timer) is left that could settle it. */
export function unsettledFailure(): Failure {
  return makeFailure(
    "runtime_error",
    "The script never finished: it awaits a promise that nothing can settle (no tool call or timer is pending). Make sure every awaited promise resolves or rejects.",
    false,
    { cause: { type: "UnsettledPromise", message: "the script's promise never settles" } },
  );
}

/** The code does not parse. */
export function syntaxFailure(message: string, stack: string, filename: string): Failure {
  const { location } = userStack(stack, filename);
  return makeFailure("syntax_error", `The code does not parse: ${message}${where(location)}.`, false, {
    ...(location ? { location } : {}),
    cause: { type: "SyntaxError", message },
  });
}

/** Maps what the guest threw (uncaught) to a failure; `toolFailure` resolves a ToolError's call id. */
export function uncaughtFailure(
  thrown: GuestThrow,
  filename: string,
  limits: CodeModeLimits,
  toolFailure: (callId: number) => Failure | undefined,
): Failure {
  if (thrown.kind === "thrown") {
    // QuickJS throws `null` when it cannot even allocate the out-of-memory error.
    if (thrown.type === "null") return outOfMemoryFailure(limits);
    return makeFailure(
      "runtime_error",
      `The script threw a non-Error value (${thrown.type}): ${thrown.repr}. Throw Error objects to get a stack.`,
      false,
      { cause: { type: thrown.type, message: thrown.repr } },
    );
  }
  const { stack, location } = userStack(thrown.stack, filename);
  if (thrown.name === "ToolError" && thrown.callId !== undefined) {
    const failure = toolFailure(thrown.callId);
    if (failure !== undefined) return { ...failure, ...(location ? { location } : {}) };
  }
  if (thrown.message === "out of memory") return outOfMemoryFailure(limits, location);
  if (thrown.message === "stack overflow" || thrown.message === "Maximum call stack size exceeded") {
    return stackOverflowFailure(limits, location, stack);
  }
  return makeFailure(
    "runtime_error",
    `Uncaught ${thrown.name}: ${thrown.message}${where(location)}.`,
    false,
    { ...(location ? { location } : {}), cause: { type: thrown.name, message: thrown.message, stack } },
  );
}

/** The guest's worker died (wasm abort, host stack exhausted, heap exhausted): the host replaced it. */
export function crashFailure(limits: CodeModeLimits, reason: string): Failure {
  if (
    /out of memory|OOM|ERR_WORKER_OUT_OF_MEMORY|Cannot enlarge memory|Array buffer allocation/i.test(reason)
  ) {
    return outOfMemoryFailure(limits);
  }
  if (/call stack size|stack overflow/i.test(reason)) return stackOverflowFailure(limits);
  return makeFailure(
    "runtime_error",
    `The sandbox crashed while running the script (${reason}). This usually comes from extreme recursion or allocation; simplify the script.`,
    false,
    { cause: { type: "SandboxCrash", message: reason } },
  );
}
