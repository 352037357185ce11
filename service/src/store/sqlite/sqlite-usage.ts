// What each tenant stores in the SQLite store (`tenant_usage`, kept by the migrations' triggers) and the
// quotas those triggers enforce.
import type { TenantUsage } from "../records.ts";
import { toTenantUsage } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/**
 * The usage table of one SQLite connection (SqliteStore delegates its usage methods here).
 * @example await new SqliteUsage(connection).setQuota("acme", { journalBytes: 1 << 30, blobBytes: null })
 */
export class SqliteUsage {
  readonly #c: SqliteConnection;

  constructor(c: SqliteConnection) {
    this.#c = c;
  }

  async setQuota(tenant: string, quota: TenantUsage["quota"]): Promise<void> {
    const c = this.#c;
    await c.write(() =>
      c.run(
        `INSERT INTO tenant_usage (tenant, journal_limit, blob_limit) VALUES (?, ?, ?)
         ON CONFLICT (tenant) DO UPDATE SET journal_limit = excluded.journal_limit, blob_limit = excluded.blob_limit`,
        tenant,
        quota.journalBytes,
        quota.blobBytes,
      ),
    );
  }

  async usage(tenant: string): Promise<TenantUsage> {
    const r = this.#c.read(() => this.#c.get("SELECT * FROM tenant_usage WHERE tenant = ?", tenant));
    return toTenantUsage(r ?? { tenant });
  }

  async list(): Promise<TenantUsage[]> {
    return this.#c.read(() => this.#c.all("SELECT * FROM tenant_usage ORDER BY tenant")).map(toTenantUsage);
  }
}
