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
import { ownedByAnother } from "../step-ownership.ts";
import { FencedError, LeaseLostError, NotFoundError, RunFinishedError } from "../store-errors.ts";
import { FINISHED_RUNS } from "../records.ts";
import {
  INTERRUPTED_BY_SHUTDOWN,
  json,
  num,
  parse,
  str,
  toApiKey,
  toStep,
  toTool,
  toToolCall,
} from "../row-codec.ts";
import { SqliteConnection, type SqliteConnectionOptions } from "./sqlite-connection.ts";
import { SqliteCache } from "./sqlite-cache.ts";
import { SqliteRuns } from "./sqlite-runs.ts";
import { SqliteUsage } from "./sqlite-usage.ts";
import { SqliteReplicas } from "./sqlite-replicas.ts";
import {
  SqliteStepUsage,
  JOURNAL_ROOM_RETURNING,
  STEP_BYTES_RETURNING,
  STEP_BYTES_SET,
  stepInsertBytes,
} from "./sqlite-step-usage.ts";

/** The seq of a run's next step. */
const NEXT_SEQ_SQL = "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM steps WHERE run_id=?";

/** SQLite's extended result code of a foreign-key violation (here: a step of a run that does not exist). */
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;

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
  readonly #stepUsage: SqliteStepUsage;

  private constructor(c: SqliteConnection) {
    this.#c = c;
    this.#stepUsage = new SqliteStepUsage(c);
    this.#usage = new SqliteUsage(c);
    this.#replicas = new SqliteReplicas(c);
    this.#cache = new SqliteCache(c);
    this.#runs = new SqliteRuns(c);
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
      return announce ? { ...run, announced: this.#append(id, announce, run.updatedAt) } : run;
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
    const c = this.#c;
    return c.write((): StepClaim => {
      const now = Date.now();
      const owner = step.owner ?? null;
      // A run created by this write has no step yet, and its tenant is known: its first claim reads neither.
      const created = step.run ? this.#runs.ensureInWrite(step.run) : false;
      if (step.activeRunOf !== undefined) {
        const run = c.get("SELECT tenant, status FROM runs WHERE id=?", step.runId);
        if (!run || run.tenant !== step.activeRunOf)
          throw new NotFoundError(`run ${step.runId} does not exist`);
        if (FINISHED_RUNS.has(str(run.status))) throw new RunFinishedError(step.runId, str(run.status));
      }
      if (step.lease !== undefined) {
        const run = c.get("SELECT lease_owner, lease_expires_at FROM runs WHERE id=?", step.runId);
        if (!run) throw new NotFoundError(`run ${step.runId} does not exist`);
        if (run.lease_owner !== step.lease || num(run.lease_expires_at) < now)
          throw new LeaseLostError(`run ${step.runId}: the lease of ${step.lease} was lost`);
      }
      let claimed: StepRecord;
      let previousAttempt: StepRecord | null = null;
      let row;
      let tenant: string | null;
      try {
        // A new key (the common case) is the run's next seq, then one insert with the row back; a key that
        // exists already inserts nothing (ON CONFLICT) and is handled below. The run must exist (foreign
        // key). The seq is read by a statement of its own: as a subquery of the INSERT's VALUES, SQLite
        // prepared the whole INSERT (its triggers and checks) again at every execution — 5× its cost.
        const seq = created ? 1 : num(c.get(NEXT_SEQ_SQL, step.runId)?.next);
        // With `end`, the row is inserted ended (one statement, one pass of the usage trigger).
        const end = step.end;
        const input = json(step.input);
        const remediation = json(step.remediation);
        const audit = json(end?.audit ?? step.audit);
        const output = json(end?.output);
        const failure = json(end?.failure);
        const usage = json(end?.usage);
        tenant = this.#stepUsage.tenantOf(step.runId, created ? step.run!.tenant : undefined);
        row = c.get(
          `INSERT INTO steps (run_id, seq, key, kind, status, attempt, input, started_at, remediation, audit, owner,
             heartbeat_at, output, failure, usage, cached, ended_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, key) DO NOTHING RETURNING *, ${JOURNAL_ROOM_RETURNING}`,
          step.runId,
          seq,
          step.key,
          step.kind,
          end ? end.status : "started",
          input,
          now,
          remediation,
          audit,
          owner,
          now,
          output,
          failure,
          usage,
          end?.cached ? 1 : 0,
          end ? now : null,
          tenant,
        );
        // Counted here, not by a trigger (sqlite-step-usage.ts); a key that exists inserted nothing. Without
        // a run (tenant null) the foreign key refused the insert already.
        if (row)
          this.#stepUsage.count(
            tenant!,
            stepInsertBytes([step.key, input, output, failure, usage, remediation, audit]),
            row.journal_room,
          );
      } catch (e) {
        if ((e as { errcode?: number }).errcode === SQLITE_CONSTRAINT_FOREIGNKEY)
          throw new NotFoundError(`run ${step.runId} does not exist`);
        throw e;
      }
      if (row) {
        claimed = toStep(row);
      } else {
        const prev = toStep(c.get("SELECT * FROM steps WHERE run_id=? AND key=?", step.runId, step.key)!);
        if (prev.status === "succeeded" || prev.status === "failed") return { kind: "finished", step: prev };
        if (ownedByAnother(prev, owner, now, step.ownerTtlMs)) return { kind: "owned", step: prev };
        previousAttempt = prev;
        const again = c.get(
          `UPDATE steps SET status='started', attempt=attempt+1, started_at=?, ended_at=NULL, output=NULL,
           failure=NULL, usage=NULL, audit=?, owner=?, heartbeat_at=?, ${STEP_BYTES_SET}
           WHERE run_id=? AND seq=? RETURNING *, ${STEP_BYTES_RETURNING}, ${JOURNAL_ROOM_RETURNING}`,
          now,
          json(step.audit),
          owner,
          now,
          step.runId,
          prev.seq,
          tenant,
        )!;
        this.#stepUsage.countUpdate(tenant!, again);
        claimed = toStep(again);
      }
      if (step.end && !previousAttempt && step.announce && step.end.announce) {
        // A new key inserted ended (a checkpoint): both of its events in one statement.
        const [announced, endAnnounced] = this.#appendTwo(
          claimed.runId,
          step.announce(claimed),
          step.end.announce(claimed),
          now,
        );
        return { kind: "claimed", step: claimed, previousAttempt, announced, endAnnounced };
      }
      const announced = step.announce ? this.#append(claimed.runId, step.announce(claimed), now) : undefined;
      let endAnnounced: EventRecord | undefined;
      if (step.end) {
        // A re-claimed key is ended by a second statement; a new one was inserted ended.
        if (previousAttempt)
          claimed = this.#endRow(claimed.runId, claimed.seq, step.end, now, claimed.attempt);
        if (step.end.announce) endAnnounced = this.#append(claimed.runId, step.end.announce(claimed), now);
      }
      return {
        kind: "claimed",
        step: claimed,
        previousAttempt,
        ...(announced ? { announced } : {}),
        ...(endAnnounced ? { endAnnounced } : {}),
      };
    });
  }

  /** Inside a write: ends step `seq` (fenced to `attempt` while started when given), or throws. */
  #endRow(
    runId: string,
    seq: number,
    end: Omit<StepEnd, "attempt">,
    now: number,
    attempt?: number,
  ): StepRecord {
    const c = this.#c;
    const fenced = attempt === undefined ? "" : " AND attempt=? AND status='started'";
    const tenant = this.#stepUsage.tenantOf(runId);
    const row = c.get(
      `UPDATE steps SET status=?, output=?, failure=?, usage=?, cached=?, ended_at=?, audit=COALESCE(?, audit),
       ${STEP_BYTES_SET} WHERE run_id=? AND seq=?${fenced}
       RETURNING *, ${STEP_BYTES_RETURNING}, ${JOURNAL_ROOM_RETURNING}`,
      end.status,
      json(end.output),
      json(end.failure),
      json(end.usage),
      end.cached ? 1 : 0,
      now,
      json(end.audit),
      runId,
      seq,
      ...(attempt === undefined ? [] : [attempt]),
      tenant,
    );
    if (!row) {
      if (!c.get("SELECT 1 AS x FROM steps WHERE run_id=? AND seq=?", runId, seq))
        throw new NotFoundError(`step ${runId}#${seq} does not exist`);
      throw new FencedError(`step ${runId}#${seq}: attempt ${attempt} is no longer current`);
    }
    this.#stepUsage.countUpdate(tenant!, row);
    return toStep(row);
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
      const ended = this.#endRow(runId, seq, end, now, end.attempt);
      if (end.run) this.#runs.updateInWrite(runId, end.run);
      const announced = end.announce ? this.#append(runId, end.announce(ended), now) : undefined;
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

  /** Appends an event inside the current write (its id is the row's, in commit order). */
  #append(runId: string, ev: { type: string; data: unknown }, at: number): EventRecord {
    const r = this.#c.get(
      "INSERT INTO events (run_id, type, data, at) VALUES (?, ?, ?, ?) RETURNING id",
      runId,
      ev.type,
      JSON.stringify(ev.data ?? null),
      at,
    );
    return { id: num(r?.id), runId, type: ev.type, data: ev.data, at };
  }

  /** Appends two events inside the current write, in this order (ids ascend with the rows' order). */
  #appendTwo(
    runId: string,
    a: { type: string; data: unknown },
    b: { type: string; data: unknown },
    at: number,
  ): [EventRecord, EventRecord] {
    const ids = this.#c
      .all(
        "INSERT INTO events (run_id, type, data, at) VALUES (?, ?, ?, ?), (?, ?, ?, ?) RETURNING id",
        runId,
        a.type,
        JSON.stringify(a.data ?? null),
        at,
        runId,
        b.type,
        JSON.stringify(b.data ?? null),
        at,
      )
      .map((r) => num(r.id))
      // RETURNING's row order is not specified; the ids are the rows' insertion order
      .sort((x, y) => x - y);
    return [
      { id: ids[0]!, runId, type: a.type, data: a.data, at },
      { id: ids[1]!, runId, type: b.type, data: b.data, at },
    ];
  }

  async getStep(runId: string, key: string): Promise<StepRecord | null> {
    const r = this.#c.read(() => this.#c.get("SELECT * FROM steps WHERE run_id=? AND key=?", runId, key));
    return r ? toStep(r) : null;
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return this.#c
      .read(() => this.#c.all("SELECT * FROM steps WHERE run_id=? ORDER BY seq", runId))
      .map(toStep);
  }

  async heartbeatSteps(owner: string): Promise<number> {
    const c = this.#c;
    return c.write(() =>
      c.run("UPDATE steps SET heartbeat_at=? WHERE owner=? AND status='started'", Date.now(), owner),
    );
  }

  async interruptStartedSteps(owner?: string): Promise<number> {
    const c = this.#c;
    const sql = `UPDATE steps SET status='interrupted', failure=?, ended_at=?, ${STEP_BYTES_SET} WHERE status='started'`;
    const back = ` RETURNING run_id, status, ${STEP_BYTES_RETURNING}`;
    return c.write(() => {
      const rows =
        owner === undefined
          ? c.all(sql + back, INTERRUPTED_BY_SHUTDOWN, Date.now())
          : c.all(`${sql} AND owner=?${back}`, INTERRUPTED_BY_SHUTDOWN, Date.now(), owner);
      for (const r of rows) this.#stepUsage.countUpdate(this.#stepUsage.tenantOf(str(r.run_id))!, r);
      return rows.length;
    });
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
    return this.#c.write(() => this.#append(runId, { type, data }, Date.now()));
  }

  async listEvents(runId: string, afterId: number): Promise<EventRecord[]> {
    return this.#c
      .read(() => this.#c.all("SELECT * FROM events WHERE run_id=? AND id>? ORDER BY id", runId, afterId))
      .map((r) => ({ id: num(r.id), runId, type: str(r.type), data: parse(r.data), at: num(r.at) }));
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

  async putTool(t: ToolRecord): Promise<void> {
    const c = this.#c;
    await this.#bumpedWrite("tools", () =>
      c.run(
        `INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(tenant, name) DO UPDATE SET spec=excluded.spec, secret=excluded.secret, updated_at=excluded.updated_at`,
        t.tenant,
        t.name,
        JSON.stringify(t.spec),
        t.secret,
        t.createdAt,
        t.updatedAt,
      ),
    );
  }

  async getTool(tenant: string, name: string): Promise<ToolRecord | null> {
    const r = this.#c.read(() => this.#c.get("SELECT * FROM tools WHERE tenant=? AND name=?", tenant, name));
    return r ? toTool(r) : null;
  }

  async listTools(tenant: string): Promise<ToolRecord[]> {
    return this.#c
      .read(() => this.#c.all("SELECT * FROM tools WHERE tenant=? ORDER BY name", tenant))
      .map(toTool);
  }

  async deleteTool(tenant: string, name: string): Promise<boolean> {
    const c = this.#c;
    return (
      (await this.#bumpedWrite("tools", () =>
        c.run("DELETE FROM tools WHERE tenant=? AND name=?", tenant, name),
      )) > 0
    );
  }

  /** Bumped by this connection's own writes of tools and keys (PRAGMA data_version only moves for other connections'). */
  #generations = { tools: 0, keys: 0 };

  /**
   * A write of `kind`'s records (tools, API keys), its generation bumped before it and again once it
   * settled: a list read while it was pending (the old records: a revoked key still valid in them) is cached
   * under the version before the second bump, so it is read again after.
   */
  async #bumpedWrite<T>(kind: "tools" | "keys", fn: () => T): Promise<T> {
    this.#generations[kind]++;
    try {
      return await this.#c.write(fn);
    } finally {
      this.#generations[kind]++;
    }
  }

  async toolsVersion(): Promise<string> {
    return `${this.#dataVersion()}:${this.#generations.tools}`;
  }

  /**
   * PRAGMA data_version of the open connection, with the connection's epoch: the number starts over on a
   * connection opened again after a fault, so without the epoch an old version could come back.
   */
  #dataVersion(): string {
    const dv = num(this.#c.read(() => this.#c.get("PRAGMA data_version"))?.data_version);
    return `${this.#c.epoch}.${dv}`; // read after the PRAGMA: the connection it came from
  }

  async apiKeysVersion(): Promise<string> {
    return `${this.#dataVersion()}:${this.#generations.keys}`;
  }

  async putApiKey(k: ApiKeyRecord): Promise<void> {
    const c = this.#c;
    await this.#bumpedWrite("keys", () =>
      c.run(
        "INSERT INTO api_keys (id, tenant, policy, salt, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        k.id,
        k.tenant,
        k.policy,
        k.salt,
        k.hash,
        k.createdAt,
        k.revokedAt,
      ),
    );
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#c.read(() => this.#c.all("SELECT * FROM api_keys ORDER BY created_at")).map(toApiKey);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const c = this.#c;
    return (
      (await this.#bumpedWrite("keys", () =>
        c.run("UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL", at, id),
      )) > 0
    );
  }
}
