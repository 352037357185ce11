// The embedded store: one SQLite file (node:sqlite, WAL) in the data dir, migrated at open.
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Failure } from "@mend/wire";
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
} from "../records.ts";
import type { NewRun, NewStep, RunPatch, StepClaim, StepEnd, Store } from "../store.ts";
import { InvalidCursorError, NotFoundError } from "../store-errors.ts";
import { MIGRATIONS } from "./migrations.ts";

type Row = Record<string, SQLInputValue>;

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const num = (v: SQLInputValue | undefined): number => Number(v ?? 0);
/** Text columns come back as strings; anything else (never expected) is rendered, not "[object Object]". */
const str = (v: SQLInputValue | undefined): string => {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString();
  return typeof v === "number" || typeof v === "bigint" ? v.toString() : "";
};
const parse = <T>(v: SQLInputValue | undefined): T =>
  (v === null || v === undefined ? null : JSON.parse(str(v))) as T;

function toRun(r: Row): RunRecord {
  return {
    id: str(r.id),
    tenant: str(r.tenant),
    mode: r.mode as RunRecord["mode"],
    status: r.status as RunStatus,
    goal: (r.goal as string | null) ?? null,
    policy: (r.policy as string | null) ?? null,
    policyVersion: (r.policy_version as string | null) ?? null,
    metadata: parse(r.metadata),
    tools: parse(r.tools),
    model: parse(r.model),
    output: parse(r.output),
    failure: parse<Failure | null>(r.failure),
    waitingFor: parse(r.waiting_for),
    iterations: num(r.iterations),
    implicit: num(r.implicit) === 1,
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    leaseOwner: (r.lease_owner as string | null | undefined) ?? null,
    leaseExpiresAt:
      r.lease_expires_at === null || r.lease_expires_at === undefined ? null : num(r.lease_expires_at),
  };
}

function toStep(r: Row): StepRecord {
  return {
    runId: str(r.run_id),
    seq: num(r.seq),
    key: str(r.key),
    kind: r.kind as StepRecord["kind"],
    status: r.status as StepRecord["status"],
    attempt: num(r.attempt),
    input: parse(r.input),
    output: parse(r.output),
    failure: parse(r.failure),
    cached: num(r.cached) === 1,
    startedAt: num(r.started_at),
    endedAt: r.ended_at === null ? null : num(r.ended_at),
    usage: parse(r.usage),
    remediation: parse(r.remediation),
    audit: parse(r.audit),
  };
}

function toToolCall(r: Row): ToolCallRow {
  return {
    runId: str(r.run_id),
    stepSeq: num(r.step_seq),
    seq: num(r.seq),
    tool: str(r.tool),
    argsJson: str(r.args_json),
    occurrence: num(r.occurrence),
    status: r.status as ToolCallRow["status"],
    output: parse(r.output),
    failure: parse(r.failure),
    ms: num(r.ms),
    cached: num(r.cached) === 1,
  };
}

const encodeCursor = (r: RunRecord) => Buffer.from(`${r.createdAt}:${r.id}`).toString("base64url");
function decodeCursor(c: string): [number, string] | null {
  const m = /^(\d+):(run_[\w-]+)$/.exec(Buffer.from(c, "base64url").toString());
  return m ? [Number(m[1]), m[2]!] : null;
}

/**
 * SQLite implementation of Store. Synchronous driver, async interface (the PostgreSQL one will not be sync).
 * @example const store = SqliteStore.open("./data/mend.db")
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating) the file, sets WAL + NORMAL sync (survives a killed process) and migrates. */
  static open(path: string): SqliteStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 10_000 });
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    const store = new SqliteStore(db);
    store.#migrate();
    return store;
  }

  /** Schema version after migration (number of applied migrations). */
  get schemaVersion(): number {
    return num((this.#db.prepare("PRAGMA user_version").get() as Row).user_version);
  }

  #migrate(): void {
    this.#tx(() => {
      const current = this.schemaVersion;
      for (let v = current; v < MIGRATIONS.length; v++) {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.exec(`PRAGMA user_version=${v + 1}`);
      }
    });
  }

  #q(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const r = fn();
      this.#db.exec("COMMIT");
      return r;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  async ping(): Promise<void> {
    this.#q("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  /** Runs PRAGMA integrity_check; "ok" when healthy. */
  integrityCheck(): string {
    return str((this.#db.prepare("PRAGMA integrity_check").get() as Row).integrity_check);
  }

  async createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    return this.#tx(() => {
      if (run.idempotencyKey) {
        const existing = this.#q("SELECT * FROM runs WHERE tenant=? AND idempotency_key=?").get(
          run.tenant,
          run.idempotencyKey,
        ) as Row | undefined;
        if (existing) return { run: toRun(existing), created: false };
      }
      const now = Date.now();
      this.#q(
        `INSERT INTO runs (id, tenant, mode, status, goal, policy, policy_version, metadata, tools, model,
          implicit, idempotency_key, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        run.id,
        run.tenant,
        run.mode,
        run.goal,
        run.policy ?? null,
        run.policyVersion ?? null,
        json(run.metadata),
        json(run.tools),
        json(run.model),
        run.implicit ? 1 : 0,
        run.idempotencyKey ?? null,
        now,
        now,
      );
      return { run: toRun(this.#q("SELECT * FROM runs WHERE id=?").get(run.id) as Row), created: true };
    });
  }

  async getRun(tenant: string, id: string): Promise<RunRecord | null> {
    const r = this.#q("SELECT * FROM runs WHERE id=? AND tenant=?").get(id, tenant) as Row | undefined;
    return r ? toRun(r) : null;
  }

  async getRunById(id: string): Promise<RunRecord | null> {
    const r = this.#q("SELECT * FROM runs WHERE id=?").get(id) as Row | undefined;
    return r ? toRun(r) : null;
  }

  async listRuns(
    tenant: string,
    q: { status?: RunStatus; limit: number; cursor?: string; includeImplicit?: boolean },
  ): Promise<Page<RunRecord>> {
    const where = ["tenant = ?"];
    const args: SQLInputValue[] = [tenant];
    if (q.status) {
      where.push("status = ?");
      args.push(q.status);
    }
    if (!q.includeImplicit) where.push("implicit = 0");
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new InvalidCursorError("cursor is not one this service issued");
      where.push("(created_at < ? OR (created_at = ? AND id < ?))");
      args.push(c[0], c[0], c[1]);
    }
    const rows = this.#db
      .prepare(`SELECT * FROM runs WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(...args, q.limit + 1) as Row[];
    const items = rows.slice(0, q.limit).map(toRun);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
  }

  async updateRun(id: string, patch: RunPatch): Promise<RunRecord> {
    const cols: string[] = [];
    const args: SQLInputValue[] = [];
    const set = (col: string, v: SQLInputValue) => {
      cols.push(`${col} = ?`);
      args.push(v);
    };
    if (patch.status !== undefined) set("status", patch.status);
    if ("output" in patch) set("output", json(patch.output));
    if ("failure" in patch) set("failure", json(patch.failure));
    if ("waitingFor" in patch) set("waiting_for", json(patch.waitingFor));
    if (patch.iterations !== undefined) set("iterations", patch.iterations);
    if (patch.policyVersion !== undefined) set("policy_version", patch.policyVersion);
    set("updated_at", Date.now());
    const r = this.#db
      .prepare(`UPDATE runs SET ${cols.join(", ")} WHERE id = ? RETURNING *`)
      .get(...args, id) as Row | undefined;
    if (!r) throw new NotFoundError(`run ${id} does not exist`);
    return toRun(r);
  }

  async runsByStatus(status: RunStatus): Promise<RunRecord[]> {
    return (this.#q("SELECT * FROM runs WHERE status = ? ORDER BY created_at").all(status) as Row[]).map(
      toRun,
    );
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, replaceOwner?: string): Promise<boolean> {
    const now = Date.now();
    const r = this.#q(
      `UPDATE runs SET lease_owner=?, lease_expires_at=? WHERE id=?
       AND (lease_owner IS NULL OR lease_owner=? OR lease_owner=? OR lease_expires_at < ?)`,
    ).run(owner, now + ttlMs, runId, owner, replaceOwner ?? null, now);
    return Number(r.changes) === 1;
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    this.#q("UPDATE runs SET lease_owner=NULL, lease_expires_at=NULL WHERE id=? AND lease_owner=?").run(
      runId,
      owner,
    );
  }

  async claimStep(step: NewStep): Promise<StepClaim> {
    return this.#tx(() => {
      const now = Date.now();
      const existing = this.#q("SELECT * FROM steps WHERE run_id=? AND key=?").get(step.runId, step.key) as
        Row | undefined;
      if (existing) {
        const prev = toStep(existing);
        if (prev.status === "succeeded" || prev.status === "failed") return { kind: "finished", step: prev };
        const r = this.#q(
          `UPDATE steps SET status='started', attempt=attempt+1, started_at=?, ended_at=NULL,
           output=NULL, failure=NULL, usage=NULL, audit=? WHERE run_id=? AND seq=? RETURNING *`,
        ).get(now, json(step.audit), step.runId, prev.seq) as Row;
        return { kind: "claimed", step: toStep(r), previousAttempt: prev };
      }
      const seq = num(
        (this.#q("SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM steps WHERE run_id=?").get(step.runId) as Row).s,
      );
      const r = this.#q(
        `INSERT INTO steps (run_id, seq, key, kind, status, attempt, input, started_at, remediation, audit)
         VALUES (?, ?, ?, ?, 'started', 1, ?, ?, ?, ?) RETURNING *`,
      ).get(
        step.runId,
        seq,
        step.key,
        step.kind,
        json(step.input),
        now,
        json(step.remediation),
        json(step.audit),
      ) as Row;
      return { kind: "claimed", step: toStep(r), previousAttempt: null };
    });
  }

  async endStep(runId: string, seq: number, end: StepEnd): Promise<StepRecord> {
    const r = this.#q(
      `UPDATE steps SET status=?, output=?, failure=?, usage=?, cached=?, ended_at=?, audit=COALESCE(?, audit)
       WHERE run_id=? AND seq=? RETURNING *`,
    ).get(
      end.status,
      json(end.output),
      json(end.failure),
      json(end.usage),
      end.cached ? 1 : 0,
      Date.now(),
      json(end.audit),
      runId,
      seq,
    ) as Row | undefined;
    if (!r) throw new NotFoundError(`step ${runId}#${seq} does not exist`);
    return toStep(r);
  }

  async getStep(runId: string, key: string): Promise<StepRecord | null> {
    const r = this.#q("SELECT * FROM steps WHERE run_id=? AND key=?").get(runId, key) as Row | undefined;
    return r ? toStep(r) : null;
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return (this.#q("SELECT * FROM steps WHERE run_id=? ORDER BY seq").all(runId) as Row[]).map(toStep);
  }

  async interruptStartedSteps(): Promise<number> {
    const failure = json({
      kind: "interrupted",
      layer: "infrastructure",
      message: "The service shut down while this step ran; it is re-executed when its run resumes.",
      retryable: true,
    });
    const r = this.#q(
      "UPDATE steps SET status='interrupted', failure=?, ended_at=? WHERE status='started'",
    ).run(failure, Date.now());
    return Number(r.changes);
  }

  async recordToolCall(c: ToolCallRow): Promise<void> {
    this.#q(
      `INSERT OR REPLACE INTO tool_calls (run_id, step_seq, seq, tool, args_json, occurrence, status, output, failure, ms, cached)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      c.runId,
      c.stepSeq,
      c.seq,
      c.tool,
      c.argsJson,
      c.occurrence,
      c.status,
      json(c.output),
      json(c.failure),
      c.ms,
      c.cached ? 1 : 0,
    );
  }

  async listToolCalls(runId: string, stepSeq: number): Promise<ToolCallRow[]> {
    return (
      this.#q("SELECT * FROM tool_calls WHERE run_id=? AND step_seq=? ORDER BY seq").all(
        runId,
        stepSeq,
      ) as Row[]
    ).map(toToolCall);
  }

  async putCheckpoint(runId: string, key: string, value: unknown): Promise<void> {
    this.#q("INSERT OR REPLACE INTO checkpoints (run_id, key, value, created_at) VALUES (?, ?, ?, ?)").run(
      runId,
      key,
      JSON.stringify(value ?? null),
      Date.now(),
    );
  }

  async getCheckpoint(runId: string, key: string): Promise<{ value: unknown; createdAt: number } | null> {
    const r = this.#q("SELECT value, created_at FROM checkpoints WHERE run_id=? AND key=?").get(
      runId,
      key,
    ) as Row | undefined;
    return r ? { value: parse(r.value), createdAt: num(r.created_at) } : null;
  }

  async appendEvent(runId: string, type: string, data: unknown): Promise<EventRecord> {
    const at = Date.now();
    const r = this.#q("INSERT INTO events (run_id, type, data, at) VALUES (?, ?, ?, ?) RETURNING id").get(
      runId,
      type,
      JSON.stringify(data ?? null),
      at,
    ) as Row;
    return { id: num(r.id), runId, type, data, at };
  }

  async listEvents(runId: string, afterId: number): Promise<EventRecord[]> {
    return (
      this.#q("SELECT * FROM events WHERE run_id=? AND id>? ORDER BY id").all(runId, afterId) as Row[]
    ).map((r) => ({ id: num(r.id), runId, type: str(r.type), data: parse(r.data), at: num(r.at) }));
  }

  async getCache(
    tenant: string,
    tool: string,
    version: string,
    argsHash: string,
    now: number,
  ): Promise<CacheEntry | null> {
    // A miss is one plain read (no write lock); only a hit records its use.
    const r = this.#q(
      "SELECT * FROM cache_entries WHERE tenant=? AND tool=? AND version=? AND args_hash=? AND expires_at > ?",
    ).get(tenant, tool, version, argsHash, now) as Row | undefined;
    if (!r) return null;
    return this.#tx(() => {
      this.#q(
        "UPDATE cache_entries SET hits=hits+1, last_used_at=? WHERE tenant=? AND tool=? AND version=? AND args_hash=?",
      ).run(now, tenant, tool, version, argsHash);
      this.#q(
        "INSERT INTO cache_counters (tenant, hits) VALUES (?, 1) ON CONFLICT(tenant) DO UPDATE SET hits=hits+1",
      ).run(tenant);
      return {
        tenant,
        tool,
        version,
        argsHash,
        value: parse(r.value),
        sizeBytes: num(r.size_bytes),
        createdAt: num(r.created_at),
        expiresAt: num(r.expires_at),
      };
    });
  }

  async putCache(e: CacheEntry, maxBytes: number): Promise<void> {
    this.#tx(() => {
      // The entry's creation time is "now" for this write: one clock for expiry and recency, the caller's.
      const now = e.createdAt;
      this.#q("DELETE FROM cache_entries WHERE expires_at <= ?").run(now);
      this.#q(
        `INSERT INTO cache_entries (tenant, tool, version, args_hash, value, size_bytes, created_at, expires_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, tool, version, args_hash) DO UPDATE SET value=excluded.value, size_bytes=excluded.size_bytes,
           created_at=excluded.created_at, expires_at=excluded.expires_at, last_used_at=excluded.last_used_at`,
      ).run(
        e.tenant,
        e.tool,
        e.version,
        e.argsHash,
        JSON.stringify(e.value),
        e.sizeBytes,
        e.createdAt,
        e.expiresAt,
        now,
      );
      // LRU eviction over the whole cache until it fits the byte cap (the total is kept by triggers).
      let total = num(
        (this.#q("SELECT bytes FROM cache_total WHERE id = 1").get() as Row | undefined)?.bytes,
      );
      while (total > maxBytes) {
        const victim = this.#q(
          "SELECT tenant, tool, version, args_hash, size_bytes FROM cache_entries ORDER BY last_used_at LIMIT 1",
        ).get() as Row | undefined;
        if (!victim) break;
        this.#q("DELETE FROM cache_entries WHERE tenant=? AND tool=? AND version=? AND args_hash=?").run(
          victim.tenant!,
          victim.tool!,
          victim.version!,
          victim.args_hash!,
        );
        total -= num(victim.size_bytes);
      }
    });
  }

  async cacheStats(tenant: string): Promise<CacheStats> {
    const e = this.#q(
      "SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes),0) AS b FROM cache_entries WHERE tenant=? AND expires_at > ?",
    ).get(tenant, Date.now()) as Row;
    const c = this.#q("SELECT hits, misses FROM cache_counters WHERE tenant=?").get(tenant) as
      Row | undefined;
    return { entries: num(e.n), bytes: num(e.b), hits: num(c?.hits), misses: num(c?.misses) };
  }

  async countCacheMiss(tenant: string): Promise<void> {
    this.#q(
      "INSERT INTO cache_counters (tenant, misses) VALUES (?, 1) ON CONFLICT(tenant) DO UPDATE SET misses=misses+1",
    ).run(tenant);
  }

  async clearCache(tenant: string, tool?: string): Promise<number> {
    const r = tool
      ? this.#q("DELETE FROM cache_entries WHERE tenant=? AND tool=?").run(tenant, tool)
      : this.#q("DELETE FROM cache_entries WHERE tenant=?").run(tenant);
    return Number(r.changes);
  }

  async addBlobRef(tenant: string, sha256: string, sizeBytes: number): Promise<void> {
    this.#q("INSERT OR IGNORE INTO blobs (tenant, sha256, size_bytes, created_at) VALUES (?, ?, ?, ?)").run(
      tenant,
      sha256,
      sizeBytes,
      Date.now(),
    );
  }

  async hasBlobRef(tenant: string, sha256: string): Promise<boolean> {
    return this.#q("SELECT 1 FROM blobs WHERE tenant=? AND sha256=?").get(tenant, sha256) !== undefined;
  }

  async putTool(t: ToolRecord): Promise<void> {
    this.#q(
      `INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(tenant, name) DO UPDATE SET spec=excluded.spec, secret=excluded.secret, updated_at=excluded.updated_at`,
    ).run(t.tenant, t.name, JSON.stringify(t.spec), t.secret, t.createdAt, t.updatedAt);
  }

  async getTool(tenant: string, name: string): Promise<ToolRecord | null> {
    const r = this.#q("SELECT * FROM tools WHERE tenant=? AND name=?").get(tenant, name) as Row | undefined;
    return r ? toTool(r) : null;
  }

  async listTools(tenant: string): Promise<ToolRecord[]> {
    return (this.#q("SELECT * FROM tools WHERE tenant=? ORDER BY name").all(tenant) as Row[]).map(toTool);
  }

  async deleteTool(tenant: string, name: string): Promise<boolean> {
    return Number(this.#q("DELETE FROM tools WHERE tenant=? AND name=?").run(tenant, name).changes) > 0;
  }

  async putApiKey(k: ApiKeyRecord): Promise<void> {
    this.#q(
      "INSERT INTO api_keys (id, tenant, policy, salt, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(k.id, k.tenant, k.policy, k.salt, k.hash, k.createdAt, k.revokedAt);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (this.#q("SELECT * FROM api_keys ORDER BY created_at").all() as Row[]).map((r) => ({
      id: str(r.id),
      tenant: str(r.tenant),
      policy: str(r.policy),
      salt: str(r.salt),
      hash: str(r.hash),
      createdAt: num(r.created_at),
      revokedAt: r.revoked_at === null ? null : num(r.revoked_at),
    }));
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    return (
      Number(
        this.#q("UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL").run(at, id).changes,
      ) > 0
    );
  }
}

function toTool(r: Row): ToolRecord {
  return {
    tenant: str(r.tenant),
    name: str(r.name),
    spec: parse(r.spec),
    secret: (r.secret as string | null) ?? null,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}
