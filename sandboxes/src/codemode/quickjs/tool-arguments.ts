// A QuickJS guest's tool arguments as JSON text, serialised inside the guest by its own JSON.stringify.
import { MAX_JSON_DEPTH, makeFailure, type Failure } from "@mend/wire";
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { isStackOverflow } from "./guest-error-handles.ts";

/** The arguments' JSON text, what the guest's JSON.stringify threw (the caller owns it), or too deep. */
export type ArgumentsJson = { json: string } | { error: QuickJSHandle } | { tooDeep: true };

/**
 * Serialises `args` with the guest's `stringify` (toJSON and getters are guest code): `{}` when absent,
 * `null` when it serialises to nothing.
 *
 * @example const args = argumentsJson(ctx, globals.stringify, handle); if ("json" in args) send(args.json);
 */
export function argumentsJson(
  ctx: QuickJSContext,
  stringify: QuickJSHandle,
  args: QuickJSHandle,
): ArgumentsJson {
  if (ctx.typeof(args) === "undefined") return { json: "{}" };
  const json = ctx.callFunction(stringify, ctx.undefined, args);
  if (json.error !== undefined) {
    // Arguments too deep for the guest's own stack fail like arguments too deep for the bridge.
    if (!isStackOverflow(ctx, json.error)) return { error: json.error };
    json.error.dispose();
    return { tooDeep: true };
  }
  const text = ctx.typeof(json.value) === "string" ? ctx.getString(json.value) : "null";
  json.value.dispose();
  return { json: text };
}

/**
 * The failure of a tool call whose arguments the guest could not even serialise (too deep for its stack).
 *
 * @example pending.push({ callId, ok: false, failure: tooDeepArguments("search"), fatal: false });
 */
export function tooDeepArguments(tool: string): Failure {
  const message = `the arguments are nested too deeply to serialise (at most ${MAX_JSON_DEPTH} levels cross to a tool)`;
  return makeFailure("tool_input_invalid", `The arguments of "${tool}" are invalid: ${message}.`, false, {
    tool,
    errors: [{ path: "/", message }],
  });
}
