// Tools every deployment has, so code-mode is usable before any tool is registered (each still needs the policy).
import { makeFailure } from "@mend/wire";
import type { ToolDefinition, ToolResult } from "./tool.ts";
import { httpFetchTool } from "./http-fetch-tool.ts";

/** Returns its arguments unchanged; deterministic, so cacheable. */
export const echoTool: ToolDefinition = {
  name: "echo",
  description: "Returns the arguments it was called with, unchanged. Useful to test orchestration code.",
  inputSchema: {
    type: "object",
    properties: { text: { type: "string", description: "Any text" } },
    additionalProperties: true,
  },
  version: "1",
  idempotent: true,
  async invoke(args) {
    return { ok: true, value: args };
  },
};

/** Waits `ms` milliseconds (at most 60 s) and returns how long it slept; aborts with the step. */
export const sleepTool: ToolDefinition = {
  name: "sleep",
  description: "Waits for `ms` milliseconds (at most 60000) and returns { sleptMs }.",
  inputSchema: {
    type: "object",
    properties: { ms: { type: "integer", minimum: 0, maximum: 60000, description: "Milliseconds to wait" } },
    required: ["ms"],
    additionalProperties: false,
  },
  version: "1",
  idempotent: true,
  async invoke(args, ctx) {
    const ms = (args as { ms: number }).ms;
    // Nothing to wait for: a timer would still cost a tick of the event loop (≥ 1 ms).
    if (ms <= 0) return ctx.signal?.aborted ? interruptedSleep() : { ok: true, value: { sleptMs: 0 } };
    const t0 = performance.now();
    const aborted = await new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        ctx.signal?.removeEventListener("abort", onAbort);
        resolve(false);
      }, ms);
      ctx.signal?.addEventListener("abort", onAbort, { once: true });
    });
    if (aborted) return interruptedSleep();
    return { ok: true, value: { sleptMs: Math.round(performance.now() - t0) } };
  },
};

function interruptedSleep(): ToolResult {
  return { ok: false, failure: makeFailure("interrupted", "sleep was interrupted", true) };
}

/** Built-ins without dependencies. kv.* and blobs.* need the store: see createKvTools / createBlobTools. */
export const BUILTIN_TOOLS: readonly ToolDefinition[] = [echoTool, sleepTool, httpFetchTool];

/** Every built-in name, including the store-backed ones; their first segments are reserved namespaces. */
export const BUILTIN_TOOL_NAMES: readonly string[] = [
  ...BUILTIN_TOOLS.map((t) => t.name),
  "kv.get",
  "kv.set",
  "blobs.put",
  "blobs.get",
];
