// Replicas on one PostgreSQL database (PostgresStore delegates here): heartbeats that hold leases and step
// ownership, graceful retirement, the takeover sweep's query, cache fill marks and the event channel.
import type { CacheKey } from "../store.ts";
import { str } from "../row-codec.ts";
import type { Query } from "./pg-database.ts";
import type { PgSideConnection } from "./pg-side-connection.ts";

/** The NOTIFY channel of appended events; the payload is the run id. */
export const EVENTS_CHANNEL = "mend_events";

/**
 * The replica tables of one database. The heartbeat runs on the side connection (never queued behind the pool).
 * @example const live = await new PgReplicas(db.query, side).heartbeat("host/12/ab", 2_000)
 */
export class PgReplicas {
  readonly #q: Query;
  readonly #side: PgSideConnection;

  constructor(q: Query, side: PgSideConnection) {
    this.#q = q;
    this.#side = side;
  }

  async heartbeat(id: string, ttlMs: number): Promise<number> {
    const now = Date.now();
    // One statement, so one transaction: data-modifying CTEs run whether or not they are referenced.
    const r = await this.#side.query(
      `WITH me AS (
         INSERT INTO replicas (id, heartbeat_at, ttl_ms, started_at) VALUES ($1, $2, $3, $2)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, ttl_ms = excluded.ttl_ms RETURNING 1),
       leases AS (
         UPDATE runs SET lease_expires_at = $2 + $3 WHERE lease_owner = $1 AND lease_expires_at >= $2 RETURNING 1),
       steps AS (
         UPDATE steps SET heartbeat_at = $2 WHERE owner = $1 AND status = 'started' AND heartbeat_at >= $2 - $3 RETURNING 1)
       SELECT count(*) + 1 AS live FROM replicas WHERE id <> $1 AND heartbeat_at >= $2 - ttl_ms`,
      [id, now, ttlMs],
    );
    return Number(r.rows[0]?.live ?? 1);
  }

  async retire(id: string): Promise<void> {
    await this.#q(
      `WITH leases AS (UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1 RETURNING 1),
       steps AS (UPDATE steps SET heartbeat_at = 0 WHERE owner = $1 AND status = 'started' RETURNING 1),
       fills AS (DELETE FROM cache_fills WHERE owner = $1 RETURNING 1)
       DELETE FROM replicas WHERE id = $1`,
      [id],
    );
  }

  async unleasedRuns(limit: number): Promise<string[]> {
    const r = await this.#q(
      `SELECT id FROM runs WHERE status = 'running' AND mode = 'hosted'
       AND (lease_owner IS NULL OR lease_expires_at < $1) ORDER BY created_at LIMIT $2`,
      [Date.now(), limit],
    );
    return r.rows.map((row) => str(row.id));
  }

  async claimCacheFill(k: CacheKey, owner: string): Promise<boolean> {
    const now = Date.now();
    // Taken over only from an owner that is not a live replica (crashed while filling, or never registered).
    const r = await this.#q(
      `INSERT INTO cache_fills (tenant, tool, version, args_hash, owner, at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant, tool, version, args_hash) DO UPDATE SET owner = excluded.owner, at = excluded.at
       WHERE cache_fills.owner = excluded.owner OR NOT EXISTS (
         SELECT 1 FROM replicas WHERE id = cache_fills.owner AND heartbeat_at >= $6 - ttl_ms)
       RETURNING owner`,
      [k.tenant, k.tool, k.version, k.argsHash, owner, now],
    );
    return r.rowCount === 1;
  }

  async releaseCacheFill(k: CacheKey, owner: string): Promise<void> {
    await this.#q(
      "DELETE FROM cache_fills WHERE tenant = $1 AND tool = $2 AND version = $3 AND args_hash = $4 AND owner = $5",
      [k.tenant, k.tool, k.version, k.argsHash, owner],
    );
  }

  followEvents(fn: (runId: string) => void): Promise<() => Promise<void>> {
    return this.#side.listen(EVENTS_CHANNEL, fn);
  }
}
