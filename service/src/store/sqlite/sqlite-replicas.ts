// The replica contract on SQLite (SqliteStore delegates here): one process owns the data dir, so this is the
// same bookkeeping as on PostgreSQL (heartbeat, retirement, sweep, fill marks) with nobody else to follow.
import type { CacheKey } from "../store.ts";
import { num, str } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/**
 * The replica tables of one SQLite connection.
 * @example const live = await new SqliteReplicas(connection).heartbeat("host/12/ab", 2_000) // 1
 */
export class SqliteReplicas {
  readonly #c: SqliteConnection;

  constructor(c: SqliteConnection) {
    this.#c = c;
  }

  async heartbeat(id: string, ttlMs: number): Promise<number> {
    const c = this.#c;
    const now = Date.now();
    return c.write(() => {
      c.run(
        `INSERT INTO replicas (id, heartbeat_at, ttl_ms, started_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, ttl_ms = excluded.ttl_ms`,
        id,
        now,
        ttlMs,
        now,
      );
      // A lapsed lease or step heartbeat stays lapsed: the run or step may have been taken over meanwhile.
      c.run(
        "UPDATE runs SET lease_expires_at = ? WHERE lease_owner = ? AND lease_expires_at >= ?",
        now + ttlMs,
        id,
        now,
      );
      c.run(
        "UPDATE steps SET heartbeat_at = ? WHERE owner = ? AND status = 'started' AND heartbeat_at >= ?",
        now,
        id,
        now - ttlMs,
      );
      const r = c.get(
        "SELECT count(*) AS n FROM replicas WHERE id <> ? AND heartbeat_at >= ? - ttl_ms",
        id,
        now,
      );
      return num(r?.n) + 1;
    });
  }

  async retire(id: string): Promise<void> {
    const c = this.#c;
    await c.write(() => {
      c.run("UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?", id);
      c.run("UPDATE steps SET heartbeat_at = 0 WHERE owner = ? AND status = 'started'", id);
      c.run("DELETE FROM cache_fills WHERE owner = ?", id);
      c.run("DELETE FROM replicas WHERE id = ?", id);
    });
  }

  async unleasedRuns(limit: number): Promise<string[]> {
    const c = this.#c;
    return c
      .read(() =>
        c.all(
          `SELECT id FROM runs WHERE status = 'running' AND mode = 'hosted'
           AND (lease_owner IS NULL OR lease_expires_at < ?) ORDER BY created_at LIMIT ?`,
          Date.now(),
          limit,
        ),
      )
      .map((r) => str(r.id));
  }

  async claimCacheFill(k: CacheKey, owner: string): Promise<boolean> {
    const c = this.#c;
    const now = Date.now();
    return c.write(
      () =>
        c.get(
          `INSERT INTO cache_fills (tenant, tool, version, args_hash, owner, at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant, tool, version, args_hash) DO UPDATE SET owner = excluded.owner, at = excluded.at
           WHERE cache_fills.owner = excluded.owner OR NOT EXISTS (
             SELECT 1 FROM replicas WHERE id = cache_fills.owner AND heartbeat_at >= ? - ttl_ms)
           RETURNING owner`,
          k.tenant,
          k.tool,
          k.version,
          k.argsHash,
          owner,
          now,
          now,
        ) !== undefined,
    );
  }

  async releaseCacheFill(k: CacheKey, owner: string): Promise<void> {
    const c = this.#c;
    await c.write(() =>
      c.run(
        "DELETE FROM cache_fills WHERE tenant = ? AND tool = ? AND version = ? AND args_hash = ? AND owner = ?",
        k.tenant,
        k.tool,
        k.version,
        k.argsHash,
        owner,
      ),
    );
  }
}
