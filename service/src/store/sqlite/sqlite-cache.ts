// The tool-result cache of the SQLite store: TTL, per-tenant keys, LRU eviction inside the writing tenant's
// partition under a global and a per-tenant byte cap (the totals kept by triggers), hit/miss counters; puts
// queued to ride in the transaction of the tool call they belong to.
import type { CacheEntry, CacheStats } from "../records.ts";
import { num, toCacheEntry } from "../row-codec.ts";
import { sqliteFault, type SqliteConnection } from "./sqlite-connection.ts";

/**
 * Most time a queued put waits for a write to ride in (a tool call's record, a step's end) before it is
 * written on its own, in ms: a cache entry is no acknowledged write, and the end of a short execution
 * carrying its calls' entries saves one transaction per call.
 */
const QUEUE_MAX_DELAY_MS = 100;

/** A put waiting for the transaction that writes it. */
interface QueuedPut {
  e: CacheEntry;
  maxBytes: number;
  tenantMaxBytes: number | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

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
    // A lookup of a queued key, or of a tenant whose queued puts may evict, writes the queue first: it must
    // find what was put, and not find what that put evicted. Other lookups read past the queue (it holds
    // neither their key nor a write that could remove it), so a run of misses writes nothing in between.
    // (A queue that cannot be written rejected its puts: there is nothing more to find.)
    const mine = this.#queued.filter(({ e }) => e.tenant === tenant);
    const same = ({ e }: QueuedPut): boolean =>
      e.tool === tool && e.version === version && e.argsHash === argsHash;
    if (mine.length > 0 && (mine.some(same) || this.#mayEvict(tenant, mine)))
      await this.settle().catch(() => undefined);
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
    await this.writeWith(() => {
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

  /**
   * Queues the entry: it is written inside the next tool-call record's transaction (the call it is the result of
   * is journaled right after it), or in a write of its own at the next turn of the event loop when none comes;
   * the promise settles with that transaction. Lookups of its tenant, stats, usage and clears write the queue
   * first, so the cache reads as if the put had committed.
   */
  put(e: CacheEntry, maxBytes: number, tenantMaxBytes?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ e, maxBytes, tenantMaxBytes, resolve, reject });
      if (this.#queued.length === 1) {
        // Bounded delay: the tool call's record (or the step end that carries it) usually takes the queue first.
        setTimeout(() => {
          if (this.#queued.length === 0) return;
          // A write that fails before it could take the queue (a read-only or full disk) fails its puts.
          this.writeWith(() => undefined).catch((error: unknown) => {
            for (const q of this.#queued.splice(0)) q.reject(error);
          });
        }, QUEUE_MAX_DELAY_MS);
      }
    });
  }

  /**
   * True unless the in-memory bounds show that writing `queued` (puts of `tenant`) evicts nothing of the tenant:
   * eviction happens only inside the writing tenant's partition, when a cap would be passed.
   */
  #mayEvict(tenant: string, queued: QueuedPut[]): boolean {
    const mine = this.#mine.get(tenant);
    if (this.#total === undefined || mine === undefined) return true;
    const all = this.#queued.reduce((n, q) => n + q.e.sizeBytes, 0);
    const own = queued.reduce((n, q) => n + q.e.sizeBytes, 0);
    return queued.some(
      (q) => this.#total! + all > q.maxBytes || mine + own > (q.tenantMaxBytes ?? Number.POSITIVE_INFINITY),
    );
  }

  /** Entries put but not yet written, with their callers' promises. */
  readonly #queued: QueuedPut[] = [];

  /**
   * Writes the counted misses and the queued entries, inside a write of the caller; call what it returns with
   * that write's outcome (no error: committed). A storage fault rejects every queued put and propagates (the
   * caller's write fails with it); any other error fails that entry's put only.
   */
  applyQueued(): (error?: unknown) => void {
    this.#flushMisses();
    const taken = this.#queued.splice(0);
    const own = new Map<QueuedPut, unknown>();
    for (const q of taken) {
      try {
        this.#store(q.e, q.maxBytes, q.tenantMaxBytes);
      } catch (error) {
        // the in-memory totals may now count writes that will not commit: read them again next time
        this.#forgetTotals();
        if (sqliteFault(error)) {
          for (const t of taken) t.reject(error);
          throw error;
        }
        own.set(q, error);
      }
    }
    return (error) => {
      // a rolled-back transaction took these puts (and their evictions) with it
      if (error !== undefined) this.#forgetTotals();
      for (const q of taken) {
        const failed = error ?? own.get(q);
        if (failed === undefined) q.resolve();
        else q.reject(failed);
      }
    };
  }

  /** Drops the in-memory byte bounds, so the next put reads the committed totals (after a rollback). */
  #forgetTotals(): void {
    this.#total = undefined;
    this.#mine.clear();
  }

  /** One write that first writes the queue (and the counted misses), then runs `fn`. */
  async writeWith<T>(fn: () => T): Promise<T> {
    let settle: ((error?: unknown) => void) | undefined;
    try {
      const value = await this.#c.write(() => {
        settle = this.applyQueued();
        return fn();
      });
      settle?.();
      return value;
    } catch (error) {
      settle?.(error);
      throw error;
    }
  }

  /** Writes the queue now if anything is queued (before a read that must see it). */
  async settle(): Promise<void> {
    if (this.#queued.length > 0 || this.#misses.size > 0) await this.writeWith(() => undefined);
  }

  /**
   * Upper bounds of the cache's byte totals (global, per tenant) as of this process's last read of them plus
   * what it stored since: only this process writes the file, and only its puts add bytes, so a put that
   * keeps both under their caps needs no read of the totals (the triggers keep the true ones).
   */
  #total: number | undefined;
  readonly #mine = new Map<string, number>();

  #store(e: CacheEntry, maxBytes: number, tenantMaxBytes: number | undefined): void {
    const c = this.#c;
    // The entry's creation time is "now" for this write: one clock for expiry and recency, the caller's.
    // Expired entries are never read (the lookup filters on expires_at); they are swept only when the cache
    // is over its cap, so a write is one statement, not four.
    const now = e.createdAt;
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
    const tenantMax = tenantMaxBytes ?? Number.POSITIVE_INFINITY;
    const mine = this.#mine.get(e.tenant);
    if (this.#total !== undefined && mine !== undefined) {
      const bound = { total: this.#total + e.sizeBytes, mine: mine + e.sizeBytes };
      if (bound.total <= maxBytes && bound.mine <= tenantMax) {
        this.#total = bound.total;
        this.#mine.set(e.tenant, bound.mine);
        return;
      }
    }
    // LRU eviction inside the writing tenant's partition only, until the whole cache fits its cap and the
    // tenant fits its own (both totals kept by triggers): a flood evicts the flooder's entries, never
    // another tenant's.
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
    this.#total = t.total;
    this.#mine.set(e.tenant, t.mine);
  }

  async stats(tenant: string): Promise<CacheStats> {
    const c = this.#c;
    await this.settle();
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

  /** Writes the queued entries and the misses counted in memory (at close). */
  async flush(): Promise<void> {
    await this.settle();
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
    // Entries put before the clear are cleared with the rest.
    return this.writeWith(() => {
      return tool === undefined
        ? c.run("DELETE FROM cache_entries WHERE tenant=?", tenant)
        : c.run("DELETE FROM cache_entries WHERE tenant=? AND tool=?", tenant, tool);
    });
  }
}
