// The tool-result cache of the SQLite store: TTL, per-tenant keys, LRU eviction inside the writing tenant's
// partition under a global and a per-tenant byte cap (the totals kept by triggers), hit/miss counters.
import type { CacheEntry, CacheStats } from "../records.ts";
import { num, toCacheEntry } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/**
 * The cache tables of one SQLite connection (SqliteStore delegates its cache methods here).
 * @example await new SqliteCache(connection).put(entry, 256 * 1024 * 1024)
 */
export class SqliteCache {
  readonly #c: SqliteConnection;

  constructor(c: SqliteConnection) {
    this.#c = c;
  }

  async get(
    tenant: string,
    tool: string,
    version: string,
    argsHash: string,
    now: number,
  ): Promise<CacheEntry | null> {
    const c = this.#c;
    // A miss is one plain read (no write lock); only a hit records its use.
    const r = c.read(() =>
      c.get(
        "SELECT * FROM cache_entries WHERE tenant=? AND tool=? AND version=? AND args_hash=? AND expires_at > ?",
        tenant,
        tool,
        version,
        argsHash,
        now,
      ),
    );
    if (!r) return null;
    await c.write(() => {
      this.#flushMisses();
      c.run(
        "UPDATE cache_entries SET hits=hits+1, last_used_at=? WHERE tenant=? AND tool=? AND version=? AND args_hash=?",
        now,
        tenant,
        tool,
        version,
        argsHash,
      );
      c.run(
        "INSERT INTO cache_counters (tenant, hits) VALUES (?, 1) ON CONFLICT(tenant) DO UPDATE SET hits=hits+1",
        tenant,
      );
    });
    return toCacheEntry(r);
  }

  async put(e: CacheEntry, maxBytes: number, tenantMaxBytes?: number): Promise<void> {
    const c = this.#c;
    await c.write(() => {
      // The entry's creation time is "now" for this write: one clock for expiry and recency, the caller's.
      // Expired entries are never read (the lookup filters on expires_at); they are swept only when the cache
      // is over its cap, so a write is two statements, not four.
      const now = e.createdAt;
      this.#flushMisses();
      c.run(
        `INSERT INTO cache_entries (tenant, tool, version, args_hash, value, size_bytes, created_at, expires_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, tool, version, args_hash) DO UPDATE SET value=excluded.value, size_bytes=excluded.size_bytes,
           created_at=excluded.created_at, expires_at=excluded.expires_at, last_used_at=excluded.last_used_at`,
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
      // LRU eviction inside the writing tenant's partition only, until the whole cache fits its cap and the
      // tenant fits its own (both totals kept by triggers): a flood evicts the flooder's entries, never
      // another tenant's.
      const tenantMax = tenantMaxBytes ?? Number.POSITIVE_INFINITY;
      const totals = () => {
        const r = c.get(
          "SELECT (SELECT bytes FROM cache_total WHERE id = 1) AS total, (SELECT cache_bytes FROM tenant_usage WHERE tenant = ?) AS mine",
          e.tenant,
        );
        return { total: num(r?.total), mine: num(r?.mine) };
      };
      let t = totals();
      if (t.total > maxBytes || t.mine > tenantMax) {
        c.run("DELETE FROM cache_entries WHERE tenant = ? AND expires_at <= ?", e.tenant, now);
        t = totals();
      }
      while (t.total > maxBytes || t.mine > tenantMax) {
        const victim = c.get(
          "SELECT tool, version, args_hash, size_bytes FROM cache_entries WHERE tenant = ? ORDER BY last_used_at LIMIT 1",
          e.tenant,
        );
        if (!victim) break;
        c.run(
          "DELETE FROM cache_entries WHERE tenant=? AND tool=? AND version=? AND args_hash=?",
          e.tenant,
          victim.tool!,
          victim.version!,
          victim.args_hash!,
        );
        t = { total: t.total - num(victim.size_bytes), mine: t.mine - num(victim.size_bytes) };
      }
    });
  }

  async stats(tenant: string): Promise<CacheStats> {
    const c = this.#c;
    if (this.#misses.size > 0) await c.write(() => this.#flushMisses());
    return c.read(() => {
      const e = c.get(
        "SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes),0) AS b FROM cache_entries WHERE tenant=? AND expires_at > ?",
        tenant,
        Date.now(),
      );
      const k = c.get("SELECT hits, misses FROM cache_counters WHERE tenant=?", tenant);
      return { entries: num(e?.n), bytes: num(e?.b), hits: num(k?.hits), misses: num(k?.misses) };
    });
  }

  /**
   * Counts a miss in memory; the counts reach the table with the next write of the cache (a put, a hit) or a
   * stats read — a miss costs no statement of its own, and a crash loses at most the misses since.
   */
  async countMiss(tenant: string): Promise<void> {
    this.#misses.set(tenant, (this.#misses.get(tenant) ?? 0) + 1);
  }

  readonly #misses = new Map<string, number>();

  /** Writes the misses counted in memory (at close). */
  async flush(): Promise<void> {
    if (this.#misses.size > 0) await this.#c.write(() => this.#flushMisses());
  }

  /** Writes the counted misses (inside a write of the caller). */
  #flushMisses(): void {
    for (const [tenant, n] of this.#misses) {
      this.#c.run(
        "INSERT INTO cache_counters (tenant, misses) VALUES (?, ?) ON CONFLICT(tenant) DO UPDATE SET misses=misses+excluded.misses",
        tenant,
        n,
      );
    }
    this.#misses.clear();
  }

  async clear(tenant: string, tool?: string): Promise<number> {
    const c = this.#c;
    return c.write(() =>
      tool === undefined
        ? c.run("DELETE FROM cache_entries WHERE tenant=?", tenant)
        : c.run("DELETE FROM cache_entries WHERE tenant=? AND tool=?", tenant, tool),
    );
  }
}
