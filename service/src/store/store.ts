// The store interface: every durable fact of the service goes through it, so backends can be swapped.
import type {
  ApiKeyRecord,
  ForkReplace,
  CacheEntry,
  CacheStats,
  EventRecord,
  Page,
  RunRecord,
  RunOrigin,
  RunStatus,
  StepRecord,
  TenantUsage,
  ToolCallRow,
  ToolRecord,
} from "./records.ts";

export type NewRun = Pick<RunRecord, "id" | "tenant" | "mode" | "goal" | "implicit"> &
  Partial<
    Pick<RunRecord, "policy" | "policyVersion" | "metadata" | "tools" | "model" | "idempotencyKey" | "origin">
  >;

/** A new run's origin when its creator does not name one. */
export function defaultOrigin(run: Pick<NewRun, "implicit" | "mode" | "origin">): RunOrigin {
  return run.origin ?? (run.implicit ? "one-off" : run.mode);
}

/**
 * A fork of run `parentRunId` (same tenant): the parent's finished steps before `atSeq` are copied into the
 * new run as replayed entries, in the transaction that creates it.
 */
export type NewFork = NewRun & { parentRunId: string; atSeq: number; replace?: ForkReplace | null };

/** Which runs `listRuns` returns. */
/** The filters of listRuns: `origin` picks one origin; without it, `includeImplicit` adds one-off runs. */
export interface ListRunsQuery {
  status?: RunStatus;
  limit: number;
  cursor?: string;
  includeImplicit?: boolean;
  origin?: RunOrigin;
  /** Only the forks of this run. */
  parentRunId?: string;
}

export type RunPatch = Partial<
  Pick<RunRecord, "status" | "output" | "failure" | "waitingFor" | "iterations" | "policyVersion">
>;

/**
 * An event the store appends in the same transaction as a step's claim or end, built from the row just
 * written (its seq, attempt, status): the step and its announcement commit together or not at all.
 */
export type Announce = (step: StepRecord) => { type: string; data: unknown };

/** A step record and the event appended with it (when the write asked for one). */
export type Announced<T> = T & { announced?: EventRecord };

/** What `updateRun` does besides the patch, in the same transaction. */
export interface RunUpdate {
  /** Write only while this owner holds the run's lease. */
  readonly leaseOwner?: string;
  /** The event that announces the change (a status's `run.completed`, `run.waiting_for_input`). */
  readonly announce?: { readonly type: string; readonly data: unknown };
}

export type NewStep = Pick<StepRecord, "runId" | "key" | "kind" | "input"> &
  Partial<Pick<StepRecord, "remediation" | "audit">> & {
    /** Appended when this call claims the step (not when it is finished or owned elsewhere). */
    announce?: Announce;
    /**
     * The process claiming the step (replica id). A started step whose owner is another process with a
     * heartbeat younger than `ownerTtlMs` is not claimed (`kind: "owned"`); without an owner every
     * unfinished step is re-claimed (one process: an unfinished step is an interrupted earlier attempt).
     */
    owner?: string;
    ownerTtlMs?: number;
    /**
     * Fencing of a hosted run's driver: claim only while this owner holds the run's unexpired lease, else
     * FencedError and nothing is written (a replica that lost the run while paused starts nothing more).
     */
    lease?: string;
    /**
     * Claim only while the run is this tenant's and not finished, checked in the claim's transaction (the
     * caller reads no run first): NotFoundError for a missing run or another tenant's, RunFinishedError for
     * a succeeded, failed or cancelled one — even when the key is journaled already; nothing is written.
     */
    activeRunOf?: string;
    /**
     * Work already done at claim time (a checkpoint's value): when this call claims the step, it also ends
     * it with `end` — the claim, the end and both announcements commit in one transaction, and `step` of
     * the claim is the ended record. An end the tenant's quota refuses refuses the claim: nothing is written.
     */
    end?: Omit<StepEnd, "attempt">;
    /**
     * The run of a one-off execution, created (unless it exists: a claim made again) in the claim's
     * transaction: the run and its only step commit together, one write instead of two.
     */
    run?: NewRun;
  };

export type StepEnd = Pick<StepRecord, "status" | "output" | "failure" | "usage"> & {
  cached?: boolean;
  /** Appended with the end, in the same transaction. */
  announce?: Announce;
  /** Replaces the audit written at claim time when given (callers merge: e.g. the limits the policy resolved). */
  audit?: Record<string, unknown>;
  /**
   * Fencing: end only this attempt, and only while it is still `started`. A later claim (attempt + 1) or
   * `interruptStartedSteps` fences the old attempt out: its end throws FencedError and writes nothing.
   */
  attempt?: number;
  /**
   * Tool calls written with the end, in its transaction (calls of deterministic tools, whose records the
   * code-mode journal defers: re-invoking one after a crash gives the same answer). Upserts, as recordToolCall.
   */
  toolCalls?: ToolCallRow[];
  /** The run's update, committed with the end (a one-off execution's run ends with its only step). */
  run?: RunPatch;
};

/** The key of one global cache entry (what a fill mark coalesces across replicas). */
export interface CacheKey {
  tenant: string;
  tool: string;
  version: string;
  argsHash: string;
}

/** What `Store.counters()` reports. */
export interface StoreCounters {
  statements: number;
  transactions: number;
}

/**
 * Result of claiming a step key: already finished; now owned by this caller (a new attempt); or running
 * under another live owner (only when the claim names an owner, see NewStep.owner).
 */
export type StepClaim =
  | { kind: "finished"; step: StepRecord }
  | {
      kind: "claimed";
      step: StepRecord;
      previousAttempt: StepRecord | null;
      announced?: EventRecord;
      /** The end's event, when the claim ended the step too (NewStep.end). */
      endAnnounced?: EventRecord;
    }
  | { kind: "owned"; step: StepRecord };

/**
 * Async store interface (runs, journal, events, cache, blobs index, tools, API keys).
 *
 * Every implementation honours the same contract, pinned by the conformance suite
 * (store/testing/store-conformance.ts):
 * - each method is atomic, and a method that resolves has made its writes durable (committed);
 * - a storage fault (disk full, read-only, unreachable server) rejects with StorageUnavailableError and
 *   leaves nothing half written; other refusals are InvalidCursorError, NotFoundError, FencedError and
 *   UnstorableValueError (a NUL character in a text field: keys, names, ids, goal);
 * - every tenant-scoped read names the tenant in its query;
 * - a write past the tenant's quota (setQuota) throws QuotaExceededError and writes nothing.
 */
export interface Store {
  readonly kind: "sqlite" | "postgres";
  /** Resolves when the store can take writes now; else rejects with StorageUnavailableError naming why. */
  /**
   * Cumulative counts of SQL statements executed (reads and writes) and write transactions committed, for
   * the benchmarks (a regression in the hot path shows up as more statements per step).
   */
  counters(): StoreCounters;
  ping(): Promise<void>;
  close(): Promise<void>;

  createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }>;
  getRun(tenant: string, id: string): Promise<RunRecord | null>;
  /** Internal (engine) lookup across tenants; never reachable from a request without a tenant check. */
  getRunById(id: string): Promise<RunRecord | null>;
  listRuns(tenant: string, q: ListRunsQuery): Promise<Page<RunRecord>>;
  /**
   * Creates a fork in one transaction: the run (idempotency key as createRun; an existing run is returned
   * as is, nothing copied again), copies of the parent's succeeded and failed steps with seq < atSeq (same
   * seq, key, input, output; `replayedFrom` names where each was executed) and of their tool calls, and a
   * `run.forked` event on the new run. NotFoundError when the parent is not a run of `fork.tenant`.
   */
  forkRun(fork: NewFork): Promise<{ run: RunRecord; created: boolean; copied: number }>;
  /**
   * Writes `patch`; with `opts.leaseOwner`, only while that owner holds the run's lease (else LeaseLostError);
   * with `opts.announce`, appends that event in the same transaction (returned as `announced`), so a status
   * change and the event that announces it commit together or not at all (a crash between them lost a
   * `run.completed` while the run read succeeded).
   */
  updateRun(id: string, patch: RunPatch, opts?: RunUpdate): Promise<Announced<RunRecord>>;
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
  endStep(runId: string, seq: number, end: StepEnd): Promise<Announced<StepRecord>>;
  getStep(runId: string, key: string): Promise<StepRecord | null>;
  listSteps(runId: string): Promise<StepRecord[]>;
  /** Renews the heartbeat of the started steps `owner` claimed; returns how many. */
  heartbeatSteps(owner: string): Promise<number>;
  /**
   * Marks `started` steps interrupted (graceful shutdown past its deadline): those of `owner` when given,
   * else every started step. Returns how many.
   */
  interruptStartedSteps(owner?: string): Promise<number>;

  /**
   * Says replica `id` is alive for `ttlMs` more, in one transaction: its row, the leases it holds and the
   * heartbeat of the steps it runs. A lease or a step heartbeat that already lapsed is not revived (another
   * replica may have taken it over meanwhile). Returns how many replicas are alive, itself included.
   */
  heartbeatReplica(id: string, ttlMs: number): Promise<number>;
  /**
   * A replica that stops gracefully: its leases are released, its started steps' heartbeats dropped and its
   * cache fill marks removed, so the other replicas take all of it at once instead of waiting for the TTL.
   */
  retireReplica(id: string): Promise<void>;
  /** Hosted runs `running` whose lease is free or lapsed (a dead replica's): the takeover sweep's candidates. */
  unleasedRuns(limit: number): Promise<string[]>;
  /**
   * Marks `owner` as the one filling a cache key. True when the mark is now `owner`'s (no mark, its own, or a
   * mark of a replica that is not alive); false while another live replica fills it.
   */
  claimCacheFill(key: CacheKey, owner: string): Promise<boolean>;
  releaseCacheFill(key: CacheKey, owner: string): Promise<void>;
  /**
   * Calls `fn` with the run id of every event appended from now on by any process on the same database
   * (PostgreSQL LISTEN/NOTIFY); SQLite has one process, whose own events are announced in process, and
   * follows nothing. Resolves to the unsubscribe function.
   */
  followEvents(fn: (runId: string) => void): Promise<() => Promise<void>>;

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
  /**
   * Stores an entry, then evicts least-recently-used entries of the entry's own tenant only (one tenant's
   * flood never evicts another's entries) until the whole cache fits `maxBytes` and the tenant's entries
   * fit `tenantMaxBytes`; the new entry itself is evicted when nothing else of its tenant is left.
   */
  putCache(entry: CacheEntry, maxBytes: number, tenantMaxBytes?: number): Promise<void>;
  /**
   * True when `putCache` queues the entry for the next `recordToolCall`'s transaction (or its own write a turn
   * later) and reads see queued entries: a caller that journals the call next must not await the put first.
   */
  readonly queuesCachePuts?: boolean;
  cacheStats(tenant: string): Promise<CacheStats>;
  /**
   * Counts a cache miss. A statistic, not an acknowledged write: an implementation may count in memory and
   * write the counts with later writes (`cacheStats` sees them), and a storage fault does not fail it.
   */
  countCacheMiss(tenant: string): Promise<void>;
  clearCache(tenant: string, tool?: string): Promise<number>;

  addBlobRef(tenant: string, sha256: string, sizeBytes: number): Promise<void>;
  hasBlobRef(tenant: string, sha256: string): Promise<boolean>;

  /**
   * Sets the quotas the store enforces inside every write that grows the tenant's journal or blob bytes
   * (null: none). A write past a quota throws QuotaExceededError and writes nothing. Exempt, so a refusal can
   * be journaled: the end of a step as `failed` or `interrupted`, and a run's update to a final status.
   */
  setQuota(tenant: string, quota: TenantUsage["quota"]): Promise<void>;
  /** The tenant's stored bytes (zeros for a tenant that stored nothing). */
  usage(tenant: string): Promise<TenantUsage>;
  /** Every tenant's stored bytes (operator: `mend keys usage`). */
  listUsage(): Promise<TenantUsage[]>;

  putTool(tool: ToolRecord): Promise<void>;
  getTool(tenant: string, name: string): Promise<ToolRecord | null>;
  listTools(tenant: string): Promise<ToolRecord[]>;
  deleteTool(tenant: string, name: string): Promise<boolean>;
  /**
   * A value that changes whenever any tenant's tool records may have changed, by this process or any other:
   * cheaper than listing them, so callers cache the lists and re-list on a change. The contract a cache
   * relies on: read the version, then list, then cache under that version — a write committed in between
   * makes a later version differ. This process's own write moves it once the write resolved; another
   * process's write once the store learns of it (SQLite: at once, PRAGMA data_version; PostgreSQL: when the
   * write's NOTIFY is delivered). Null: the store cannot tell now (PostgreSQL while its side connection is
   * not listening), and callers list every time.
   */
  toolsVersion(): Promise<string | null>;

  putApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /**
   * A value that changes whenever the API keys change, by this process or any other (a key created or
   * revoked by the CLI): cheaper than listing the keys, so callers cache them and re-list on a change. Moves
   * as toolsVersion does; where that would be null, a value never answered before (callers re-list).
   */
  apiKeysVersion(): Promise<string>;
  revokeApiKey(id: string, at: number): Promise<boolean>;
}
