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
import { FencedError, LeaseLostError, NotFoundError, RunFinishedError } from "../store-errors.ts";
import { FINISHED_RUNS } from "../records.ts";
import { ownedByAnother } from "../step-ownership.ts";
import {
  INTERRUPTED_BY_SHUTDOWN,
  json,
  num,
  parse,
  str,
  toApiKey,
  toStep,
  toTenantUsage,
  toTool,
  toToolCall,
  type Row,
} from "../row-codec.ts";
import { PgDatabase, type Query } from "./pg-database.ts";
import { PostgresBlobStore } from "./pg-blob-store.ts";
import { PgCache } from "./pg-cache.ts";
import { PgRuns } from "./pg-runs.ts";
import { EVENTS_CHANNEL, PgReplicas } from "./pg-replicas.ts";
import { PgSideConnection } from "./pg-side-connection.ts";
import { PgCatalogVersions } from "./pg-catalog-versions.ts";

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

  private constructor(db: PgDatabase, url: string) {
    this.#db = db;
    this.#q = db.query;
    this.#cache = new PgCache(db);
    this.#runs = new PgRuns(db.query, (fn) => db.tx(fn));
    this.#side = new PgSideConnection(url);
    this.#replicas = new PgReplicas(db.query, this.#side);
    this.#versions = new PgCatalogVersions(this.#side);
  }

  /**
   * Connects, migrates and follows the catalog's changes (StorageUnavailableError when the server cannot
   * be reached; a side connection that cannot LISTEN yet only means no cached versions until it can).
   */
  static async open(url: string, opts: { poolSize?: number } = {}): Promise<PostgresStore> {
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

  async claimStep(step: NewStep): Promise<StepClaim> {
    return this.#db.tx(async (q): Promise<StepClaim> => {
      const now = Date.now();
      if (step.run) await this.#runs.ensureIn(q, step.run);
      // The run's row lock serialises the claims of one run: one attempt at a time, seq = max + 1 is safe.
      const run = await q(
        "SELECT lease_owner, lease_expires_at, tenant, status FROM runs WHERE id = $1 FOR NO KEY UPDATE",
        [step.runId],
      );
      if (run.rowCount === 0) throw new NotFoundError(`run ${step.runId} does not exist`);
      const lease = run.rows[0]!;
      if (step.activeRunOf !== undefined) {
        if (lease.tenant !== step.activeRunOf) throw new NotFoundError(`run ${step.runId} does not exist`);
        if (FINISHED_RUNS.has(String(lease.status)))
          throw new RunFinishedError(step.runId, String(lease.status));
      }
      if (step.lease !== undefined && (lease.lease_owner !== step.lease || num(lease.lease_expires_at) < now))
        throw new LeaseLostError(`run ${step.runId}: the lease of ${step.lease} was lost`);
      const existing = (await q("SELECT * FROM steps WHERE run_id = $1 AND key = $2", [step.runId, step.key]))
        .rows[0];
      const owner = step.owner ?? null;
      if (existing) {
        const prev = toStep(existing);
        if (prev.status === "succeeded" || prev.status === "failed") return { kind: "finished", step: prev };
        if (ownedByAnother(prev, owner, now, step.ownerTtlMs)) return { kind: "owned", step: prev };
        const r = await q(
          `UPDATE steps SET status = 'started', attempt = attempt + 1, started_at = $1, ended_at = NULL, output = NULL,
           failure = NULL, usage = NULL, audit = $2, owner = $3, heartbeat_at = $1 WHERE run_id = $4 AND seq = $5 RETURNING *`,
          [now, json(step.audit), owner, step.runId, prev.seq],
        );
        let claimed = toStep(r.rows[0]!);
        const announced = step.announce
          ? await appendIn(q, claimed.runId, step.announce(claimed), now)
          : undefined;
        let endAnnounced: EventRecord | undefined;
        if (step.end) {
          // A re-claimed key is ended by a second statement in the same transaction.
          const [sql, args] = endSql(step.runId, prev.seq, step.end, now, claimed.attempt);
          claimed = toStep((await q(`${sql} RETURNING *`, args)).rows[0]!);
          if (step.end.announce)
            endAnnounced = await appendIn(q, step.runId, step.end.announce(claimed), now);
        }
        return {
          kind: "claimed",
          step: claimed,
          previousAttempt: prev,
          ...(announced ? { announced } : {}),
          ...(endAnnounced ? { endAnnounced } : {}),
        };
      }
      // With `end`, the row is inserted ended (one statement).
      const end = step.end;
      const r = await q(
        `INSERT INTO steps (run_id, seq, key, kind, status, attempt, input, started_at, remediation, audit, owner,
           heartbeat_at, output, failure, usage, cached, ended_at)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = $1), $2, $3, $9, 1, $4, $5, $6, $7, $8,
           $5, $10, $11, $12, $13, $14)
         RETURNING *`,
        [
          step.runId,
          step.key,
          step.kind,
          json(step.input),
          now,
          json(step.remediation),
          json(end?.audit ?? step.audit),
          owner,
          end ? end.status : "started",
          json(end?.output),
          json(end?.failure),
          json(end?.usage),
          end?.cached === true,
          end ? now : null,
        ],
      );
      const claimed = toStep(r.rows[0]!);
      const announced = step.announce
        ? await appendIn(q, claimed.runId, step.announce(claimed), now)
        : undefined;
      const endAnnounced = end?.announce
        ? await appendIn(q, claimed.runId, end.announce(claimed), now)
        : undefined;
      return {
        kind: "claimed",
        step: claimed,
        previousAttempt: null,
        ...(announced ? { announced } : {}),
        ...(endAnnounced ? { endAnnounced } : {}),
      };
    });
  }

  async endStep(runId: string, seq: number, end: StepEnd): Promise<Announced<StepRecord>> {
    const now = Date.now();
    const [sql, args] = endSql(runId, seq, end, now, end.attempt);
    const announce = end.announce;
    const r =
      announce || end.toolCalls?.length || end.run
        ? await this.#db.tx(async (q) => {
            // The run first when it is written too: a claim locks the run, then the step and the tenant's
            // usage row; taken the other way round here, a claim on the same run would deadlock with it.
            if (end.run) await q("SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE", [runId]);
            const row = (await q(`${sql} RETURNING *`, args)).rows[0];
            // Fenced out (or no such step): nothing else is written either.
            if (!row) return undefined;
            for (const t of end.toolCalls ?? []) await q(TOOL_CALL_UPSERT, toolCallValues(t));
            const ended = toStep(row);
            if (end.run) await this.#runs.updateIn(q, runId, end.run);
            return announce ? { ...ended, announced: await appendIn(q, runId, announce(ended), now) } : ended;
          })
        : await this.#one(`${sql} RETURNING *`, args).then((row) => (row ? toStep(row) : undefined));
    if (r) return r;
    if (!(await this.#one("SELECT 1 AS x FROM steps WHERE run_id = $1 AND seq = $2", [runId, seq])))
      throw new NotFoundError(`step ${runId}#${seq} does not exist`);
    throw new FencedError(`step ${runId}#${seq}: attempt ${end.attempt} is no longer current`);
  }

  async getStep(runId: string, key: string): Promise<StepRecord | null> {
    const r = await this.#one("SELECT * FROM steps WHERE run_id = $1 AND key = $2", [runId, key]);
    return r ? toStep(r) : null;
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return (await this.#q("SELECT * FROM steps WHERE run_id = $1 ORDER BY seq", [runId])).rows.map(toStep);
  }

  async heartbeatSteps(owner: string): Promise<number> {
    const r = await this.#q("UPDATE steps SET heartbeat_at = $1 WHERE owner = $2 AND status = 'started'", [
      Date.now(),
      owner,
    ]);
    return r.rowCount;
  }

  async interruptStartedSteps(owner?: string): Promise<number> {
    const sql =
      "UPDATE steps SET status = 'interrupted', failure = $1, ended_at = $2 WHERE status = 'started'";
    const r =
      owner === undefined
        ? await this.#q(sql, [INTERRUPTED_BY_SHUTDOWN, Date.now()])
        : await this.#q(`${sql} AND owner = $3`, [INTERRUPTED_BY_SHUTDOWN, Date.now(), owner]);
    return r.rowCount;
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

  async listEvents(runId: string, afterId: number): Promise<EventRecord[]> {
    const r = await this.#q("SELECT * FROM events WHERE run_id = $1 AND id > $2 ORDER BY id", [
      runId,
      afterId,
    ]);
    return r.rows.map((e) => ({
      id: num(e.id),
      runId,
      type: str(e.type),
      data: parse(e.data),
      at: num(e.at),
    }));
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

  async putTool(t: ToolRecord): Promise<void> {
    await this.#versions.write("tools", () =>
      this.#q(
        `INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant, name) DO UPDATE SET spec = excluded.spec, secret = excluded.secret, updated_at = excluded.updated_at`,
        [t.tenant, t.name, JSON.stringify(t.spec), t.secret, t.createdAt, t.updatedAt],
      ),
    );
  }

  async getTool(tenant: string, name: string): Promise<ToolRecord | null> {
    const r = await this.#one("SELECT * FROM tools WHERE tenant = $1 AND name = $2", [tenant, name]);
    return r ? toTool(r) : null;
  }

  async listTools(tenant: string): Promise<ToolRecord[]> {
    return (await this.#q("SELECT * FROM tools WHERE tenant = $1 ORDER BY name", [tenant])).rows.map(toTool);
  }

  async deleteTool(tenant: string, name: string): Promise<boolean> {
    const r = await this.#versions.write("tools", () =>
      this.#q("DELETE FROM tools WHERE tenant = $1 AND name = $2", [tenant, name]),
    );
    return r.rowCount > 0;
  }

  /** From memory (pg-catalog-versions.ts); null while the side connection is not listening. */
  async toolsVersion(): Promise<string | null> {
    return this.#versions.version("tools");
  }

  /** From memory (pg-catalog-versions.ts); a value never answered before while not listening. */
  async apiKeysVersion(): Promise<string> {
    return this.#versions.keysVersion();
  }

  async putApiKey(k: ApiKeyRecord): Promise<void> {
    await this.#versions.write("keys", () =>
      this.#q(
        "INSERT INTO api_keys (id, tenant, policy, salt, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [k.id, k.tenant, k.policy, k.salt, k.hash, k.createdAt, k.revokedAt],
      ),
    );
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.#q("SELECT * FROM api_keys ORDER BY created_at, id")).rows.map(toApiKey);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const r = await this.#versions.write("keys", () =>
      this.#q("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [at, id]),
    );
    return r.rowCount > 0;
  }
}

/**
 * Appends an event (inside a transaction when `q` is one). The per-run advisory lock is held until the
 * statement's transaction commits: a reader never sees id n+1 before id n. The NOTIFY is delivered at the
 * same commit, so a follower on another replica that reads after it sees the event.
 */
async function appendIn(
  q: Query,
  runId: string,
  ev: { type: string; data: unknown },
  at: number,
): Promise<EventRecord> {
  const r = await q(
    `WITH l AS (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))), n AS (SELECT pg_notify('${EVENTS_CHANNEL}', $1))
     INSERT INTO events (run_id, type, data, at) SELECT $1, $2, $3, $4 FROM l, n RETURNING id`,
    [runId, ev.type, JSON.stringify(ev.data ?? null), at],
  );
  return { id: num(r.rows[0]!.id), runId, type: ev.type, data: ev.data, at };
}

/** The UPDATE that ends step `seq` (fenced to `attempt` while started when given), without RETURNING. */
function endSql(
  runId: string,
  seq: number,
  end: Omit<StepEnd, "attempt">,
  now: number,
  attempt: number | undefined,
): [string, unknown[]] {
  const args: unknown[] = [
    end.status,
    json(end.output),
    json(end.failure),
    json(end.usage),
    end.cached === true,
    now,
    json(end.audit),
    runId,
    seq,
  ];
  let sql = `UPDATE steps SET status = $1, output = $2, failure = $3, usage = $4, cached = $5, ended_at = $6,
    audit = COALESCE($7, audit) WHERE run_id = $8 AND seq = $9`;
  if (attempt !== undefined) sql += ` AND attempt = $${args.push(attempt)} AND status = 'started'`;
  return [sql, args];
}

const TOOL_CALL_UPSERT = `INSERT INTO tool_calls (run_id, step_seq, seq, tool, args_json, occurrence, status, output, failure, ms, cached)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
  ON CONFLICT (run_id, step_seq, tool, args_md5, occurrence) DO UPDATE SET seq = excluded.seq,
    status = excluded.status, output = excluded.output, failure = excluded.failure, ms = excluded.ms,
    cached = excluded.cached`;

/** The parameters of TOOL_CALL_UPSERT. */
function toolCallValues(t: ToolCallRow): unknown[] {
  return [
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
    t.cached,
  ];
}
