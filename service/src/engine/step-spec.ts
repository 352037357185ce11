// The step lifecycle's vocabulary: what identifies a step, how its work ends, and what running it answers.
import type { Failure } from "@mend/wire";
import type { TenantLimits } from "../policy/policy-schema.ts";
import type { StepKind, StepRecord, ToolCallRow } from "../store/records.ts";
import type { NewRun, RunPatch } from "../store/store.ts";
import type { OutputStreamName } from "./step-output-stream.ts";

/**
 * Attempts of one step when the policy sets no `limits.maxAttempts`.
 * @example const maxAttempts = who.policy.limits.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
 */
export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * What identifies a step and what is journaled when it is first claimed.
 * @example const spec: StepSpec = { runId, key: "iter-1/llm", kind: "llm", input, tenant: who.tenant };
 */
export interface StepSpec {
  runId: string;
  key: string;
  kind: StepKind;
  /** Journaled at the first claim; a re-claimed step keeps its first input (it holds the seed and clock). */
  input: unknown;
  /** Blobs made from this step's large values belong to this tenant. */
  tenant: string;
  /** Who asked and under which policy (written at claim time; the end may add to it). */
  audit?: Record<string, unknown> | null;
  /** Links an automatic retry to the failure it remediates. */
  remediation?: Record<string, unknown> | null;
  /** Top-level output fields moved to the blob store when their JSON is larger than 4 KiB. */
  externalFields?: readonly string[];
  /**
   * Attempts a step may start before it is given up (`attempts_exhausted`): a step whose attempts keep
   * dying with the service (a host-killing guest, a poison input) must not be re-executed forever.
   */
  maxAttempts?: number;
  /** The policy's limits of the tenant (named in a `quota_exceeded` failure). */
  limits?: TenantLimits;
  /** A one-off execution's run, created with the step's claim in one transaction (NewStep.run). */
  run?: NewRun;
  /** Claim only while the run is `tenant`'s and not finished, checked by the claim (NewStep.activeRunOf). */
  activeRun?: boolean;
}

/**
 * How the work of a step ended; `output` is what the journal keeps (large fields are externalized).
 * @example const ending: StepEnding = { status: "succeeded", output: { answer } };
 */
export interface StepEnding {
  status: "succeeded" | "failed";
  output: Record<string, unknown> | null;
  failure?: Failure | null;
  usage?: Record<string, unknown> | null;
  cached?: boolean;
  /** Merged over the audit written at claim time (e.g. the limits the policy resolved). */
  audit?: Record<string, unknown>;
  /** Tool calls journaled with the end, in its transaction (StepEnd.toolCalls). */
  toolCalls?: ToolCallRow[];
  /** The run's update committed with the end, made from the ending actually written (StepEnd.run). */
  runPatch?: (ending: StepEnding) => RunPatch;
}

/**
 * What the work of a step receives.
 * @example await steps.run(spec, async ({ step, signal, output }) => { output("log", `attempt ${step.attempt}`); ... });
 */
export interface StepWork {
  /** The claimed attempt (its `input` is the journaled one, its `attempt` counts from 1). */
  step: StepRecord;
  /** Fires on cancellation of the run or when a shutdown's grace is over. */
  signal: AbortSignal;
  /** Streams live output as bounded `step.output` events (published before the step's end). */
  output: (stream: OutputStreamName, text: string) => void;
}

/**
 * The result of running a step:
 * - `replayed`: the journal had it finished; nothing ran. `output` is the journaled output, read back.
 * - `ended`: it ran and its end is durable. `output` is what the work produced (not externalized).
 * - `interrupted`: a shutdown cut it short; it stays unfinished and the next attempt re-executes it.
 *
 * @example if (outcome.kind === "interrupted") return retryLater(outcome.failure);
 */
export type StepOutcome =
  | { kind: "replayed"; step: StepRecord; output: unknown }
  | { kind: "ended"; step: StepRecord; output: unknown }
  | { kind: "interrupted"; step: StepRecord; output: unknown; failure: Failure };

/**
 * The claim of a step whose work happens elsewhere (a human answer): ended later with `end`.
 * @example const opened = await steps.begin(spec); if (opened.kind === "open") await waitForAnswer(opened.step);
 */
export type StepOpening =
  { kind: "replayed"; step: StepRecord; output: unknown } | { kind: "open"; step: StepRecord };
