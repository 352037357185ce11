// One shape for every executable action (one-off executions and client-driven steps alike).
import type { ExecutionRequest, StepAction } from "@mend/wire";
import type { CodeModeSpec } from "./run-codemode.ts";
import type { ContainerSpec } from "./run-container.ts";
import type { ToolSpec } from "./run-tool.ts";

export type ActionSpec =
  | ({ type: "codemode" } & CodeModeSpec)
  | ({ type: "container" } & ContainerSpec)
  | ({ type: "tool" } & ToolSpec);

/** `{ sandbox: "codemode", ... }` (executions) → `{ type: "codemode", ... }` (steps). */
export function fromExecution(req: ExecutionRequest): ActionSpec {
  const { sandbox, ...rest } = req;
  return { type: sandbox, ...rest } as ActionSpec;
}

export function fromStepAction(a: StepAction): ActionSpec {
  return a;
}
