// The tool-result cache of the PostgreSQL store: TTL, per-tenant keys, LRU eviction inside the writing
// tenant's partition under a global and a per-tenant byte cap (the totals kept by triggers). Every writer of entries locks the cache_total row first: no deadlocks.
import type { CacheEntry, CacheStats } from "../records.ts";
import { num, toCacheEntry, type Row } from "../row-codec.ts";
import type { PgDatabase, Query } from "./pg-database.ts";

/**
 * The cache tables of one database (PostgresStore delegates its cache methods here).
 * @example await new PgCache(db).put(entry, 256 * 1024 * 1024)
 */
export class PgCache {
  readonly #db: PgDatabase;
  readonly #q: Query;

  constructor(db: PgDatabase) {
    this.#db = db;
    this.#q = db.query;
  }

  async #one(sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await this.#q(sql, params)).rows[0];
  }

  async get(
    tenant: string,
    tool: string,
    version: string,
    argsHash: string,
    now: number,
  ): Promise<CacheEntry | null> {
    const key = [tenant, tool, version, argsHash];
    // A miss is one plain read; only a hit records its use.
    const r = await this.#one(
      "SELECT * FROM cache_entries WHERE tenant = $1 AND tool = $2 AND version = $3 AND args_hash = $4 AND expires_at > $5",
      [...key, now],
    );
    if (!r) return null;
    await this.#db.tx(async (q) => {
      await q(
        `UPDATE cache_entries SET hits = hits + 1, last_used_at = $5
         WHERE tenant = $1 AND tool = $2 AND version = $3 AND args_hash = $4`,
        [...key, now],
      );
      await q(
        `INSERT INTO cache_counters (tenant, hits) VALUES ($1, 1)
         ON CONFLICT (tenant) DO UPDATE SET hits = cache_counters.hits + 1`,
        [tenant],
      );
    });
    return toCacheEntry(r);
  }

  async put(e: CacheEntry, maxBytes: number, tenantMaxBytes?: number): Promise<void> {
    await this.flush();
    await this.#db.tx(async (q) => {
      // The entry's creation time is "now" for this write: one clock for expiry and recency, the caller's.
      const now = e.createdAt;
      await q("SELECT bytes FROM cache_total WHERE id = 1 FOR UPDATE");
      await q("DELETE FROM cache_entries WHERE tenant = $1 AND expires_at <= $2", [e.tenant, now]);
      await q(
        `INSERT INTO cache_entries (tenant, tool, version, args_hash, value, size_bytes, created_at, expires_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)
         ON CONFLICT (tenant, tool, version, args_hash) DO UPDATE SET value = excluded.value,
           size_bytes = excluded.size_bytes, created_at = excluded.created_at, expires_at = excluded.expires_at,
           last_used_at = excluded.last_used_at`,
        [
          e.tenant,
          e.tool,
          e.version,
          e.argsHash,
          JSON.stringify(e.value),
          e.sizeBytes,
          e.createdAt,
          e.expiresAt,
        ],
      );
      // LRU eviction inside the writing tenant's partition only, until the whole cache fits its cap and the
      // tenant fits its own (both totals kept by triggers): a flood evicts the flooder's entries only.
      const tenantMax = tenantMaxBytes ?? Number.POSITIVE_INFINITY;
      const r = (
        await q(
          `SELECT (SELECT bytes FROM cache_total WHERE id = 1) AS total,
             (SELECT cache_bytes FROM tenant_usage WHERE tenant = $1) AS mine`,
          [e.tenant],
        )
      ).rows[0];
      let total = num(r?.total);
      let mine = num(r?.mine);
      while (total > maxBytes || mine > tenantMax) {
        const victim = (
          await q(
            `DELETE FROM cache_entries WHERE ctid = (SELECT ctid FROM cache_entries WHERE tenant = $1
               ORDER BY last_used_at LIMIT 1) RETURNING size_bytes`,
            [e.tenant],
          )
        ).rows[0];
        if (!victim) break;
        total -= num(victim.size_bytes);
        mine -= num(victim.size_bytes);
      }
    });
  }

  async stats(tenant: string): Promise<CacheStats> {
    await this.flush();
    const e = await this.#one(
      "SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS b FROM cache_entries WHERE tenant = $1 AND expires_at > $2",
      [tenant, Date.now()],
    );
    const c = await this.#one("SELECT hits, misses FROM cache_counters WHERE tenant = $1", [tenant]);
    return { entries: num(e?.n), bytes: num(e?.b), hits: num(c?.hits), misses: num(c?.misses) };
  }

  /** Counts a miss in memory; written by the next put or stats read, or at close (a statistic, never failing). */
  async countMiss(tenant: string): Promise<void> {
    this.#misses.set(tenant, (this.#misses.get(tenant) ?? 0) + 1);
  }

  readonly #misses = new Map<string, number>();

  /** Writes the misses counted in memory; on a storage fault they stay counted for the next flush. */
  async flush(): Promise<void> {
    if (this.#misses.size === 0) return;
    const pending = [...this.#misses];
    this.#misses.clear();
    let written = 0;
    try {
      for (const [tenant, n] of pending) {
        await this.#q(
          `INSERT INTO cache_counters (tenant, misses) VALUES ($1, $2)
           ON CONFLICT (tenant) DO UPDATE SET misses = cache_counters.misses + EXCLUDED.misses`,
          [tenant, n],
        );
        written++;
      }
    } catch {
      for (const [tenant, n] of pending.slice(written))
        this.#misses.set(tenant, (this.#misses.get(tenant) ?? 0) + n);
    }
  }

  async clear(tenant: string, tool?: string): Promise<number> {
    return this.#db.tx(async (q) => {
      await q("SELECT bytes FROM cache_total WHERE id = 1 FOR UPDATE");
      const r =
        tool === undefined
          ? await q("DELETE FROM cache_entries WHERE tenant = $1", [tenant])
          : await q("DELETE FROM cache_entries WHERE tenant = $1 AND tool = $2", [tenant, tool]);
      return r.rowCount;
    });
  }
}
