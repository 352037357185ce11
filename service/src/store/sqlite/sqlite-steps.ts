// Steps in the SQLite store (SqliteStore delegates here): claims (a new key is its run's next seq), ends
// fenced by attempt, reads, heartbeats, and the interruption of steps a stopped service left started.
import type { EventRecord, StepRecord } from "../records.ts";
import type { NewStep, StepClaim, StepEnd } from "../store.ts";
import { ownedByAnother } from "../step-ownership.ts";
import { FencedError, LeaseLostError, NotFoundError, RunFinishedError } from "../store-errors.ts";
import { FINISHED_RUNS } from "../records.ts";
import { INTERRUPTED_BY_SHUTDOWN, json, num, parse, str, toStep } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";
import type { SqliteRuns } from "./sqlite-runs.ts";
import { appendEvent, appendTwoEvents } from "./sqlite-events.ts";
import {
  type SqliteStepUsage,
  JOURNAL_ROOM_RETURNING,
  STEP_BYTES_RETURNING,
  STEP_BYTES_SET,
  stepInsertBytes,
} from "./sqlite-step-usage.ts";

/** The seq of a run's next step. */
const NEXT_SEQ_SQL = "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM steps WHERE run_id=?";

/** SQLite's extended result code of a foreign-key violation (here: a step of a run that does not exist). */
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
/** SQLite's extended result code of a primary-key violation (here: a seq another connection took first). */
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;

/** Runs whose last seq is remembered (the oldest are forgotten first; a forgotten run reads MAX(seq) again). */
const SEQS_KEPT = 4096;

/**
 * The steps table of one SQLite connection. `…InWrite` methods run inside the caller's `write()`, so a claim
 * or an end commits with whatever else that transaction holds (events, tool calls, cache entries).
 * @example const claim = await connection.write(() => steps.claimInWrite(step))
 */
export class SqliteSteps {
  readonly #c: SqliteConnection;
  readonly #runs: SqliteRuns;
  readonly #stepUsage: SqliteStepUsage;
  /**
   * run id → the highest seq this connection inserted, so a run's next claim needs no `MAX(seq)` (a
   * statement of every claim, ~30 µs of a checkpoint's ~300 here). It can only be behind the table when
   * another connection inserted into the run — its seq then collides with the primary key, and the claim
   * reads MAX(seq) and tries again — and never ahead of it: a rolled-back insert forgets its run (a
   * savepoint's rollback) or every run (a transaction's), and steps are never deleted.
   */
  readonly #lastSeqs = new Map<string, number>();

  constructor(c: SqliteConnection, runs: SqliteRuns, stepUsage: SqliteStepUsage) {
    this.#c = c;
    this.#runs = runs;
    this.#stepUsage = stepUsage;
    c.participate({ beforeCommit: () => {}, rolledBack: () => this.#lastSeqs.clear() });
  }

  /** Inside a write: the seq of run `runId`'s next new step (`created`: the run is new in this write). */
  #nextSeq(runId: string, created: boolean): number {
    if (created) return 1;
    const last = this.#lastSeqs.get(runId);
    return last !== undefined ? last + 1 : num(this.#c.get(NEXT_SEQ_SQL, runId)?.next);
  }

  /** Inside a write, after a new step's row was inserted: remembers its seq until a rollback undoes it. */
  #inserted(runId: string, seq: number): void {
    const m = this.#lastSeqs;
    m.delete(runId); // re-inserted last: the map's order is the order runs were last claimed in
    if (m.size >= SEQS_KEPT) m.delete(m.keys().next().value!);
    m.set(runId, seq);
    this.#c.onRollback(() => m.delete(runId));
  }

  /** Inside a write: claims `step` (Store.claimStep). */
  claimInWrite(step: NewStep): StepClaim {
    const c = this.#c;
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
    let inserted: StepRecord | null = null;
    try {
      // A new key (the common case) is the run's next seq, then one insert returning the tenant's journal
      // room (its record is built below); a key that exists already inserts nothing (ON CONFLICT) and is
      // handled below. The run must exist (foreign
      // key). The seq is remembered from this connection's last insert into the run, else read by a
      // statement of its own: as a subquery of the INSERT's VALUES, SQLite prepared the whole INSERT (its
      // triggers and checks) again at every execution — 5× its cost.
      let seq = this.#nextSeq(step.runId, created);
      // With `end`, the row is inserted ended (one statement, one pass of the usage trigger).
      const end = step.end;
      const input = json(step.input);
      const remediation = json(step.remediation);
      const audit = json(end?.audit ?? step.audit);
      const output = json(end?.output);
      const failure = json(end?.failure);
      const usage = json(end?.usage);
      tenant = this.#stepUsage.tenantOf(step.runId, created ? step.run!.tenant : undefined);
      const insert = () =>
        c.get(
          `INSERT INTO steps (run_id, seq, key, kind, status, attempt, input, started_at, remediation, audit,
             owner, heartbeat_at, output, failure, usage, cached, ended_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, key) DO NOTHING RETURNING ${JOURNAL_ROOM_RETURNING}`,
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
      try {
        row = insert();
      } catch (e) {
        // The remembered seq was taken by another connection's insert: read the table's and try once more.
        if ((e as { errcode?: number }).errcode !== SQLITE_CONSTRAINT_PRIMARYKEY || created) throw e;
        this.#lastSeqs.delete(step.runId);
        seq = this.#nextSeq(step.runId, false);
        row = insert();
      }
      // Counted here, not by a trigger (sqlite-step-usage.ts); a key that exists inserted nothing. Without
      // a run (tenant null) the foreign key refused the insert already.
      if (row) {
        this.#inserted(step.runId, seq);
        this.#stepUsage.count(
          tenant!,
          stepInsertBytes([step.key, input, output, failure, usage, remediation, audit]),
          row.journal_room,
        );
        // The record of the row as inserted, from the values bound (JSON read back from the text stored, as
        // a read would): `RETURNING *` made SQLite hand back every column as JS values, ~8 µs of a claim.
        inserted = {
          runId: step.runId,
          seq,
          key: step.key,
          kind: step.kind,
          status: end ? end.status : "started",
          attempt: 1,
          input: parse(input),
          output: parse(output),
          failure: parse(failure),
          cached: end?.cached === true,
          startedAt: now,
          endedAt: end ? now : null,
          usage: parse(usage),
          remediation: parse(remediation),
          audit: parse(audit),
          owner,
          heartbeatAt: now,
          replayedFrom: null,
        };
      }
    } catch (e) {
      if ((e as { errcode?: number }).errcode === SQLITE_CONSTRAINT_FOREIGNKEY)
        throw new NotFoundError(`run ${step.runId} does not exist`);
      throw e;
    }
    if (inserted) {
      claimed = inserted;
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
      const [announced, endAnnounced] = appendTwoEvents(
        c,
        claimed.runId,
        step.announce(claimed),
        step.end.announce(claimed),
        now,
      );
      return { kind: "claimed", step: claimed, previousAttempt, announced, endAnnounced };
    }
    const announced = step.announce ? appendEvent(c, claimed.runId, step.announce(claimed), now) : undefined;
    let endAnnounced: EventRecord | undefined;
    if (step.end) {
      // A re-claimed key is ended by a second statement; a new one was inserted ended.
      if (previousAttempt)
        claimed = this.endInWrite(claimed.runId, claimed.seq, step.end, now, claimed.attempt);
      if (step.end.announce) endAnnounced = appendEvent(c, claimed.runId, step.end.announce(claimed), now);
    }
    return {
      kind: "claimed",
      step: claimed,
      previousAttempt,
      ...(announced ? { announced } : {}),
      ...(endAnnounced ? { endAnnounced } : {}),
    };
  }

  /** Inside a write: ends step `seq` (fenced to `attempt` while started when given), or throws. */
  endInWrite(
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
}
