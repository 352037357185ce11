// The scaled-out store: PostgreSQL (MEND_DATABASE_URL), the same contract as SQLite for several replicas.
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
import type { BlobStore } from "../blob-store.ts";
import { num, parse, toTenantUsage, toToolCall, type Row } from "../row-codec.ts";
import { PgDatabase, type PgDatabaseOptions, type Query } from "./pg-database.ts";
import { PostgresBlobStore } from "./pg-blob-store.ts";
import { PgCache } from "./pg-cache.ts";
import { PgRuns } from "./pg-runs.ts";
import { PgReplicas } from "./pg-replicas.ts";
import { PgSideConnection } from "./pg-side-connection.ts";
import { PgCatalogVersions } from "./pg-catalog-versions.ts";
import { PgSteps, TOOL_CALL_UPSERT, toolCallValues } from "./pg-steps.ts";
import { PgCatalog } from "./pg-catalog.ts";
import { appendIn, listEvents } from "./pg-events.ts";

/**
 * PostgreSQL implementation of Store. Claims of one run are serialised by a row lock on the run (one
 * transaction per claim); events of one run are appended under a per-run advisory lock, so ids commit in order.
 * @example const store = await PostgresStore.open("postgres://mend@127.0.0.1:5432/mend")
 */
export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  readonly #db: PgDatabase;
  readonly #q: Query;
  readonly #cache: PgCache;
  readonly #runs: PgRuns;
  readonly #side: PgSideConnection;
  readonly #replicas: PgReplicas;
  readonly #versions: PgCatalogVersions;
  readonly #steps: PgSteps;
  readonly #catalog: PgCatalog;

  private constructor(db: PgDatabase, url: string) {
    this.#db = db;
    this.#q = db.query;
    this.#cache = new PgCache(db);
    this.#runs = new PgRuns(db.query, (fn) => db.tx(fn));
    this.#side = new PgSideConnection(url);
    this.#replicas = new PgReplicas(db.query, this.#side);
    this.#versions = new PgCatalogVersions(this.#side);
    this.#steps = new PgSteps(db, this.#runs);
    this.#catalog = new PgCatalog(db.query, this.#versions);
  }

  /**
   * Connects, migrates and follows the catalog's changes (StorageUnavailableError when the server cannot
   * be reached; a side connection that cannot LISTEN yet only means no cached versions until it can).
   */
  static async open(url: string, opts: PgDatabaseOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(await PgDatabase.open(url, opts), url);
    await store.#versions.start();
    return store;
  }

  /** The blob store in the same database (table blob_contents). */
  blobStore(): BlobStore {
    return new PostgresBlobStore(this.#q);
  }

  async schemaVersion(): Promise<number> {
    return this.#db.schemaVersion();
  }

  async #one(sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await this.#q(sql, params)).rows[0];
  }

  counters(): StoreCounters {
    return { ...this.#db.counters };
  }

  async ping(): Promise<void> {
    await this.#q(
      "INSERT INTO probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
      [Date.now()],
    );
  }

  async close(): Promise<void> {
    await this.#cache.flush();
    await this.#side.close();
    await this.#db.close();
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
    if (!announce) return this.#runs.updateIn(this.#q, id, patch, opts?.leaseOwner);
    return this.#db.tx(async (q): Promise<Announced<RunRecord>> => {
      const run = await this.#runs.updateIn(q, id, patch, opts?.leaseOwner);
      return { ...run, announced: await appendIn(q, id, announce, run.updatedAt) };
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

  claimStep(step: NewStep): Promise<StepClaim> {
    return this.#steps.claimStep(step);
  }

  endStep(runId: string, seq: number, end: StepEnd): Promise<Announced<StepRecord>> {
    return this.#steps.endStep(runId, seq, end);
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

  followEvents(fn: (runId: string) => void): Promise<() => Promise<void>> {
    return this.#replicas.followEvents(fn);
  }

  async recordToolCall(t: ToolCallRow): Promise<void> {
    await this.#q(TOOL_CALL_UPSERT, toolCallValues(t));
  }

  async listToolCalls(runId: string, stepSeq: number): Promise<ToolCallRow[]> {
    const r = await this.#q("SELECT * FROM tool_calls WHERE run_id = $1 AND step_seq = $2 ORDER BY seq", [
      runId,
      stepSeq,
    ]);
    return r.rows.map(toToolCall);
  }

  async putCheckpoint(runId: string, key: string, value: unknown): Promise<void> {
    await this.#q(
      `INSERT INTO checkpoints (run_id, key, value, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
      [runId, key, JSON.stringify(value ?? null), Date.now()],
    );
  }

  async getCheckpoint(runId: string, key: string): Promise<{ value: unknown; createdAt: number } | null> {
    const r = await this.#one("SELECT value, created_at FROM checkpoints WHERE run_id = $1 AND key = $2", [
      runId,
      key,
    ]);
    return r ? { value: parse(r.value), createdAt: num(r.created_at) } : null;
  }

  async appendEvent(runId: string, type: string, data: unknown): Promise<EventRecord> {
    return appendIn(this.#q, runId, { type, data }, Date.now());
  }

  listEvents(runId: string, afterId: number): Promise<EventRecord[]> {
    return listEvents(this.#q, runId, afterId);
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
    await this.#q(
      "INSERT INTO blobs (tenant, sha256, size_bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [tenant, sha256, sizeBytes, Date.now()],
    );
  }

  async hasBlobRef(tenant: string, sha256: string): Promise<boolean> {
    return (
      (await this.#one("SELECT 1 AS x FROM blobs WHERE tenant = $1 AND sha256 = $2", [tenant, sha256])) !==
      undefined
    );
  }

  async setQuota(tenant: string, quota: TenantUsage["quota"]): Promise<void> {
    await this.#q(
      `INSERT INTO tenant_usage AS x (tenant, journal_limit, blob_limit) VALUES ($1, $2, $3)
       ON CONFLICT (tenant) DO UPDATE SET journal_limit = excluded.journal_limit, blob_limit = excluded.blob_limit`,
      [tenant, quota.journalBytes, quota.blobBytes],
    );
  }

  async usage(tenant: string): Promise<TenantUsage> {
    return toTenantUsage(
      (await this.#one("SELECT * FROM tenant_usage WHERE tenant = $1", [tenant])) ?? { tenant },
    );
  }

  async listUsage(): Promise<TenantUsage[]> {
    return (await this.#q("SELECT * FROM tenant_usage ORDER BY tenant")).rows.map(toTenantUsage);
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

  /** From memory (pg-catalog-versions.ts); null while the side connection is not listening. */
  toolsVersion(): Promise<string | null> {
    return this.#catalog.toolsVersion();
  }

  /** From memory (pg-catalog-versions.ts); a value never answered before while not listening. */
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
