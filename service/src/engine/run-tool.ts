// Runs a structured tool step: one tool call through the ToolCaller (allowlist, validation, cache).
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { StepContext, StepResult } from "./step-context.ts";

export interface ToolSpec {
  tool: string;
  args?: unknown;
  cache?: "use" | "bypass";
}

export async function runTool(tools: ToolCaller, ctx: StepContext, action: ToolSpec): Promise<StepResult> {
  const t0 = performance.now();
  const r = await tools.call(
    ctx.who,
    action.tool,
    action.args ?? {},
    {
      tenant: ctx.who.tenant,
      runId: ctx.runId,
      idempotencyKey: `${ctx.runId}/${ctx.step.seq}/1`,
      signal: ctx.signal,
    },
    { cache: action.cache, narrowedTo: ctx.narrowedTo },
  );
  const usage = { wallMs: performance.now() - t0 };
  if (r.ok)
    return { status: "succeeded", output: { result: r.value ?? null, usage, cached: r.cached ?? false } };
  return { status: "failed", failure: r.failure, output: { usage } };
}
