// Runs a code-mode step: policy admission, tool bindings, journaled tool calls, deterministic seed and clock.
import type { CodeModeAction } from "@mend/wire";
import type { CodeModeEngines, ToolBinding, ToolInvoker } from "@mend/sandboxes";
import { admitCodeMode } from "../policy/resolve-request.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { Crashpoints } from "./crashpoint.ts";
import type { StepContext, StepResult } from "./step-context.ts";
import { StoreToolJournal } from "./store-tool-journal.ts";
import { tracer } from "../lib/tracing.ts";

export interface CodeModeDeps {
  engines: CodeModeEngines;
  tools: ToolCaller;
  store: Store;
  crash: Crashpoints;
  /** Where interpreter snapshots go (engines that take them resume from the latest after a crash). */
  blobs?: BlobStore;
}

/** The journaled determinism inputs of a code-mode step (kept in the step's input). */
export interface Determinism {
  seed: number;
  clockMs: number;
}

/** Code-mode action without its discriminator: the shape shared by executions and client steps. */
export type CodeModeSpec = Omit<CodeModeAction, "sandbox">;

export async function runCodeMode(
  deps: CodeModeDeps,
  ctx: StepContext,
  action: CodeModeSpec,
  det: Determinism,
): Promise<StepResult> {
  const t0 = performance.now();
  const admitted = admitCodeMode(ctx.who.policy, {
    language: action.language,
    engine: action.engine,
    limits: action.limits,
  });
  if (!admitted.ok) return { status: "failed", failure: admitted.failure, output: { usage: { wallMs: 0 } } };
  const narrowed = action.tools ?? ctx.narrowedTo;
  const defs = await deps.tools.allowed(ctx.who, narrowed);
  const extra = ctx.extraTools ?? [];
  const tools: ToolBinding[] = [...defs, ...extra].map((d) => ({
    name: d.name,
    description: d.description,
    inputSchema: d.inputSchema,
  }));
  const journal = new StoreToolJournal(
    deps.store,
    ctx.runId,
    ctx.step.seq,
    () => deps.crash.hit("after-tool-call"),
    deps.blobs,
    {
      firstAttempt: ctx.step.attempt === 1,
      // Deterministic calls ride in the end's transaction (past a quota, the lifecycle keeps those that fit).
      deferDeterministic: true,
    },
  );
  const outcome = await deps.engines[admitted.value.engine].execute({
    code: action.code,
    language: admitted.value.language,
    tools,
    limits: admitted.value.limits,
    seed: det.seed,
    clockMs: det.clockMs,
    journal,
    signal: ctx.signal,
    tenant: ctx.who.tenant,
    weight: ctx.who.policy.limits.share,
    ...(ctx.output ? { onLog: (line: string) => ctx.output?.("log", `${line}\n`) } : {}),
    // Guest tool calls arrive from worker messages, outside this step's async context: bound to its span.
    invokeTool: tracer().bind<ToolInvoker>(async ({ tool, args, seq }) => {
      const callCtx = {
        tenant: ctx.who.tenant,
        runId: ctx.runId,
        idempotencyKey: `${ctx.runId}/${ctx.step.seq}/${seq}`,
        signal: ctx.signal,
      };
      const own = extra.find((t) => t.name === tool);
      if (own) return own.invoke(args ?? {}, callCtx);
      return deps.tools.call(ctx.who, tool, args, callCtx, { cache: action.cache, narrowedTo: narrowed });
    }),
  });
  const output = {
    ...(outcome.status === "succeeded" ? { result: outcome.result ?? null } : {}),
    logs: outcome.logs,
    toolCalls: outcome.toolCalls.map((c) => ({
      seq: c.seq,
      tool: c.tool,
      status: c.status,
      cached: c.cached ?? false,
      replayed: c.replayed ?? false,
      ms: c.ms,
    })),
    ...(outcome.unmatchedReplays.length
      ? { unmatchedReplays: outcome.unmatchedReplays.map((c) => ({ tool: c.tool, argsJson: c.argsJson })) }
      : {}),
    usage: { ...outcome.usage, wallMs: outcome.usage.wallMs ?? performance.now() - t0 },
    ...(outcome.resumedFromSnapshot ? { resumedFromSnapshot: outcome.resumedFromSnapshot } : {}),
  };
  const deferred = journal.takeDeferred();
  const journalWithEnd = deferred.length > 0 ? { toolCalls: deferred } : {};
  const resolved = {
    engine: admitted.value.engine,
    language: admitted.value.language,
    limits: admitted.value.limits,
    tools: tools.map((t) => t.name),
  };
  if (outcome.status === "succeeded") return { status: "succeeded", output, resolved, ...journalWithEnd };
  return { status: "failed", output, failure: outcome.failure, resolved, ...journalWithEnd };
}
