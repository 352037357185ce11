// The store interface: every durable fact of the service goes through it, so backends can be swapped.
import type {
  ApiKeyRecord,
  CacheEntry,
  CacheStats,
  EventRecord,
  Page,
  RunRecord,
  RunStatus,
  StepRecord,
  ToolCallRow,
  ToolRecord,
} from "./records.ts";

export type NewRun = Pick<RunRecord, "id" | "tenant" | "mode" | "goal" | "implicit"> &
  Partial<Pick<RunRecord, "policy" | "policyVersion" | "metadata" | "tools" | "model" | "idempotencyKey">>;

export type RunPatch = Partial<
  Pick<RunRecord, "status" | "output" | "failure" | "waitingFor" | "iterations" | "policyVersion">
>;

export type NewStep = Pick<StepRecord, "runId" | "key" | "kind" | "input"> &
  Partial<Pick<StepRecord, "remediation" | "audit">>;

export type StepEnd = Pick<StepRecord, "status" | "output" | "failure" | "usage"> & {
  cached?: boolean;
  /** Merged over the audit written at claim time (e.g. the limits the policy resolved). */
  audit?: Record<string, unknown>;
};

/** Result of claiming a step key: either it is already finished, or this caller now owns an attempt. */
export type StepClaim =
  | { kind: "finished"; step: StepRecord }
  | { kind: "claimed"; step: StepRecord; previousAttempt: StepRecord | null };

/**
 * Async store interface (runs, journal, events, cache, blobs index, tools, API keys).
 * Implementations must make each method atomic; `claimStep` is the journaling primitive.
 */
export interface Store {
  readonly kind: "sqlite" | "postgres";
  /** Throws when the backing database is unusable (health check). */
  ping(): Promise<void>;
  close(): Promise<void>;

  createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }>;
  getRun(tenant: string, id: string): Promise<RunRecord | null>;
  /** Internal (engine) lookup across tenants; never reachable from a request without a tenant check. */
  getRunById(id: string): Promise<RunRecord | null>;
  listRuns(
    tenant: string,
    q: { status?: RunStatus; limit: number; cursor?: string; includeImplicit?: boolean },
  ): Promise<Page<RunRecord>>;
  updateRun(id: string, patch: RunPatch): Promise<RunRecord>;
  /** Runs in the given statuses across tenants (start-up recovery). */
  runsByStatus(status: RunStatus): Promise<RunRecord[]>;
  /**
   * Takes (or renews) the lease of a run for `owner` unless another owner holds an unexpired one;
   * `replaceOwner` names a holder known to be dead whose lease may be taken before it expires.
   */
  acquireLease(runId: string, owner: string, ttlMs: number, replaceOwner?: string): Promise<boolean>;
  releaseLease(runId: string, owner: string): Promise<void>;

  /**
   * Journals the start of step `key`: finished → returned as is; otherwise a `started` row with
   * attempt = previous attempt + 1 (a started-but-unfinished row is an interrupted earlier attempt);
   * a re-claimed step keeps its original input (it holds the journaled seed and clock).
   */
  claimStep(step: NewStep): Promise<StepClaim>;
  endStep(runId: string, seq: number, end: StepEnd): Promise<StepRecord>;
  getStep(runId: string, key: string): Promise<StepRecord | null>;
  listSteps(runId: string): Promise<StepRecord[]>;
  /** Marks every `started` step as interrupted (graceful shutdown past its deadline). */
  interruptStartedSteps(): Promise<number>;

  recordToolCall(call: ToolCallRow): Promise<void>;
  listToolCalls(runId: string, stepSeq: number): Promise<ToolCallRow[]>;

  putCheckpoint(runId: string, key: string, value: unknown): Promise<void>;
  getCheckpoint(runId: string, key: string): Promise<{ value: unknown; createdAt: number } | null>;

  appendEvent(runId: string, type: string, data: unknown): Promise<EventRecord>;
  listEvents(runId: string, afterId: number): Promise<EventRecord[]>;

  getCache(
    tenant: string,
    tool: string,
    version: string,
    argsHash: string,
    now: number,
  ): Promise<CacheEntry | null>;
  putCache(entry: CacheEntry, maxBytes: number): Promise<void>;
  cacheStats(tenant: string): Promise<CacheStats>;
  countCacheMiss(tenant: string): Promise<void>;
  clearCache(tenant: string, tool?: string): Promise<number>;

  addBlobRef(tenant: string, sha256: string, sizeBytes: number): Promise<void>;
  hasBlobRef(tenant: string, sha256: string): Promise<boolean>;

  putTool(tool: ToolRecord): Promise<void>;
  getTool(tenant: string, name: string): Promise<ToolRecord | null>;
  listTools(tenant: string): Promise<ToolRecord[]>;
  deleteTool(tenant: string, name: string): Promise<boolean>;

  putApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  revokeApiKey(id: string, at: number): Promise<boolean>;
}
