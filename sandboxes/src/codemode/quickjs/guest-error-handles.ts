// Guest Error objects as the host reads and makes them: a stack overflow, an error's stack, a ToolError.
import type { Failure } from "@mend/wire";
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";

/**
 * Whether `error` is QuickJS's own "stack overflow" (the guest's stack, not the host's, ran out).
 *
 * @example if (!isStackOverflow(ctx, json.error)) return { error: json.error };
 */
export function isStackOverflow(ctx: QuickJSContext, error: QuickJSHandle): boolean {
  if (ctx.typeof(error) !== "object") return false;
  const message = ctx.getProp(error, "message");
  try {
    return ctx.typeof(message) === "string" && ctx.getString(message) === "stack overflow";
  } finally {
    message.dispose();
  }
}

/**
 * The `stack` of a thrown guest value, when it is an object with a string stack. Reading it runs guest
 * code (a getter): the caller bounds it.
 *
 * @example const stack = inspect(() => errorStack(ctx, error));
 */
export function errorStack(ctx: QuickJSContext, error: QuickJSHandle): string | undefined {
  if (ctx.typeof(error) !== "object") return undefined;
  const stack = ctx.getProp(error, "stack");
  try {
    return ctx.typeof(stack) === "string" ? ctx.getString(stack) : undefined;
  } finally {
    stack.dispose();
  }
}

/**
 * A guest Error named ToolError with `kind`, `tool`, `failure` (plain JSON) and the call site's stack.
 * `parse` is the guest's own JSON.parse.
 *
 * @example const error = toolError(ctx, globals.parse, callId, failure, site); deferred.reject(error);
 */
export function toolError(
  ctx: QuickJSContext,
  parse: QuickJSHandle,
  callId: number,
  failure: Failure,
  site: QuickJSHandle,
): QuickJSHandle {
  const error = ctx.newError({ name: "ToolError", message: failure.message });
  const set = (key: string, value: QuickJSHandle): void => {
    ctx.setProp(error, key, value);
    value.dispose();
  };
  set("kind", ctx.newString(failure.kind));
  set("tool", ctx.newString(typeof failure.tool === "string" ? failure.tool : ""));
  set("callId", ctx.newNumber(callId));
  const text = ctx.newString(JSON.stringify(failure));
  const parsed = ctx.callFunction(parse, ctx.undefined, text);
  text.dispose();
  if (parsed.error === undefined) set("failure", parsed.value);
  else parsed.error.dispose();
  set("stack", ctx.getProp(site, "stack"));
  return error;
}
