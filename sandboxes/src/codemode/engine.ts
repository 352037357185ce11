// The code-mode engine interface: what the service's engine knows of QuickJS or V8 (nothing more).
import type { CodeModeEngineName, Failure } from "@mend/wire";

/** A JSON Schema object, as tools declare their inputs. */
export type JsonSchema = Record<string, unknown>;

/** A tool the guest may call as `tools.<name>(args)`; dotted names become namespaces (`tools.github.search`). */
export interface ToolBinding {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
}

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
}

/**
 * Durable record of the tool calls of one execution. A recorded call is matched by
 * (tool, canonical args, occurrence), never by global position, so concurrent calls still match.
 */
export interface ToolCallJournal {
  /** The calls recorded by earlier attempts of this execution. */
  recorded(): Promise<ToolCallRecord[]>;
  /** Persists one live call as soon as it settles. */
  record(call: ToolCallRecord): Promise<void>;
}

/** What the host does for one tool call. Returns the tool's JSON result or a failure value; throws only on host faults. */
export type ToolInvoker = (call: {
  tool: string;
  args: unknown;
  seq: number;
}) => Promise<{ ok: true; value: unknown; cached?: boolean } | { ok: false; failure: Failure }>;

export interface CodeModeRequest {
  code: string;
  language: "javascript" | "typescript";
  tools: ToolBinding[];
  limits: CodeModeLimits;
  /** Seed of the guest's Math.random; journaled by the caller so a replay takes the same path. */
  seed: number;
  /** Epoch ms the guest's Date.now()/new Date() start from; journaled like the seed. */
  clockMs: number;
  invokeTool: ToolInvoker;
  journal?: ToolCallJournal;
  signal?: AbortSignal;
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
  /** Stops workers and frees every resource. Idempotent. */
  dispose(): Promise<void>;
}
