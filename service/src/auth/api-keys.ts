// Creating, listing, revoking and checking API keys; only a salted hash of each key is ever stored.
import type { ApiKeyRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import { mintKey, parseKey, secretMatches } from "./api-key-token.ts";

/** Tenant names: what appears in logs, audits and labels. */
export const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A key as listed: never the secret, never the hash. */
export interface ApiKeyInfo {
  id: string;
  tenant: string;
  policy: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Who an Authorization header says is calling. */
export type Identification =
  | { kind: "anonymous" }
  | { kind: "key"; key: ApiKeyInfo }
  | { kind: "refused"; reason: "missing" | "malformed" | "invalid" | "revoked"; detail: string };

const info = (r: ApiKeyRecord): ApiKeyInfo => ({
  id: r.id,
  tenant: r.tenant,
  policy: r.policy,
  createdAt: r.createdAt,
  revokedAt: r.revokedAt,
});

/** Refused an invalid argument (bad tenant name, unknown key id). */
export class ApiKeyError extends Error {
  override name = "ApiKeyError";
}

/**
 * API keys over the store. Each turn of the event loop that checks a key asks the store once whether the
 * keys changed (SQLite: one cheap statement; PostgreSQL: from memory, moved by NOTIFY; shared by the requests
 * of that turn) and re-reads them only then, so a key created or revoked by another process (the CLI, another
 * replica) counts from the next turn after the store learns of it.
 * @example const { token } = await new ApiKeys(store).create({ tenant: "acme", policy: "research" })
 */
export class ApiKeys {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Creates a key; the returned token is the only time the key exists outside its owner's hands. */
  async create(opts: {
    tenant: string;
    policy: string;
    now?: number;
  }): Promise<{ key: ApiKeyInfo; token: string }> {
    if (!TENANT_RE.test(opts.tenant)) {
      throw new ApiKeyError(
        `invalid tenant "${opts.tenant}": expected 1-64 letters, digits, ".", "_" or "-"`,
      );
    }
    const minted = mintKey();
    const record: ApiKeyRecord = {
      id: minted.id,
      tenant: opts.tenant,
      policy: opts.policy,
      salt: minted.salt,
      hash: minted.hash,
      createdAt: opts.now ?? Date.now(),
      revokedAt: null,
    };
    try {
      await this.#store.putApiKey(record);
    } finally {
      this.#turn = null;
    }
    return { key: info(record), token: minted.token };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.#records()).map(info);
  }

  #cached: { version: string; records: ApiKeyRecord[] } | null = null;
  /**
   * The records as this turn of the event loop checked them. Why: under load a turn parses many requests,
   * and asking the store for the version was one statement (SQLite) or round trip (PostgreSQL) per request;
   * a check is at most a turn old, and this process's own key writes drop it at once.
   */
  #turn: Promise<ApiKeyRecord[]> | null = null;

  /** The key records, re-read only when the store says they changed (checked once per turn). */
  #records(): Promise<ApiKeyRecord[]> {
    if (this.#turn) return this.#turn;
    const turn = this.#check();
    this.#turn = turn;
    setImmediate(() => {
      if (this.#turn === turn) this.#turn = null;
    });
    return turn;
  }

  async #check(): Promise<ApiKeyRecord[]> {
    const version = await this.#store.apiKeysVersion();
    if (this.#cached?.version === version) return this.#cached.records;
    const records = await this.#store.listApiKeys();
    this.#cached = { version, records };
    return records;
  }

  /** Revokes a key by id; false when no such active key exists. */
  async revoke(id: string, now = Date.now()): Promise<boolean> {
    try {
      return await this.#store.revokeApiKey(id, now);
    } finally {
      // A check made while the write was pending saw the keys before it.
      this.#turn = null;
    }
  }

  /** Whether any non-revoked key exists (then every route but /healthz needs one). */
  async anyActive(): Promise<boolean> {
    return (await this.#records()).some((k) => k.revokedAt === null);
  }

  /**
   * Checks an Authorization header value. With no header and no active key the caller is anonymous;
   * a header that is present is always checked (a revoked key never falls back to anonymous).
   */
  async identify(authorization: string | undefined): Promise<Identification> {
    const records = await this.#records();
    if (authorization === undefined || authorization.trim() === "") {
      if (!records.some((k) => k.revokedAt === null)) return { kind: "anonymous" };
      return {
        kind: "refused",
        reason: "missing",
        detail: "this service requires an API key: send Authorization: Bearer <key>",
      };
    }
    const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
    const parsed = m ? parseKey(m[1]!) : null;
    if (!parsed) {
      return {
        kind: "refused",
        reason: "malformed",
        detail: "malformed Authorization header: expected Bearer mend_<id>_<secret>",
      };
    }
    const record = records.find((k) => k.id === parsed.id);
    if (!secretMatches(parsed.secret, record) || !record) {
      return { kind: "refused", reason: "invalid", detail: "the API key is not valid" };
    }
    if (record.revokedAt !== null) {
      return { kind: "refused", reason: "revoked", detail: `API key ${record.id} was revoked` };
    }
    return { kind: "key", key: info(record) };
  }
}
