// The tool catalog and API keys in the PostgreSQL store (PostgresStore delegates here); every write moves the
// catalog's version (pg-catalog-versions.ts), which the other replicas hear of through NOTIFY.
import type { ApiKeyRecord, ToolRecord } from "../records.ts";
import { toApiKey, toTool } from "../row-codec.ts";
import type { Query } from "./pg-database.ts";
import type { PgCatalogVersions } from "./pg-catalog-versions.ts";

/**
 * The tools and api_keys tables of one PostgreSQL database.
 * @example await new PgCatalog(db.query, versions).putTool(tool)
 */
export class PgCatalog {
  readonly #q: Query;
  readonly #versions: PgCatalogVersions;

  constructor(q: Query, versions: PgCatalogVersions) {
    this.#q = q;
    this.#versions = versions;
  }

  async #one(sql: string, params: unknown[]) {
    return (await this.#q(sql, params)).rows[0];
  }

  async putTool(t: ToolRecord): Promise<void> {
    await this.#versions.write("tools", () =>
      this.#q(
        `INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant, name) DO UPDATE SET spec = excluded.spec, secret = excluded.secret, updated_at = excluded.updated_at`,
        [t.tenant, t.name, JSON.stringify(t.spec), t.secret, t.createdAt, t.updatedAt],
      ),
    );
  }

  async getTool(tenant: string, name: string): Promise<ToolRecord | null> {
    const r = await this.#one("SELECT * FROM tools WHERE tenant = $1 AND name = $2", [tenant, name]);
    return r ? toTool(r) : null;
  }

  async listTools(tenant: string): Promise<ToolRecord[]> {
    return (await this.#q("SELECT * FROM tools WHERE tenant = $1 ORDER BY name", [tenant])).rows.map(toTool);
  }

  async deleteTool(tenant: string, name: string): Promise<boolean> {
    const r = await this.#versions.write("tools", () =>
      this.#q("DELETE FROM tools WHERE tenant = $1 AND name = $2", [tenant, name]),
    );
    return r.rowCount > 0;
  }

  /** From memory (pg-catalog-versions.ts); null while the side connection is not listening. */
  async toolsVersion(): Promise<string | null> {
    return this.#versions.version("tools");
  }

  /** From memory (pg-catalog-versions.ts); a value never answered before while not listening. */
  async apiKeysVersion(): Promise<string> {
    return this.#versions.keysVersion();
  }

  async putApiKey(k: ApiKeyRecord): Promise<void> {
    await this.#versions.write("keys", () =>
      this.#q(
        "INSERT INTO api_keys (id, tenant, policy, salt, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [k.id, k.tenant, k.policy, k.salt, k.hash, k.createdAt, k.revokedAt],
      ),
    );
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.#q("SELECT * FROM api_keys ORDER BY created_at, id")).rows.map(toApiKey);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const r = await this.#versions.write("keys", () =>
      this.#q("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [at, id]),
    );
    return r.rowCount > 0;
  }
}
