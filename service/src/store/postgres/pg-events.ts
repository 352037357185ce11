// Events in the PostgreSQL store: appended under a per-run advisory lock (ids commit in order) with a NOTIFY
// that other replicas' followers wake on, and read back after an id.
import type { EventRecord } from "../records.ts";
import { num, parse, str } from "../row-codec.ts";
import type { Query } from "./pg-database.ts";
import { EVENTS_CHANNEL } from "./pg-replicas.ts";

/**
 * Appends an event (inside a transaction when `q` is one). The per-run advisory lock is held until the
 * statement's transaction commits: a reader never sees id n+1 before id n. The NOTIFY is delivered at the
 * same commit, so a follower on another replica that reads after it sees the event.
 */
export async function appendIn(
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

/** A run's events after `afterId`, in order. */
export async function listEvents(q: Query, runId: string, afterId: number): Promise<EventRecord[]> {
  const r = await q("SELECT * FROM events WHERE run_id = $1 AND id > $2 ORDER BY id", [runId, afterId]);
  return r.rows.map((e) => ({
    id: num(e.id),
    runId,
    type: str(e.type),
    data: parse(e.data),
    at: num(e.at),
  }));
}
