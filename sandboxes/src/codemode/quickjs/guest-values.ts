// Reads the guest's final value or uncaught throw on the host side: JSON text, or a GuestThrow description.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import type { GuestThrow } from "../guest-failures.ts";

const REPR_MAX = 1000;

/**
 * The JSON text of the script's return value, following JSON.stringify: `undefined` → "null";
 * a top-level function, symbol or BigInt, a cycle or a nested BigInt → a TypeError description
 * "result is not JSON-serialisable: …".
 *
 * @example resultJson(ctx, stringify, handle) // { ok: true, json: "[1,2]" }
 */
export function resultJson(
  ctx: QuickJSContext,
  stringify: QuickJSHandle,
  value: QuickJSHandle,
): { ok: true; json: string } | { ok: false; thrown: GuestThrow } {
  const type = ctx.typeof(value);
  if (type === "undefined") return { ok: true, json: "null" };
  if (type === "function" || type === "symbol" || type === "bigint") return notSerialisable(`a ${type}`);
  const result = ctx.callFunction(stringify, ctx.undefined, value);
  if (result.error !== undefined) {
    const message = errorMessage(ctx, result.error);
    result.error.dispose();
    return notSerialisable(message);
  }
  try {
    return { ok: true, json: ctx.typeof(result.value) === "string" ? ctx.getString(result.value) : "null" };
  } finally {
    result.value.dispose();
  }
}

function notSerialisable(detail: string): { ok: false; thrown: GuestThrow } {
  return {
    ok: false,
    thrown: {
      kind: "error",
      name: "TypeError",
      message: `result is not JSON-serialisable: ${detail}`,
      stack: "",
    },
  };
}

function errorMessage(ctx: QuickJSContext, error: QuickJSHandle): string {
  if (ctx.typeof(error) !== "object") return "unknown error";
  const message = ctx.getProp(error, "message");
  try {
    return ctx.typeof(message) === "string" ? ctx.getString(message) : "unknown error";
  } finally {
    message.dispose();
  }
}

/**
 * Describes an uncaught value: an Error (anything with a string `stack`) by name, message, stack
 * and a ToolError's `callId`; any other value by its type and a short representation.
 *
 * @example describeThrown(ctx, stringify, handle) // { kind: "thrown", type: "string", repr: "boom" }
 */
export function describeThrown(
  ctx: QuickJSContext,
  stringify: QuickJSHandle,
  thrown: QuickJSHandle,
): GuestThrow {
  const type = ctx.typeof(thrown);
  if (type === "string") return { kind: "thrown", type, repr: clip(ctx.getString(thrown)) };
  if (type === "object") {
    if (ctx.eq(thrown, ctx.null)) return { kind: "thrown", type: "null", repr: "null" };
    const stack = readString(ctx, thrown, "stack");
    if (stack !== undefined) {
      const callId = ctx.getProp(thrown, "callId");
      const id = ctx.typeof(callId) === "number" ? ctx.getNumber(callId) : undefined;
      callId.dispose();
      return {
        kind: "error",
        name: readString(ctx, thrown, "name") ?? "Error",
        message: readString(ctx, thrown, "message") ?? "",
        stack,
        ...(id !== undefined ? { callId: id } : {}),
      };
    }
    const json = ctx.callFunction(stringify, ctx.undefined, thrown);
    if (json.error !== undefined) {
      json.error.dispose();
      return { kind: "thrown", type, repr: "[object]" };
    }
    const repr = ctx.typeof(json.value) === "string" ? ctx.getString(json.value) : "[object]";
    json.value.dispose();
    return { kind: "thrown", type, repr: clip(repr) };
  }
  if (type === "bigint") return { kind: "thrown", type, repr: `${ctx.getBigInt(thrown)}n` };
  if (type === "number") return { kind: "thrown", type, repr: String(ctx.getNumber(thrown)) };
  if (type === "undefined") return { kind: "thrown", type, repr: "undefined" };
  return { kind: "thrown", type, repr: String(ctx.dump(thrown)) };
}

function readString(ctx: QuickJSContext, handle: QuickJSHandle, key: string): string | undefined {
  const value = ctx.getProp(handle, key);
  try {
    return ctx.typeof(value) === "string" ? ctx.getString(value) : undefined;
  } finally {
    value.dispose();
  }
}

const clip = (text: string): string => (text.length > REPR_MAX ? `${text.slice(0, REPR_MAX)}…` : text);
