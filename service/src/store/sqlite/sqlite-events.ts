// Events in the SQLite store: appended inside the write that makes them (an event's id is its row's, so ids
// ascend in commit order), and read back after an id.
import type { EventRecord } from "../records.ts";
import { num, parse, str } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** Appends an event inside the current write (its id is the row's, in commit order). */
export function appendEvent(
  c: SqliteConnection,
  runId: string,
  ev: { type: string; data: unknown },
  at: number,
): EventRecord {
  const id = c.insert(
    "INSERT INTO events (run_id, type, data, at) VALUES (?, ?, ?, ?)",
    runId,
    ev.type,
    JSON.stringify(ev.data ?? null),
    at,
  );
  return { id, runId, type: ev.type, data: ev.data, at };
}

/** Appends two events inside the current write, in this order (ids ascend with the rows' order). */
export function appendTwoEvents(
  c: SqliteConnection,
  runId: string,
  a: { type: string; data: unknown },
  b: { type: string; data: unknown },
  at: number,
): [EventRecord, EventRecord] {
  // The two rows of one INSERT take consecutive ids, in the order of its VALUES.
  const last = c.insert(
    "INSERT INTO events (run_id, type, data, at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
    runId,
    a.type,
    JSON.stringify(a.data ?? null),
    at,
    runId,
    b.type,
    JSON.stringify(b.data ?? null),
    at,
  );
  return [
    { id: last - 1, runId, type: a.type, data: a.data, at },
    { id: last, runId, type: b.type, data: b.data, at },
  ];
}

/** A run's events after `afterId`, in order. */
export function listEvents(c: SqliteConnection, runId: string, afterId: number): EventRecord[] {
  return c
    .read(() => c.all("SELECT * FROM events WHERE run_id=? AND id>? ORDER BY id", runId, afterId))
    .map((r) => ({ id: num(r.id), runId, type: str(r.type), data: parse(r.data), at: num(r.at) }));
}
