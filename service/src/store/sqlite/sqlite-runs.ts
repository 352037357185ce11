// Runs and their leases in the SQLite store (SqliteStore delegates here): creation with idempotency keys,
// tenant-scoped reads, cursor paging, fenced updates.
import type { SQLInputValue } from "node:sqlite";
import type { Page, RunRecord, RunStatus } from "../records.ts";
import { defaultOrigin, type ListRunsQuery, type NewFork, type NewRun, type RunPatch } from "../store.ts";
import { InvalidCursorError, LeaseLostError, NotFoundError } from "../store-errors.ts";
import { decodeCursor, encodeCursor, json, toRun } from "../row-codec.ts";
import { copyStepsSql, copyToolCallsSql, forkedEvent } from "../fork-copy.ts";
import type { SqliteConnection, SqlRow } from "./sqlite-connection.ts";

/**
 * The runs table of one SQLite connection.
 * @example await new SqliteRuns(connection).acquireLease("run_1", "A", 5_000)
 */
export class SqliteRuns {
  readonly #c: SqliteConnection;

  constructor(c: SqliteConnection) {
    this.#c = c;
  }

  async createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    const c = this.#c;
    return c.write(() => this.#create(run, null));
  }

  async forkRun(fork: NewFork): Promise<{ run: RunRecord; created: boolean; copied: number }> {
    const c = this.#c;
    return c.write(() => {
      const parent = c.get("SELECT id FROM runs WHERE id=? AND tenant=?", fork.parentRunId, fork.tenant);
      if (!parent) throw new NotFoundError(`run ${fork.parentRunId} does not exist`);
      const made = this.#create(fork, fork);
      if (!made.created) return { ...made, copied: 0 };
      const args = [made.run.id, fork.parentRunId, fork.atSeq] as const;
      const copied = c.run(copyStepsSql(["?", "?", "?"]), ...args);
      c.run(copyToolCallsSql(["?", "?", "?"]), ...args);
      c.run(
        "INSERT INTO events (run_id, type, data, at) VALUES (?, 'run.forked', ?, ?)",
        made.run.id,
        JSON.stringify(forkedEvent(fork.parentRunId, fork.atSeq, copied)),
        made.run.createdAt,
      );
      return { ...made, copied };
    });
  }

  /**
   * Inside a write: creates `run` unless a run with its id exists (NewStep.run: a claim made again); true
   * when it created it (the run has no step yet).
   */
  ensureInWrite(run: NewRun): boolean {
    return this.#insert(run, null, " ON CONFLICT (id) DO NOTHING") !== undefined;
  }

  /** Inside a write: the run of an idempotency key if there is one, else a new run (a fork when `fork`). */
  #create(run: NewRun, fork: NewFork | null): { run: RunRecord; created: boolean } {
    const c = this.#c;
    if (run.idempotencyKey) {
      const existing = c.get(
        "SELECT * FROM runs WHERE tenant=? AND idempotency_key=?",
        run.tenant,
        run.idempotencyKey,
      );
      if (existing) return { run: toRun(existing), created: false };
    }
    return { run: toRun(this.#insert(run, fork, "")!), created: true };
  }

  /** The INSERT of a new run (`onConflict`: a clause after VALUES), its row back when one was inserted. */
  #insert(run: NewRun, fork: NewFork | null, onConflict: string): SqlRow | undefined {
    const now = Date.now();
    return this.#c.get(
      `INSERT INTO runs (id, tenant, mode, status, goal, policy, policy_version, metadata, tools, model,
        implicit, idempotency_key, created_at, updated_at, parent_run_id, forked_at_seq, fork_replace, origin)
        VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)${onConflict} RETURNING *`,
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
      fork?.parentRunId ?? null,
      fork?.atSeq ?? null,
      json(fork?.replace),
      defaultOrigin(run),
    );
  }

  async getRun(tenant: string, id: string): Promise<RunRecord | null> {
    const r = this.#c.read(() => this.#c.get("SELECT * FROM runs WHERE id=? AND tenant=?", id, tenant));
    return r ? toRun(r) : null;
  }

  async getRunById(id: string): Promise<RunRecord | null> {
    const r = this.#c.read(() => this.#c.get("SELECT * FROM runs WHERE id=?", id));
    return r ? toRun(r) : null;
  }

  async listRuns(tenant: string, q: ListRunsQuery): Promise<Page<RunRecord>> {
    const where = ["tenant = ?"];
    const args: SQLInputValue[] = [tenant];
    if (q.status) {
      where.push("status = ?");
      args.push(q.status);
    }
    if (q.origin) {
      where.push("origin = ?");
      args.push(q.origin);
    } else if (!q.includeImplicit) where.push("implicit = 0");
    if (q.parentRunId !== undefined) {
      where.push("parent_run_id = ?");
      args.push(q.parentRunId);
    }
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new InvalidCursorError("cursor is not one this service issued");
      where.push("(created_at < ? OR (created_at = ? AND id < ?))");
      args.push(c[0], c[0], c[1]);
    }
    const sql = `SELECT * FROM runs WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.#c.read(() => this.#c.all(sql, ...args, q.limit + 1));
    const items = rows.slice(0, q.limit).map(toRun);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
  }

  /** Inside a write: updates run `id` (see Store.updateRun), or throws NotFoundError / LeaseLostError. */
  updateInWrite(id: string, patch: RunPatch, leaseOwner?: string): RunRecord {
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
    const now = Date.now();
    set("updated_at", now);
    const c = this.#c;
    const fenced = leaseOwner === undefined ? "" : " AND lease_owner = ? AND lease_expires_at >= ?";
    const fenceArgs: SQLInputValue[] = leaseOwner === undefined ? [] : [leaseOwner, now];
    const r = c.get(
      `UPDATE runs SET ${cols.join(", ")} WHERE id = ?${fenced} RETURNING *`,
      ...args,
      id,
      ...fenceArgs,
    );
    if (r) return toRun(r);
    if (!c.get("SELECT 1 AS x FROM runs WHERE id = ?", id))
      throw new NotFoundError(`run ${id} does not exist`);
    throw new LeaseLostError(`run ${id}: the lease of ${leaseOwner} was lost`);
  }

  async runsByStatus(status: RunStatus): Promise<RunRecord[]> {
    return this.#c
      .read(() => this.#c.all("SELECT * FROM runs WHERE status = ? ORDER BY created_at", status))
      .map(toRun);
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, replaceOwner?: string): Promise<boolean> {
    const now = Date.now();
    const c = this.#c;
    const changed = await c.write(() =>
      c.run(
        `UPDATE runs SET lease_owner=?, lease_expires_at=? WHERE id=?
         AND (lease_owner IS NULL OR lease_owner=? OR lease_owner=? OR lease_expires_at < ?)`,
        owner,
        now + ttlMs,
        runId,
        owner,
        replaceOwner ?? null,
        now,
      ),
    );
    return changed === 1;
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    const c = this.#c;
    await c.write(() =>
      c.run(
        "UPDATE runs SET lease_owner=NULL, lease_expires_at=NULL WHERE id=? AND lease_owner=?",
        runId,
        owner,
      ),
    );
  }
}
