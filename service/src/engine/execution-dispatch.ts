// Executes a step's action in its sandbox (code mode, container or tool) inside its span, and reports it.
import type { CodeModeEngines, ContainerFile, ContainerRunner } from "@mend/sandboxes";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import { telemetry } from "../lib/telemetry.ts";
import { tracer } from "../lib/tracing.ts";
import type { Crashpoints } from "./crashpoint.ts";
import { runCodeMode, type Determinism } from "./run-codemode.ts";
import { runContainer } from "./run-container.ts";
import { runTool } from "./run-tool.ts";
import type { ActionSpec } from "./step-action.ts";
import type { StepContext, StepResult } from "./step-context.ts";

/**
 * What the sandboxes of an action need (a subset of ExecutorDeps).
 * @example const d: SandboxDeps = { store, blobs, tools, codemode, containers: null, crash };
 */
export interface SandboxDeps {
  store: Store;
  blobs: BlobStore;
  tools: ToolCaller;
  codemode: CodeModeEngines;
  containers: ContainerRunner | null;
  crash: Crashpoints;
}

/**
 * The sandbox execution inside its span, reported once it ended.
 * @example const result = await executeTraced(deps, ctx, action, det, files);
 */
export function executeTraced(
  d: SandboxDeps,
  ctx: StepContext,
  action: ActionSpec,
  det: Determinism | null,
  files: ContainerFile[],
): Promise<StepResult> {
  const requested =
    action.type === "codemode"
      ? (action.engine ?? action.language ?? "")
      : action.type === "container"
        ? (action.image ?? "")
        : action.tool;
  return tracer().span(
    "mend.sandbox.execute",
    { "mend.sandbox": action.type, "mend.run_id": ctx.runId, "mend.step.seq": ctx.step.seq },
    async (span) => {
      const t0 = performance.now();
      const result = await dispatch(d, ctx, action, det, files);
      const resolved = result.resolved?.engine ?? result.resolved?.image;
      const engine = typeof resolved === "string" ? resolved : requested;
      const failureKind = result.failure?.kind;
      telemetry().execution({
        sandbox: action.type,
        engine,
        status: result.status,
        failureKind,
        seconds: (performance.now() - t0) / 1000,
      });
      span.set({ "mend.engine": engine, "mend.status": result.status });
      if (failureKind) span.set({ "mend.failure.kind": failureKind });
      if (failureKind) span.fail(failureKind);
      return result;
    },
  );
}

function dispatch(
  d: SandboxDeps,
  ctx: StepContext,
  action: ActionSpec,
  det: Determinism | null,
  files: ContainerFile[],
): Promise<StepResult> {
  switch (action.type) {
    case "codemode":
      return runCodeMode(
        { engines: d.codemode, tools: d.tools, store: d.store, crash: d.crash, blobs: d.blobs },
        ctx,
        action,
        det ?? { seed: 0, clockMs: Date.now() },
      );
    case "container":
      return runContainer({ runner: d.containers, store: d.store, blobs: d.blobs }, ctx, action, files);
    case "tool":
      return runTool(d.tools, ctx, action);
  }
}
