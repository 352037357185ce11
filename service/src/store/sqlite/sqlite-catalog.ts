// The tool catalog and API keys in the SQLite store (SqliteStore delegates here), with the versions the
// service's in-memory caches of both are keyed by.
import type { ApiKeyRecord, ToolRecord } from "../records.ts";
import { num, toApiKey, toTool } from "../row-codec.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/**
 * The tools and api_keys tables of one SQLite connection.
 * @example const version = await new SqliteCatalog(connection).toolsVersion()
 */
export class SqliteCatalog {
  readonly #c: SqliteConnection;

  constructor(c: SqliteConnection) {
    this.#c = c;
  }

  async putTool(t: ToolRecord): Promise<void> {
    const c = this.#c;
    await this.#bumpedWrite("tools", () =>
      c.run(
        `INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(tenant, name) DO UPDATE SET spec=excluded.spec, secret=excluded.secret, updated_at=excluded.updated_at`,
        t.tenant,
        t.name,
        JSON.stringify(t.spec),
        t.secret,
        t.createdAt,
        t.updatedAt,
      ),
    );
  }

  async getTool(tenant: string, name: string): Promise<ToolRecord | null> {
    const r = this.#c.read(() => this.#c.get("SELECT * FROM tools WHERE tenant=? AND name=?", tenant, name));
    return r ? toTool(r) : null;
  }

  async listTools(tenant: string): Promise<ToolRecord[]> {
    return this.#c
      .read(() => this.#c.all("SELECT * FROM tools WHERE tenant=? ORDER BY name", tenant))
      .map(toTool);
  }

  async deleteTool(tenant: string, name: string): Promise<boolean> {
    const c = this.#c;
    return (
      (await this.#bumpedWrite("tools", () =>
        c.run("DELETE FROM tools WHERE tenant=? AND name=?", tenant, name),
      )) > 0
    );
  }

  /** Bumped by this connection's own writes of tools and keys (PRAGMA data_version only moves for other connections'). */
  #generations = { tools: 0, keys: 0 };

  /**
   * A write of `kind`'s records (tools, API keys), its generation bumped before it and again once it
   * settled: a list read while it was pending (the old records: a revoked key still valid in them) is cached
   * under the version before the second bump, so it is read again after.
   */
  async #bumpedWrite<T>(kind: "tools" | "keys", fn: () => T): Promise<T> {
    this.#generations[kind]++;
    try {
      return await this.#c.write(fn);
    } finally {
      this.#generations[kind]++;
    }
  }

  async toolsVersion(): Promise<string> {
    return `${this.#dataVersion()}:${this.#generations.tools}`;
  }

  /**
   * PRAGMA data_version of the open connection, with the connection's epoch: the number starts over on a
   * connection opened again after a fault, so without the epoch an old version could come back.
   */
  #dataVersion(): string {
    const dv = num(this.#c.read(() => this.#c.get("PRAGMA data_version"))?.data_version);
    return `${this.#c.epoch}.${dv}`; // read after the PRAGMA: the connection it came from
  }

  async apiKeysVersion(): Promise<string> {
    return `${this.#dataVersion()}:${this.#generations.keys}`;
  }

  async putApiKey(k: ApiKeyRecord): Promise<void> {
    const c = this.#c;
    await this.#bumpedWrite("keys", () =>
      c.run(
        "INSERT INTO api_keys (id, tenant, policy, salt, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        k.id,
        k.tenant,
        k.policy,
        k.salt,
        k.hash,
        k.createdAt,
        k.revokedAt,
      ),
    );
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#c.read(() => this.#c.all("SELECT * FROM api_keys ORDER BY created_at")).map(toApiKey);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const c = this.#c;
    return (
      (await this.#bumpedWrite("keys", () =>
        c.run("UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL", at, id),
      )) > 0
    );
  }
}
