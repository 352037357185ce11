// Everything a step runner needs to execute one journaled step, passed explicitly.
import type { Failure } from "@mend/wire";
import type { Caller } from "../core/caller.ts";
import type { StepOutput } from "./step-output.ts";
import type { ToolDefinition } from "../tools/tool.ts";
import type { StepRecord, ToolCallRow } from "../store/records.ts";
import type { OutputStreamName } from "./step-output-stream.ts";

export interface StepContext {
  who: Caller;
  runId: string;
  step: StepRecord;
  /** Tools the run narrowed itself to (never beyond the policy). */
  narrowedTo?: string[];
  /** Tools bound for this step only (client-hosted tools relayed by /v1/relay), besides the policy's. */
  extraTools?: ToolDefinition[];
  signal: AbortSignal;
  /** Live output of the running step (container stdout/stderr, console lines), as step.output events. */
  output?: (stream: OutputStreamName, text: string) => void;
}

/** How a step ended, before it is journaled. */
export interface StepResult {
  status: "succeeded" | "failed";
  output: StepOutput;
  failure?: Failure;
  /** What the policy resolved (limits, image), for the audit trail. */
  resolved?: Record<string, unknown>;
  /** More for the step's audit (e.g. the egress connections the proxy refused). */
  audit?: Record<string, unknown>;
  /** Tool-call records to journal with the step's end (deterministic calls the journal deferred). */
  toolCalls?: ToolCallRow[];
}
