// Steps in the PostgreSQL store (PostgresStore delegates here): claims serialised by the run's row lock (seq =
// max + 1 is safe under it), ends fenced by attempt with their tool calls in the same transaction, reads,
// heartbeats, and the interruption of steps a stopped replica left started.
import type { EventRecord, StepRecord, ToolCallRow } from "../records.ts";
import type { Announced, NewStep, StepClaim, StepEnd } from "../store.ts";
import { FencedError, LeaseLostError, NotFoundError, RunFinishedError } from "../store-errors.ts";
import { FINISHED_RUNS } from "../records.ts";
import { ownedByAnother } from "../step-ownership.ts";
import { INTERRUPTED_BY_SHUTDOWN, json, num, toStep, type Row } from "../row-codec.ts";
import type { PgDatabase, Query } from "./pg-database.ts";
import type { PgRuns } from "./pg-runs.ts";
import { appendIn } from "./pg-events.ts";

/**
 * The steps table of one PostgreSQL database.
 * @example const claim = await new PgSteps(db, runs).claimStep(step)
 */
export class PgSteps {
  readonly #db: PgDatabase;
  readonly #q: Query;
  readonly #runs: PgRuns;

  constructor(db: PgDatabase, runs: PgRuns) {
    this.#db = db;
    this.#q = db.query;
    this.#runs = runs;
  }

  async #one(sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await this.#q(sql, params)).rows[0];
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

/** The upsert of one tool call's row (its parameters: toolCallValues). */
export const TOOL_CALL_UPSERT = `INSERT INTO tool_calls (run_id, step_seq, seq, tool, args_json, occurrence, status, output, failure, ms, cached)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
  ON CONFLICT (run_id, step_seq, tool, args_md5, occurrence) DO UPDATE SET seq = excluded.seq,
    status = excluded.status, output = excluded.output, failure = excluded.failure, ms = excluded.ms,
    cached = excluded.cached`;

/** The parameters of TOOL_CALL_UPSERT. */
export function toolCallValues(t: ToolCallRow): unknown[] {
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
