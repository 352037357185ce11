// Runs and their leases in the PostgreSQL store (PostgresStore delegates here): creation with idempotency
// keys (ON CONFLICT: one run per key, even from several replicas), tenant-scoped reads, cursor paging,
// fenced updates.
import type { Page, RunRecord, RunStatus } from "../records.ts";
import { defaultOrigin, type ListRunsQuery, type NewFork, type NewRun, type RunPatch } from "../store.ts";
import { InvalidCursorError, LeaseLostError, NotFoundError } from "../store-errors.ts";
import { decodeCursor, encodeCursor, json, toRun, type Row } from "../row-codec.ts";
import type { Query } from "./pg-database.ts";
import { copyStepsSql, copyToolCallsSql, forkedEvent } from "../fork-copy.ts";

/**
 * The runs table of one database.
 * @example await new PgRuns(db.query, (fn) => db.tx(fn)).acquireLease("run_1", "A", 5_000)
 */
export class PgRuns {
  readonly #q: Query;
  readonly #tx: <T>(fn: (q: Query) => Promise<T>) => Promise<T>;

  /** `tx` runs a function in one transaction (PgDatabase.tx). */
  constructor(q: Query, tx: <T>(fn: (q: Query) => Promise<T>) => Promise<T>) {
    this.#q = q;
    this.#tx = tx;
  }

  async #one(sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await this.#q(sql, params)).rows[0];
  }

  async createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    return this.#create(this.#q, run, null);
  }

  async forkRun(fork: NewFork): Promise<{ run: RunRecord; created: boolean; copied: number }> {
    return this.#tx(async (q) => {
      const parent = await q("SELECT id FROM runs WHERE id = $1 AND tenant = $2", [
        fork.parentRunId,
        fork.tenant,
      ]);
      if (!parent.rows[0]) throw new NotFoundError(`run ${fork.parentRunId} does not exist`);
      const made = await this.#create(q, fork, fork);
      if (!made.created) return { ...made, copied: 0 };
      const args = [made.run.id, fork.parentRunId, fork.atSeq];
      const copied = (await q(copyStepsSql(["$1", "$2", "$3"]), args)).rowCount;
      await q(copyToolCallsSql(["$1", "$2", "$3"]), args);
      // The per-run advisory lock, as every event append takes it (ids of one run commit in order).
      await q(
        `WITH l AS (SELECT pg_advisory_xact_lock(hashtextextended($1, 0)))
         INSERT INTO events (run_id, type, data, at) SELECT $1, 'run.forked', $2, $3 FROM l`,
        [made.run.id, JSON.stringify(forkedEvent(fork.parentRunId, fork.atSeq, copied)), made.run.createdAt],
      );
      return { ...made, copied };
    });
  }

  /** Through `q` (a transaction): creates `run` unless a run with its id exists (NewStep.run: a claim made again). */
  async ensureIn(q: Query, run: NewRun): Promise<void> {
    await q(`${INSERT_RUN} ON CONFLICT (id) DO NOTHING`, runValues(run, null, Date.now()));
  }

  /** The run of an idempotency key if there is one, else a new run (a fork when `fork`), through `q`. */
  async #create(q: Query, run: NewRun, fork: NewFork | null): Promise<{ run: RunRecord; created: boolean }> {
    const values = runValues(run, fork, Date.now());
    const insert = INSERT_RUN;
    if (!run.idempotencyKey)
      return { run: toRun((await q(`${insert} RETURNING *`, values)).rows[0]!), created: true };
    const made = (
      await q(
        `${insert} ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *`,
        values,
      )
    ).rows[0];
    if (made) return { run: toRun(made), created: true };
    const existing = (
      await q("SELECT * FROM runs WHERE tenant = $1 AND idempotency_key = $2", [
        run.tenant,
        run.idempotencyKey,
      ])
    ).rows[0];
    return { run: toRun(existing!), created: false };
  }

  async getRun(tenant: string, id: string): Promise<RunRecord | null> {
    const r = await this.#one("SELECT * FROM runs WHERE id = $1 AND tenant = $2", [id, tenant]);
    return r ? toRun(r) : null;
  }

  async getRunById(id: string): Promise<RunRecord | null> {
    const r = await this.#one("SELECT * FROM runs WHERE id = $1", [id]);
    return r ? toRun(r) : null;
  }

  async listRuns(tenant: string, q: ListRunsQuery): Promise<Page<RunRecord>> {
    const args: unknown[] = [tenant];
    const where = ["tenant = $1"];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (q.status) where.push(`status = ${arg(q.status)}`);
    if (q.origin) where.push(`origin = ${arg(q.origin)}`);
    else if (!q.includeImplicit) where.push("NOT implicit");
    if (q.parentRunId !== undefined) where.push(`parent_run_id = ${arg(q.parentRunId)}`);
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new InvalidCursorError("cursor is not one this service issued");
      const at = arg(c[0]);
      where.push(`(created_at < ${at} OR (created_at = ${at} AND id < ${arg(c[1])}))`);
    }
    const sql = `SELECT * FROM runs WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ${arg(q.limit + 1)}`;
    const { rows } = await this.#q(sql, args);
    const items = rows.slice(0, q.limit).map(toRun);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
  }

  /** Store.updateRun through `q` (a transaction of the caller's: a one-off's run ends with its step). */
  async updateIn(q: Query, id: string, patch: RunPatch, leaseOwner?: string): Promise<RunRecord> {
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    const cols: string[] = [];
    if (patch.status !== undefined) cols.push(`status = ${arg(patch.status)}`);
    if ("output" in patch) cols.push(`output = ${arg(json(patch.output))}`);
    if ("failure" in patch) cols.push(`failure = ${arg(json(patch.failure))}`);
    if ("waitingFor" in patch) cols.push(`waiting_for = ${arg(json(patch.waitingFor))}`);
    if (patch.iterations !== undefined) cols.push(`iterations = ${arg(patch.iterations)}`);
    if (patch.policyVersion !== undefined) cols.push(`policy_version = ${arg(patch.policyVersion)}`);
    const now = Date.now();
    cols.push(`updated_at = ${arg(now)}`);
    let sql = `UPDATE runs SET ${cols.join(", ")} WHERE id = ${arg(id)}`;
    if (leaseOwner !== undefined)
      sql += ` AND lease_owner = ${arg(leaseOwner)} AND lease_expires_at >= ${arg(now)}`;
    const r = (await q(`${sql} RETURNING *`, args)).rows[0];
    if (r) return toRun(r);
    if (!(await q("SELECT 1 AS x FROM runs WHERE id = $1", [id])).rows[0])
      throw new NotFoundError(`run ${id} does not exist`);
    throw new LeaseLostError(`run ${id}: the lease of ${leaseOwner} was lost`);
  }

  async runsByStatus(status: RunStatus): Promise<RunRecord[]> {
    return (await this.#q("SELECT * FROM runs WHERE status = $1 ORDER BY created_at", [status])).rows.map(
      toRun,
    );
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, replaceOwner?: string): Promise<boolean> {
    const now = Date.now();
    const r = await this.#q(
      `UPDATE runs SET lease_owner = $1, lease_expires_at = $2 WHERE id = $3
       AND (lease_owner IS NULL OR lease_owner = $1 OR lease_owner = $4 OR lease_expires_at < $5)`,
      [owner, now + ttlMs, runId, replaceOwner ?? null, now],
    );
    return r.rowCount === 1;
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    await this.#q(
      "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2",
      [runId, owner],
    );
  }
}

const INSERT_RUN = `INSERT INTO runs (id, tenant, mode, status, goal, policy, policy_version, metadata, tools, model,
    implicit, idempotency_key, created_at, updated_at, parent_run_id, forked_at_seq, fork_replace, origin)
    VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16)`;

/** The parameters of INSERT_RUN. */
function runValues(run: NewRun, fork: NewFork | null, now: number): unknown[] {
  return [
    run.id,
    run.tenant,
    run.mode,
    run.goal,
    run.policy ?? null,
    run.policyVersion ?? null,
    json(run.metadata),
    json(run.tools),
    json(run.model),
    run.implicit,
    run.idempotencyKey ?? null,
    now,
    fork?.parentRunId ?? null,
    fork?.atSeq ?? null,
    json(fork?.replace),
    defaultOrigin(run),
  ];
}
