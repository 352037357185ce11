// How a caller of the executor shapes one step: tools, cancellation, admission and input-mismatch handling.
import type { Release } from "../auth/concurrency-limiter.ts";
import type { StepRecord } from "../store/records.ts";
import type { ToolDefinition } from "../tools/tool.ts";
import type { AdmissionMode } from "./admission.ts";

/**
 * The options of `Executor.step`.
 * @example await executor.step(who, run, key, action, { signal, onInputMismatch: "reject", journaled: null });
 */
export interface StepOptions {
  /** Tools the run narrowed itself to (never beyond the policy). */
  narrowedTo?: string[];
  /** Cancels this step (run cancellation); the step ends as `interrupted`. */
  signal?: AbortSignal;
  /** Links an automatic retry to the failure it remediates. */
  remediation?: Record<string, unknown> | null;
  /** Tools bound for this step only, besides the policy's (client-hosted tools of /v1/relay). */
  extraTools?: ToolDefinition[];
  /** At the tenant's concurrency limit: answer 429 (`refuse`, the default) or wait for a slot (`wait`). */
  admission?: AdmissionMode;
  /** A slot the caller already holds (taken before a response stream started); released by the step. */
  admitted?: Release;
  /**
   * A key already used with a different input: `reject` throws Rejection `input_mismatch` (client-driven
   * steps: a non-deterministic caller); `replay` (default) answers from the journal — the hosted loop's
   * own keys, whose retries are derived from a policy that may have changed since.
   */
  onInputMismatch?: "reject" | "replay";
  /**
   * The step as the caller already read it from the journal (null: the key is new), so the request reads
   * the journal once; absent, the executor reads it.
   */
  journaled?: StepRecord | null;
}
