// The embedded store: one SQLite file (node:sqlite, WAL) in the data dir, migrated at open.
import type {
  ApiKeyRecord,
  CacheEntry,
  CacheStats,
  EventRecord,
  Page,
  RunRecord,
  RunStatus,
  StepRecord,
  TenantUsage,
  ToolCallRow,
  ToolRecord,
} from "../records.ts";
import type {
  Announced,
  ListRunsQuery,
  NewFork,
  CacheKey,
  NewRun,
  NewStep,
  RunPatch,
  RunUpdate,
  StepClaim,
  StepEnd,
  Store,
  StoreCounters,
} from "../store.ts";
import { json, num, parse, str, toToolCall } from "../row-codec.ts";
import { SqliteConnection, type SqliteConnectionOptions } from "./sqlite-connection.ts";
import { SqliteCache } from "./sqlite-cache.ts";
import { SqliteRuns } from "./sqlite-runs.ts";
import { SqliteUsage } from "./sqlite-usage.ts";
import { SqliteReplicas } from "./sqlite-replicas.ts";
import { SqliteStepUsage } from "./sqlite-step-usage.ts";
import { SqliteSteps } from "./sqlite-steps.ts";
import { SqliteCatalog } from "./sqlite-catalog.ts";
import { appendEvent, listEvents } from "./sqlite-events.ts";

/**
 * SQLite implementation of Store. Synchronous driver, async interface (the PostgreSQL one is not sync).
 * `owner: true` (the service) takes the data dir's owner lock: a second service on the same dir is refused.
 * @example const store = SqliteStore.open("./data/mend.db", { owner: true })
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  readonly #c: SqliteConnection;
  /** Cache puts ride in the next tool-call record's transaction (SqliteCache.put). */
  readonly queuesCachePuts = true;
  readonly #cache: SqliteCache;
  readonly #runs: SqliteRuns;
  readonly #usage: SqliteUsage;
  readonly #replicas: SqliteReplicas;
  readonly #steps: SqliteSteps;
  readonly #catalog: SqliteCatalog;

  private constructor(c: SqliteConnection) {
    this.#c = c;
    this.#usage = new SqliteUsage(c);
    this.#replicas = new SqliteReplicas(c);
    this.#cache = new SqliteCache(c);
    this.#runs = new SqliteRuns(c);
    this.#steps = new SqliteSteps(c, this.#runs, new SqliteStepUsage(c));
    this.#catalog = new SqliteCatalog(c);
  }

  /**
   * Opens (creating) the file, sets WAL + NORMAL sync (survives a killed process) and migrates.
   * Throws DataDirInUseError (owner) or StorageUnavailableError (the file cannot be opened or migrated).
   */
  static open(path: string, opts: SqliteConnectionOptions = {}): SqliteStore {
    const c = new SqliteConnection(path, opts);
    c.open();
    return new SqliteStore(c);
  }

  /** Schema version after migration (number of applied migrations). */
  get schemaVersion(): number {
    return this.#c.schemaVersion();
  }

  /** A store is healthy when it can commit a write: one row, rewritten. */
  counters(): StoreCounters {
    return { ...this.#c.counters };
  }

  async ping(): Promise<void> {
    const c = this.#c;
    await c.write(() =>
      c.run(
        "INSERT INTO probe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
        Date.now(),
      ),
    );
  }

  async close(): Promise<void> {
    await this.#cache.flush().catch(() => undefined);
    this.#c.close();
  }

  /** Runs PRAGMA integrity_check; "ok" when healthy. */
  integrityCheck(): string {
    return str(this.#c.read(() => this.#c.get("PRAGMA integrity_check"))?.integrity_check);
  }

  createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    return this.#runs.createRun(run);
  }

  getRun(tenant: string, id: string): Promise<RunRecord | null> {
    return this.#runs.getRun(tenant, id);
  }

  getRunById(id: string): Promise<RunRecord | null> {
    return this.#runs.getRunById(id);
  }

  listRuns(tenant: string, q: ListRunsQuery): Promise<Page<RunRecord>> {
    return this.#runs.listRuns(tenant, q);
  }

  forkRun(fork: NewFork): Promise<{ run: RunRecord; created: boolean; copied: number }> {
    return this.#runs.forkRun(fork);
  }

  async updateRun(id: string, patch: RunPatch, opts?: RunUpdate): Promise<Announced<RunRecord>> {
    const announce = opts?.announce;
    return this.#c.write((): Announced<RunRecord> => {
      const run = this.#runs.updateInWrite(id, patch, opts?.leaseOwner);
      return announce ? { ...run, announced: appendEvent(this.#c, id, announce, run.updatedAt) } : run;
    });
  }

  runsByStatus(status: RunStatus): Promise<RunRecord[]> {
    return this.#runs.runsByStatus(status);
  }

  acquireLease(runId: string, owner: string, ttlMs: number, replaceOwner?: string): Promise<boolean> {
    return this.#runs.acquireLease(runId, owner, ttlMs, replaceOwner);
  }

  releaseLease(runId: string, owner: string): Promise<void> {
    return this.#runs.releaseLease(runId, owner);
  }

  async claimStep(step: NewStep): Promise<StepClaim> {
    return this.#c.write(() => this.#steps.claimInWrite(step));
  }

  async endStep(runId: string, seq: number, end: StepEnd): Promise<Announced<StepRecord>> {
    const c = this.#c;
    let settle: ((error?: unknown) => void) | undefined;
    const write = c.write(() => {
      const now = Date.now();
      if (end.toolCalls?.length) {
        for (const t of end.toolCalls) this.#toolCallRow(t);
        // The cache entries of those calls (queued puts) ride in this transaction too.
        settle = this.#cache.applyQueued();
      }
      const ended = this.#steps.endInWrite(runId, seq, end, now, end.attempt);
      if (end.run) this.#runs.updateInWrite(runId, end.run);
      const announced = end.announce ? appendEvent(this.#c, runId, end.announce(ended), now) : undefined;
      return announced ? { ...ended, announced } : ended;
    });
    try {
      const ended = await write;
      settle?.();
      return ended;
    } catch (error) {
      settle?.(error);
      throw error;
    }
  }

  getStep(runId: string, key: string): Promise<StepRecord | null> {
    return this.#steps.getStep(runId, key);
  }

  listSteps(runId: string): Promise<StepRecord[]> {
    return this.#steps.listSteps(runId);
  }

  heartbeatSteps(owner: string): Promise<number> {
    return this.#steps.heartbeatSteps(owner);
  }

  interruptStartedSteps(owner?: string): Promise<number> {
    return this.#steps.interruptStartedSteps(owner);
  }

  heartbeatReplica(id: string, ttlMs: number): Promise<number> {
    return this.#replicas.heartbeat(id, ttlMs);
  }

  retireReplica(id: string): Promise<void> {
    return this.#replicas.retire(id);
  }

  unleasedRuns(limit: number): Promise<string[]> {
    return this.#replicas.unleasedRuns(limit);
  }

  claimCacheFill(key: CacheKey, owner: string): Promise<boolean> {
    return this.#replicas.claimCacheFill(key, owner);
  }

  releaseCacheFill(key: CacheKey, owner: string): Promise<void> {
    return this.#replicas.releaseCacheFill(key, owner);
  }

  /** One process per data dir: its own events are announced in process; nobody else appends. */
  async followEvents(): Promise<() => Promise<void>> {
    return async () => {};
  }

  async recordToolCall(t: ToolCallRow): Promise<void> {
    const c = this.#c;
    let settle: ((error?: unknown) => void) | undefined;
    const write = c.write(() => {
      this.#toolCallRow(t);
      // The cache entries put since the last write (usually this call's own result) ride in this transaction.
      settle = this.#cache.applyQueued();
    });
    try {
      await write;
    } catch (error) {
      settle?.(error);
      throw error;
    }
    settle?.();
  }

  /** Inside a write: the upsert of one tool call's row. */
  #toolCallRow(t: ToolCallRow): void {
    const c = this.#c;
    c.run(
      // An upsert, not INSERT OR REPLACE: REPLACE's delete fires no trigger, and the usage triggers count.
      `INSERT INTO tool_calls (run_id, step_seq, seq, tool, args_json, occurrence, status, output, failure, ms, cached)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, step_seq, tool, args_json, occurrence) DO UPDATE SET seq=excluded.seq,
         status=excluded.status, output=excluded.output, failure=excluded.failure, ms=excluded.ms, cached=excluded.cached`,
      t.runId,
      t.stepSeq,
      t.seq,
      t.tool,
      t.argsJson,
      t.occurrence,
      t.status,
      json(t.output),
      json(t.failure),
      t.ms,
      t.cached ? 1 : 0,
    );
  }

  async listToolCalls(runId: string, stepSeq: number): Promise<ToolCallRow[]> {
    return this.#c
      .read(() =>
        this.#c.all("SELECT * FROM tool_calls WHERE run_id=? AND step_seq=? ORDER BY seq", runId, stepSeq),
      )
      .map(toToolCall);
  }

  async putCheckpoint(runId: string, key: string, value: unknown): Promise<void> {
    const c = this.#c;
    await c.write(() =>
      c.run(
        "INSERT INTO checkpoints (run_id, key, value, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value=excluded.value, created_at=excluded.created_at",
        runId,
        key,
        JSON.stringify(value ?? null),
        Date.now(),
      ),
    );
  }

  async getCheckpoint(runId: string, key: string): Promise<{ value: unknown; createdAt: number } | null> {
    const r = this.#c.read(() =>
      this.#c.get("SELECT value, created_at FROM checkpoints WHERE run_id=? AND key=?", runId, key),
    );
    return r ? { value: parse(r.value), createdAt: num(r.created_at) } : null;
  }

  async appendEvent(runId: string, type: string, data: unknown): Promise<EventRecord> {
    return this.#c.write(() => appendEvent(this.#c, runId, { type, data }, Date.now()));
  }

  async listEvents(runId: string, afterId: number): Promise<EventRecord[]> {
    return listEvents(this.#c, runId, afterId);
  }

  getCache(
    tenant: string,
    tool: string,
    version: string,
    argsHash: string,
    now: number,
  ): Promise<CacheEntry | null> {
    return this.#cache.get(tenant, tool, version, argsHash, now);
  }

  putCache(e: CacheEntry, maxBytes: number, tenantMaxBytes?: number): Promise<void> {
    return this.#cache.put(e, maxBytes, tenantMaxBytes);
  }

  cacheStats(tenant: string): Promise<CacheStats> {
    return this.#cache.stats(tenant);
  }

  countCacheMiss(tenant: string): Promise<void> {
    return this.#cache.countMiss(tenant);
  }

  clearCache(tenant: string, tool?: string): Promise<number> {
    return this.#cache.clear(tenant, tool);
  }

  async addBlobRef(tenant: string, sha256: string, sizeBytes: number): Promise<void> {
    const c = this.#c;
    await c.write(() =>
      c.run(
        "INSERT OR IGNORE INTO blobs (tenant, sha256, size_bytes, created_at) VALUES (?, ?, ?, ?)",
        tenant,
        sha256,
        sizeBytes,
        Date.now(),
      ),
    );
  }

  async hasBlobRef(tenant: string, sha256: string): Promise<boolean> {
    return (
      this.#c.read(() =>
        this.#c.get("SELECT 1 AS x FROM blobs WHERE tenant=? AND sha256=?", tenant, sha256),
      ) !== undefined
    );
  }

  setQuota(tenant: string, quota: TenantUsage["quota"]): Promise<void> {
    return this.#usage.setQuota(tenant, quota);
  }

  async usage(tenant: string): Promise<TenantUsage> {
    await this.#cache.settle(); // queued cache entries count in the tenant's cache bytes
    return this.#usage.usage(tenant);
  }

  async listUsage(): Promise<TenantUsage[]> {
    await this.#cache.settle();
    return this.#usage.list();
  }

  putTool(t: ToolRecord): Promise<void> {
    return this.#catalog.putTool(t);
  }

  getTool(tenant: string, name: string): Promise<ToolRecord | null> {
    return this.#catalog.getTool(tenant, name);
  }

  listTools(tenant: string): Promise<ToolRecord[]> {
    return this.#catalog.listTools(tenant);
  }

  deleteTool(tenant: string, name: string): Promise<boolean> {
    return this.#catalog.deleteTool(tenant, name);
  }

  toolsVersion(): Promise<string> {
    return this.#catalog.toolsVersion();
  }

  apiKeysVersion(): Promise<string> {
    return this.#catalog.apiKeysVersion();
  }

  putApiKey(k: ApiKeyRecord): Promise<void> {
    return this.#catalog.putApiKey(k);
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#catalog.listApiKeys();
  }

  revokeApiKey(id: string, at: number): Promise<boolean> {
    return this.#catalog.revokeApiKey(id, at);
  }
}
