// The journal bytes of steps, counted by the SQLite store itself instead of triggers: a claim's insert and a
// step's end are the hottest writes there are (every durable step), and a trigger's run lookup and per-row
// upsert of `tenant_usage` were a quarter of each. The quota is still checked at each write, inside it; the
// bytes reach `tenant_usage` once per transaction, just before its COMMIT. Every statement that inserts or
// updates a step's counted columns counts here (claims, re-claims, ends, interruptions); only a fork's
// copied steps are still counted by a trigger (migrations.ts).
import { QuotaExceededError } from "../store-errors.ts";
import { num, str } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** Runs whose tenant is remembered (a run's tenant never changes; the oldest are forgotten first). */
const TENANTS_KEPT = 4096;

/**
 * The bytes a step counts (its text columns), as SQL over the row's columns: in an UPDATE's SET clause it
 * reads the row before the update (stored in `bytes_before_update`), in RETURNING the row after it.
 */
export const STEP_BYTES_SQL =
  "COALESCE(octet_length(key), 0) + COALESCE(octet_length(input), 0) + COALESCE(octet_length(output), 0) + COALESCE(octet_length(failure), 0) + COALESCE(octet_length(usage), 0) + COALESCE(octet_length(remediation), 0) + COALESCE(octet_length(audit), 0)";

/** What an UPDATE of steps sets and returns so that countUpdate knows how its bytes changed. */
export const STEP_BYTES_SET = `bytes_before_update = ${STEP_BYTES_SQL}`;
export const STEP_BYTES_RETURNING = `bytes_before_update, ${STEP_BYTES_SQL} AS bytes_after_update`;

/**
 * RETURNING term of a step's INSERT or UPDATE: the tenant's room under its journal quota (limit − stored),
 * NULL without a quota; its one parameter is the tenant. Read in the statement itself, it costs no statement.
 */
export const JOURNAL_ROOM_RETURNING =
  "(SELECT journal_limit - journal_bytes FROM tenant_usage WHERE tenant = ?) AS journal_room";

/** Statuses whose growth the quota checks (a refusal — failed, interrupted — is journaled regardless). */
const CHECKED = new Set(["started", "succeeded"]);

/** The bytes a new step counts: its text columns (what the `usage_steps_insert` trigger counts). */
export function stepInsertBytes(cols: readonly (string | null)[]): number {
  let n = 0;
  for (const v of cols) if (v !== null) n += Buffer.byteLength(v, "utf8");
  return n;
}

/**
 * One per connection: `count`/`countUpdate` inside a write, after the statement; the connection calls the rest.
 * Quota semantics are the trigger's: a claim that would take the tenant past `journal_limit` is refused
 * (QuotaExceededError, its write rolls back). The check sees the stored bytes plus the claims counted
 * earlier in the same transaction; the quota checks of the other triggers in that transaction see the
 * claims' bytes only once they are written at its end — at most one transaction of claims (the writes of
 * one turn of the event loop) beyond the limit.
 * @example const usage = new SqliteStepUsage(c); c.write(() => usage.count(tenant, bytes, insert().journal_room))
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

  /**
   * Inside a write, after an UPDATE that set STEP_BYTES_SET and returned STEP_BYTES_RETURNING with
   * `status` (and JOURNAL_ROOM_RETURNING for `tenant`): counts the change, refusing growth past the quota
   * while the step is started or succeeded, like the trigger it replaces.
   */
  countUpdate(tenant: string, row: Record<string, unknown>): void {
    const delta = num(row.bytes_after_update) - num(row.bytes_before_update);
    this.count(tenant, delta, CHECKED.has(str(row.status)) ? row.journal_room : null);
  }

  /**
   * Inside a write: counts `bytes` of a step of `tenant`; `room` is what JOURNAL_ROOM_RETURNING read in the
   * same statement (null: no quota, or not checked). Throws QuotaExceededError past the quota.
   */
  count(tenant: string, bytes: number, room: unknown): void {
    const pending = this.#pending.get(tenant) ?? 0;
    if (bytes > 0 && room !== null && room !== undefined && pending + bytes > num(room))
      throw new QuotaExceededError("journalBytes");
    this.#pending.set(tenant, pending + bytes);
    this.#c.onRollback(() => this.#pending.set(tenant, (this.#pending.get(tenant) ?? 0) - bytes));
  }

  /**
   * The tenant of run `runId` (inside a read or write), or null when no such run exists; `created`: the tenant
   * of a run this write just inserted (known without a read).
   */
  tenantOf(runId: string, created?: string): string | null {
    const known = created ?? this.#tenants.get(runId);
    if (known !== undefined && created === undefined) return known;
    let tenant = known;
    if (tenant === undefined) {
      const r = this.#c.get("SELECT tenant FROM runs WHERE id=?", runId);
      if (!r) return null;
      tenant = str(r.tenant);
    }
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
