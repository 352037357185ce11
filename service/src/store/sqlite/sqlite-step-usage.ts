// The journal bytes of claimed steps, counted by the SQLite store itself instead of a trigger: a claim's
// insert is the hottest write there is (every durable step), and the trigger's run lookup and per-row
// upsert of `tenant_usage` were a quarter of its cost. The quota is still checked at each claim, inside
// its write; the bytes reach `tenant_usage` once per transaction, just before its COMMIT.
import { QuotaExceededError } from "../store-errors.ts";
import { num, str } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** Runs whose tenant is remembered (a run's tenant never changes; the oldest are forgotten first). */
const TENANTS_KEPT = 4096;

/** The bytes the `usage_steps_insert` trigger (migrations.ts) counts of a new step: its text columns. */
export function stepInsertBytes(cols: readonly (string | null)[]): number {
  let n = 0;
  for (const v of cols) if (v !== null) n += Buffer.byteLength(v, "utf8");
  return n;
}

/**
 * One per connection. `count` inside a claim's write, after its insert; the connection calls the rest.
 * Quota semantics are the trigger's: a claim that would take the tenant past `journal_limit` is refused
 * (QuotaExceededError, its write rolls back). The check sees the stored bytes plus the claims counted
 * earlier in the same transaction; the quota checks of the other triggers in that transaction see the
 * claims' bytes only once they are written at its end — at most one transaction of claims (the writes of
 * one turn of the event loop) beyond the limit.
 * @example const usage = new SqliteStepUsage(c); c.write(() => { insert(); usage.count(runId, bytes); })
 */
export class SqliteStepUsage {
  readonly #c: SqliteConnection;
  readonly #tenants = new Map<string, string>();
  /** tenant → bytes counted in the open transaction, not yet in `tenant_usage`. */
  readonly #pending = new Map<string, number>();

  constructor(c: SqliteConnection) {
    this.#c = c;
    c.participate({
      beforeCommit: () => this.#write(),
      rolledBack: () => this.#pending.clear(),
    });
  }

  /** Inside a write: counts `bytes` of a step of `runId` for its tenant, or throws past the quota. */
  count(runId: string, bytes: number): void {
    const c = this.#c;
    const tenant = this.#tenantOf(runId);
    if (tenant === null) return; // no such run: the insert's foreign key refused it already
    const pending = this.#pending.get(tenant) ?? 0;
    if (bytes > 0) {
      const u = c.get("SELECT journal_bytes, journal_limit FROM tenant_usage WHERE tenant=?", tenant);
      if (u && u.journal_limit !== null && num(u.journal_bytes) + pending + bytes > num(u.journal_limit))
        throw new QuotaExceededError("journalBytes");
    }
    this.#pending.set(tenant, pending + bytes);
    c.onRollback(() => this.#pending.set(tenant, (this.#pending.get(tenant) ?? 0) - bytes));
  }

  #tenantOf(runId: string): string | null {
    const known = this.#tenants.get(runId);
    if (known !== undefined) return known;
    const r = this.#c.get("SELECT tenant FROM runs WHERE id=?", runId);
    if (!r) return null;
    const tenant = str(r.tenant);
    if (this.#tenants.size >= TENANTS_KEPT) this.#tenants.delete(this.#tenants.keys().next().value!);
    this.#tenants.set(runId, tenant);
    return tenant;
  }

  #write(): void {
    for (const [tenant, bytes] of this.#pending) {
      if (bytes === 0) continue;
      this.#c.run(
        `INSERT INTO tenant_usage (tenant, journal_bytes) VALUES (?, ?)
         ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes`,
        tenant,
        bytes,
      );
    }
    this.#pending.clear();
  }
}
