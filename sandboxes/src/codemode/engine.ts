// The code-mode engine interface: what the service's engine knows of QuickJS or V8 (nothing more).
import type { CodeModeEngineName, CodeModeLanguageName, Failure } from "@mend/wire";
import type { SandboxLoad } from "../fair-share/sandbox-load.ts";

/** A JSON Schema object, as tools declare their inputs. */
export type JsonSchema = Record<string, unknown>;

/** A tool the guest may call as `tools.<name>(args)`; dotted names become namespaces (`tools.github.search`). */
export interface ToolBinding {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
  /** The JSON Schema of the tool's result, when it declares one (typed stubs only; never enforced here). */
  outputSchema?: JsonSchema;
}

/** The language of a code-mode script: JavaScript engines take the first two, the Monty engine Python. */
export type CodeModeLanguage = CodeModeLanguageName;

/** Caps for one execution. Every field is required here: defaults and ceilings are the policy's job. */
export interface CodeModeLimits {
  memoryMb: number;
  timeoutMs: number;
  /** Max native stack for the guest, in KiB. */
  stackKb: number;
  maxToolCalls: number;
  /** Cap on the total size of captured console output, in bytes. */
  maxLogBytes: number;
  /** Cap on the JSON size of the returned value, in bytes. */
  maxResultBytes: number;
}

/** One call the guest made, as it is journaled. `seq` is the order in which the guest issued it (1-based). */
export interface ToolCallRecord {
  seq: number;
  tool: string;
  /** Canonical JSON (sorted keys) of the arguments. */
  argsJson: string;
  /** 1-based count of this (tool, argsJson) pair within the execution. */
  occurrence: number;
  status: "succeeded" | "failed";
  /** The JSON value the tool returned (succeeded). */
  output?: unknown;
  failure?: Failure;
  ms: number;
  cached?: boolean;
  replayed?: boolean;
  /**
   * The tool is declared deterministic (its host answered under a cache rule): invoking it again after a
   * crash gives the same answer, so a journal may write this record with the execution's end.
   */
  deterministic?: boolean;
}

/**
 * An interpreter paused at a tool call, in its engine's own format (opaque to the journal). The
 * engine packs whatever it needs to continue (its state, logs so far, the pending call) into `data`.
 */
export interface InterpreterSnapshot {
  /** The seq of the call the interpreter is paused at (not yet settled when the snapshot is taken). */
  seq: number;
  engine: CodeModeEngineName;
  data: Uint8Array;
}

/**
 * Durable record of the tool calls of one execution. A recorded call is matched by
 * (tool, canonical args, occurrence), never by global position, so concurrent calls still match.
 * Engines that can snapshot their interpreter (Monty) also save a snapshot at each tool call, so a
 * later attempt resumes from the last one instead of re-running the script; the journal keeps only
 * the latest snapshot of the execution.
 */
export interface ToolCallJournal {
  /** The calls recorded by earlier attempts of this execution. */
  recorded(): Promise<ToolCallRecord[]>;
  /**
   * Persists one live call as soon as it settles. A rejection stops the execution: as `interrupted`
   * (resumable) unless the error carries a `failure` of its own (a refusal for good, e.g. a quota).
   */
  record(call: ToolCallRecord): Promise<void>;
  /**
   * Persists the interpreter's snapshot at call `snapshot.seq`, replacing the previous one. A journal
   * writes it before it records that call (as durable as its records against a killed process), so a
   * recorded call always has its snapshot; a reader checks it and may find none (then it replays).
   */
  saveSnapshot?(snapshot: InterpreterSnapshot): Promise<void>;
  /** The latest snapshot saved by an earlier attempt of this execution, if any. */
  latestSnapshot?(): Promise<InterpreterSnapshot | undefined>;
}

/** What the host does for one tool call. Returns the tool's JSON result or a failure value; throws only on host faults. */
export type ToolInvoker = (call: {
  tool: string;
  args: unknown;
  seq: number;
}) => Promise<
  { ok: true; value: unknown; cached?: boolean; deterministic?: boolean } | { ok: false; failure: Failure }
>;

export interface CodeModeRequest {
  code: string;
  language: CodeModeLanguage;
  tools: ToolBinding[];
  limits: CodeModeLimits;
  /** Seed of the guest's Math.random; journaled by the caller so a replay takes the same path. */
  seed: number;
  /** Epoch ms the guest's Date.now()/new Date() start from; journaled like the seed. */
  clockMs: number;
  invokeTool: ToolInvoker;
  journal?: ToolCallJournal;
  signal?: AbortSignal;
  /**
   * Who the execution is for: engines share their CPU fairly between tenants (weighted fair queueing,
   * see fair-share/). Requests without one share the anonymous tenant "".
   */
  tenant?: string;
  /** The tenant's relative share when tenants compete (> 0; default 1; the policy's `limits.share`). */
  weight?: number;
  /**
   * Called with each console line while the script runs (V8: as it is written; QuickJS: at the end of
   * each slice; the line as it appears in `logs`). For live display only: the outcome's `logs` stay the
   * record. Must not throw; a guest re-run on another worker may repeat its lines.
   */
  onLog?: (line: string) => void;
}

export interface CodeModeUsage {
  wallMs: number;
  memoryPeakMb?: number;
  cpuMs?: number;
}

interface OutcomeBase {
  logs: string[];
  logsTruncated: boolean;
  toolCalls: ToolCallRecord[];
  /** Journaled calls that this run never made (the script took another path). */
  unmatchedReplays: ToolCallRecord[];
  usage: CodeModeUsage;
  /** Set when the execution continued from an earlier attempt's snapshot instead of re-running the script. */
  resumedFromSnapshot?: { seq: number };
}

/** The outcome of untrusted code: a value, never an exception. */
export type CodeModeOutcome =
  | (OutcomeBase & { status: "succeeded"; result: unknown })
  | (OutcomeBase & { status: "failed"; failure: Failure });

/** One engine of each name, as the service holds them. */
export type CodeModeEngines = Record<CodeModeEngineName, CodeModeEngine>;

/** An engine runs one script per call in a fresh guest. Host misuse throws; guest outcomes are values. */
export interface CodeModeEngine {
  readonly name: CodeModeEngineName;
  execute(request: CodeModeRequest): Promise<CodeModeOutcome>;
  /** Current load: work running, parked on tool calls and queued, per tenant (for /healthz). */
  load?(): SandboxLoad;
  /** Stops workers and frees every resource. Idempotent. */
  dispose(): Promise<void>;
}
