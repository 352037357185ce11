// The PostgreSQL connection pool behind the store (driver: `pg`, chosen by test/bench/postgres-drivers.ts):
// prepared statements, transactions, versioned migrations under an advisory lock, and storage faults made
// explicit (StorageUnavailableError) instead of raw driver errors.
import { createHash } from "node:crypto";
import pg from "pg";
import { QuotaExceededError, StorageUnavailableError, UnstorableValueError } from "../store-errors.ts";
import { assertStorable, type Row } from "../row-codec.ts";
import { PG_MIGRATIONS } from "./pg-migrations.ts";

/** How PgDatabase.open connects. */
export interface PgDatabaseOptions {
  /** Connections in the pool (10 by default). */
  poolSize?: number;
  /**
   * How long the server lets a transaction of this process sit idle between two statements before it ends
   * the session and rolls the transaction back (the replica TTL; 10 s by default).
   */
  idleInTransactionMs?: number;
}

const DEFAULT_IDLE_IN_TRANSACTION_MS = 10_000;

/** Runs one statement (on the pool, or on the client of a transaction). */
export type Query = (sql: string, params?: unknown[]) => Promise<{ rows: Row[]; rowCount: number }>;

/** Arbitrary constant: the advisory lock key every replica takes to migrate ("mend" in ASCII + 1). */
const MIGRATION_LOCK = 0x6d656e6401;

/** int8 (BIGINT: every *_at column, ms since epoch) as a JS number; the rest as pg parses them. */
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** The typed error for a driver error: storage faults and unstorable values; anything else as is. */
export function pgFault(e: unknown): unknown {
  if (
    e instanceof StorageUnavailableError ||
    e instanceof UnstorableValueError ||
    e instanceof QuotaExceededError
  )
    return e;
  const err = e as { code?: string; message?: string; detail?: string };
  const code = err.code ?? "";
  const msg = err.message ?? String(e);
  // The quota triggers' refusal (pg-migrations.ts): the transaction rolled back, nothing was written.
  if (code === "MQ001")
    return new QuotaExceededError(err.detail === "blobBytes" ? "blobBytes" : "journalBytes", msg, {
      cause: e,
    });
  if (code === "22021" || code === "22P05")
    return new UnstorableValueError(`the database cannot store this text: ${msg}`);
  if (code === "54000") return new UnstorableValueError(`value too large for the database: ${msg}`);
  const storage =
    NETWORK_CODES.has(code) ||
    /^(08|53|58)/.test(code) ||
    ["57P01", "57P02", "57P03", "25006", "55P03", "25P03"].includes(code) ||
    /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable/i.test(
      msg,
    );
  return storage ? new StorageUnavailableError(`storage unavailable: PostgreSQL: ${msg}`, { cause: e }) : e;
}

const statementName = (sql: string) => `m_${createHash("sha1").update(sql).digest("hex").slice(0, 20)}`;

/** Statements executed and write transactions committed (Store.counters). */
export interface PgCounters {
  statements: number;
  transactions: number;
}

const WRITE = /^\s*(INSERT|UPDATE|DELETE)\b/i;

function queryOn(client: pg.Pool | pg.PoolClient, counters: PgCounters, standalone: boolean): Query {
  return async (sql, params = []) => {
    counters.statements++;
    // A write outside tx() is a transaction of its own.
    if (standalone && WRITE.test(sql)) counters.transactions++;
    assertStorable(params);
    try {
      const r = await client.query({ name: statementName(sql), text: sql, values: params });
      return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 };
    } catch (e) {
      throw pgFault(e);
    }
  };
}

/**
 * A pool on one database, migrated when opened.
 * @example const db = await PgDatabase.open("postgres://mend@127.0.0.1/mend"); await db.query("SELECT 1")
 */
export class PgDatabase {
  readonly #pool: pg.Pool;
  /** Statements outside a transaction (each one its own, committed before it resolves). */
  readonly query: Query;

  readonly counters: PgCounters = { statements: 0, transactions: 0 };

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.query = queryOn(pool, this.counters, true);
  }

  /** Connects and applies the pending migrations (one replica at a time, under an advisory lock). */
  static async open(url: string, opts: PgDatabaseOptions = {}): Promise<PgDatabase> {
    const idleTx = Math.round(opts.idleInTransactionMs ?? DEFAULT_IDLE_IN_TRANSACTION_MS);
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      types: TYPES,
      application_name: "mend",
    });
    // An idle client that loses its server (restart, network) is dropped; the next query reconnects.
    pool.on("error", () => {});
    // A process stopped (SIGSTOP, a frozen VM) or stalled inside a transaction keeps its row locks while its
    // session is open: the replica taking its runs over would wait on them for as long as the pause lasts.
    // The server ends such a session once it has been idle in a transaction this long (the replica TTL: by
    // then what it holds is another replica's), which rolls the transaction back. Set on each new connection,
    // queued before its first statement: the startup `options` would be replaced by a URL's own `options`.
    pool.on("connect", (client) => {
      client.query(`SET idle_in_transaction_session_timeout = ${idleTx}`).catch(() => {});
    });
    const db = new PgDatabase(pool);
    try {
      await db.tx(async (q, exec) => {
        await q("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
        await q(
          "CREATE TABLE IF NOT EXISTS mend_schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        );
        const { rows } = await q("SELECT COALESCE(MAX(version), 0) AS v FROM mend_schema_migrations");
        for (let v = Number(rows[0]!.v); v < PG_MIGRATIONS.length; v++) {
          await exec(PG_MIGRATIONS[v]!);
          await q("INSERT INTO mend_schema_migrations (version, applied_at) VALUES ($1, $2)", [
            v + 1,
            Date.now(),
          ]);
        }
      });
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
    return db;
  }

  /** Number of applied migrations. */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.query("SELECT COALESCE(MAX(version), 0) AS v FROM mend_schema_migrations");
    return Number(rows[0]!.v);
  }

  /**
   * Runs `fn` in one transaction: COMMIT before resolving, ROLLBACK on any error. `exec` runs a script of
   * several statements without parameters (migrations).
   */
  async tx<T>(fn: (q: Query, exec: (script: string) => Promise<void>) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw pgFault(e);
    }
    const q = queryOn(client, this.counters, false);
    const exec = async (script: string) => {
      try {
        await client.query(script);
      } catch (e) {
        throw pgFault(e);
      }
    };
    let broken: Error | undefined;
    // The server may end the session while no statement is in flight (idle_in_transaction_session_timeout,
    // an admin's pg_terminate_backend, a restart): pg reports it as an 'error' event on the checked-out
    // client, which would otherwise be an uncaught exception. The next statement then fails as a storage fault.
    const lost = (e: Error) => (broken = e);
    client.on("error", lost);
    try {
      await client.query("BEGIN");
      const r = await fn(q, exec);
      await client.query("COMMIT");
      this.counters.transactions++;
      return r;
    } catch (e) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackErr) {
        broken = rollbackErr as Error; // the connection is gone: do not return it to the pool
      }
      throw e;
    } finally {
      client.off("error", lost);
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
