// One PostgreSQL connection of its own beside the pool: the replica heartbeat and LISTEN run here, so a pool
// busy with the journal cannot delay a heartbeat past the TTL (which would hand the replica's runs away).
import pg from "pg";
import { pgFault, type Query } from "./pg-database.ts";
import type { Row } from "../row-codec.ts";

/** int8 as a JS number, as on the pool (every *_at column is ms since epoch). */
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A lazily (re)connected client: a query on a lost connection fails with StorageUnavailableError, and the
 * next one connects again and LISTENs again to every channel it followed.
 * @example const side = new PgSideConnection(url); await side.query("SELECT 1"); await side.close()
 */
export class PgSideConnection {
  readonly #url: string;
  #client: pg.Client | null = null;
  #connecting: Promise<pg.Client> | null = null;
  #closed = false;
  #epoch = 0;
  #heardAt = 0;
  readonly #channels = new Map<string, Set<(payload: string) => void>>();

  constructor(url: string) {
    this.#url = url;
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    if (this.#closed) throw pgFault(new Error("Client was closed"));
    this.#connecting ??= (async () => {
      const client = new pg.Client({
        connectionString: this.#url,
        types: TYPES,
        connectionTimeoutMillis: 5_000,
        application_name: "mend-replica",
      });
      let lost = false;
      const drop = () => {
        lost = true;
        if (this.#client === client) this.#client = null;
      };
      client.on("error", drop);
      client.on("end", drop);
      client.on("notification", (n) => {
        this.#heardAt = performance.now();
        for (const fn of this.#channels.get(n.channel) ?? []) fn(n.payload ?? "");
      });
      try {
        await client.connect();
        for (const channel of this.#channels.keys()) await client.query(`LISTEN ${channel}`);
      } catch (e) {
        await client.end().catch(() => {});
        throw pgFault(e);
      }
      // Lost before it was kept (drop saw another #client): kept anyway, it would count as up for ever.
      if (this.#closed || lost) {
        await client.end().catch(() => {});
        throw pgFault(new Error(lost ? "Connection terminated" : "Client was closed"));
      }
      this.#epoch++;
      this.#heardAt = performance.now();
      this.#client = client;
      return client;
    })().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  /** One statement on the side connection. */
  readonly query: Query = async (sql, params = []) => {
    const client = await this.#connect();
    try {
      const r = await client.query(sql, params);
      this.#heardAt = performance.now();
      return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 };
    } catch (e) {
      throw pgFault(e);
    }
  };

  /** Calls `fn` with the payload of each notification on `channel` (a constant identifier). */
  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.#channels.get(channel);
    const first = !set;
    if (!set) this.#channels.set(channel, (set = new Set()));
    set.add(fn);
    const client = await this.#connect();
    // A connection made before this channel was added LISTENs now (a new one did in #connect).
    if (first) {
      try {
        await client.query(`LISTEN ${channel}`);
      } catch (e) {
        throw pgFault(e);
      }
    }
    return async () => {
      set.delete(fn);
      if (set.size === 0) {
        this.#channels.delete(channel);
        await this.#client?.query(`UNLISTEN ${channel}`).catch(() => {});
      }
    };
  }

  /** Whether the connection is up now (a reconnecting listener may have missed notifications). */
  get connected(): boolean {
    return this.#client !== null;
  }

  /**
   * Counts the connections made: it moves each time a new one is up, after it LISTENed to every channel
   * followed then. Why: notifications sent while no connection listened are lost, so whoever caches on
   * them must tell one connection from the next.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * When the server was last heard from on this connection (connected, a statement answered, a
   * notification): a connection dead without a FIN only shows as one that has gone quiet.
   */
  get heardAt(): number {
    return this.#heardAt;
  }

  /** Connects (and LISTENs) now unless connected; StorageUnavailableError when the server cannot be reached. */
  async connect(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#client ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#client = null;
    await c?.end().catch(() => {});
  }
}
