// How a Python script's end inside Monty becomes a FAILURES.md value: kinds, messages, the user's lines.
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLimits } from "../engine.ts";
import {
  outOfMemoryFailure,
  outputLimitFailure,
  timeoutFailure,
  type UserLocation,
} from "../guest-failures.ts";
import type { GuestError, GuestFrame } from "./protocol.ts";
import { ALLOWED_MODULES } from "./python-source.ts";

/** The exception a failed tool call raises in the script, by failure kind. */
export function exceptionTypeOf(failure: Failure): string {
  switch (failure.kind) {
    case "tool_input_invalid":
      return "ValueError";
    case "tool_not_allowed":
      return "PermissionError";
    default:
      return "RuntimeError";
  }
}

/** The recursion depth Monty allows for a stack budget: two frames per KiB (256 KiB → 512 frames). */
export function recursionDepthFor(stackKb: number): number {
  return Math.max(32, Math.min(10_000, Math.floor(stackKb * 2)));
}

const where = (location: UserLocation | undefined): string =>
  location === undefined ? "" : ` (line ${location.line}, column ${location.column})`;

const at = (line?: number, column?: number): UserLocation | undefined =>
  line === undefined ? undefined : { line, column: column ?? 1 };

const innermost = (frames: GuestFrame[]): UserLocation | undefined => {
  const frame = frames.at(-1);
  return frame === undefined ? undefined : { line: frame.line, column: frame.column };
};

/** The key under which a tool failure raised into the guest is found again if it goes uncaught. */
export const raisedKey = (type: string, message: string): string => `${type}\u0000${message}`;

/**
 * Maps what the child reported to a failure. `raised` holds the tool failures raised into the script
 * (by `raisedKey`): uncaught, the script fails with the tool's own failure at the calling line.
 *
 * @example guestFailure({ kind: "syntax", message: "invalid syntax", line: 2, column: 5 }, limits, new Map())
 */
export function guestFailure(
  error: GuestError,
  limits: CodeModeLimits,
  raised: Map<string, Failure>,
): Failure {
  switch (error.kind) {
    case "syntax": {
      const location = at(error.line, error.column);
      return makeFailure(
        "syntax_error",
        `The code does not parse: ${error.message}${where(location)}.`,
        false,
        {
          ...(location ? { location } : {}),
          cause: { type: "SyntaxError", message: error.message },
        },
      );
    }
    case "unsupported": {
      const location = at(error.line, error.column);
      return makeFailure(
        "syntax_error",
        `${error.message}${where(location)}. Code-mode runs a subset of Python (Monty): write that part with functions, dicts and lists.`,
        false,
        { ...(location ? { location } : {}), cause: { type: "NotImplementedError", message: error.message } },
      );
    }
    case "result":
      if (error.tooBig) {
        const failure = outputLimitFailure("result", limits, error.bytes);
        // Conversion stops at the cap: the size is then only known to be over it.
        if (error.bytes !== undefined) return failure;
        return {
          ...failure,
          message: `The script's result is more than ${limits.maxResultBytes} bytes of JSON, its cap. Return less (a summary, a page, the ids) instead of the whole data.`,
        };
      }
      return makeFailure("runtime_error", `${error.message}: it is not JSON-serialisable.`, false, {
        cause: { type: "TypeError", message: error.message },
      });
    case "host":
      return makeFailure(
        "runtime_error",
        `The Python sandbox failed while running the script (${error.message}). Simplify the script.`,
        false,
        { cause: { type: "SandboxCrash", message: error.message } },
      );
    case "exception":
      return exceptionFailure(error, limits, raised);
  }
}

function exceptionFailure(
  error: Extract<GuestError, { kind: "exception" }>,
  limits: CodeModeLimits,
  raised: Map<string, Failure>,
): Failure {
  const location = innermost(error.frames);
  const tool = raised.get(raisedKey(error.type, error.message));
  if (tool !== undefined) return { ...tool, ...(location ? { location } : {}) };
  const cause = { type: error.type, message: error.message, stack: error.traceback };
  switch (error.type) {
    case "MemoryError":
      return { ...outOfMemoryFailure(limits, location), cause };
    case "TimeoutError":
      if (/^time limit exceeded/.test(error.message)) return { ...timeoutFailure(limits, location), cause };
      break;
    case "RecursionError": {
      const depth = recursionDepthFor(limits.stackKb);
      return makeFailure(
        "stack_overflow",
        `The script went deeper than ${depth} nested calls, the recursion limit of its ${limits.stackKb} KiB stack${where(location)}: unbounded or too deep recursion. Use a loop or an explicit stack.`,
        false,
        { limits: { stackKb: limits.stackKb }, ...(location ? { location } : {}), cause },
      );
    }
    case "ModuleNotFoundError": {
      const module = /No module named '([^']+)'/.exec(error.message)?.[1];
      return makeFailure(
        "missing_dependency",
        `The module ${module !== undefined ? `"${module}" ` : ""}is not available in code-mode${where(location)}. Allowed modules: ${ALLOWED_MODULES.join(", ")}; use a tool, or run_code for a container with more libraries.`,
        false,
        { ...(module !== undefined ? { module } : {}), ...(location ? { location } : {}), cause },
      );
    }
  }
  const hint = /can't be awaited|awaitable is required/.test(error.message)
    ? " Tool calls in Python code-mode return their result directly: call them without `await`."
    : "";
  return makeFailure(
    "runtime_error",
    `Uncaught ${error.type}: ${error.message}${where(location)}.${hint}`,
    false,
    {
      ...(location ? { location } : {}),
      cause,
    },
  );
}
