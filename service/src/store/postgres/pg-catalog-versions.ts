// The tools' and the API keys' versions of a PostgreSQL store, answered from memory (no statement on the hot
// path): a generation per concern, moved by this process's own writes as soon as they resolved and by the
// NOTIFY that the tables' triggers (pg-migrations.ts) send at every commit that changed them — another
// replica's, the CLI's, any SQL's — followed on the side connection.
//
// Why a cached answer is never stale past the notification's delivery (callers read the version, then list,
// then cache the list under that version; a write W commits somewhere between):
// - W by another process: its NOTIFY is delivered to us after W committed, and PostgreSQL delivers a
//   notification only once its transaction is visible to new snapshots. If it arrives after our version
//   read, the generation moves and our next read differs. If it arrived before our version read, W committed
//   before the list statement began, so the list saw W: what was cached under that version is current.
// - W by this process: the generation moves once W resolved (committed, or failed in a way that may have
//   committed), so a list read while W was pending was cached under the version before the move.
// - Notifications are lost while no connection LISTENs (not yet connected, dropped, reconnecting): then
//   there is no cached answer (tools: null, keys: a fresh value per call, so callers list every time), and
//   the version carries the side connection's epoch: the first version after a reconnect differs from every
//   one before, and a list read after it saw every commit made while we were deaf (LISTEN ran first).
// - A connection dead without our knowing (a partition, no FIN: the driver sees nothing for minutes) is
//   trusted only while the server was heard from on it within QUIET_MS: the replica heartbeat (every
//   TTL/4 on the same connection) keeps it heard; past PROBE_MS of silence a probe is sent, past QUIET_MS
//   there is no cached answer. So a change elsewhere is missed for at most QUIET_MS, even then. When a
//   quiet connection answers again, what was notified meanwhile arrives before the answer (the server
//   sends pending notifications before it reports ready for the next query), so the generation has moved.
import type { PgSideConnection } from "./pg-side-connection.ts";

/** The NOTIFY channel of the catalog's changes; the payload is the changed table's name. */
export const CATALOG_CHANNEL = "mend_catalog";

/** The concerns cached on a version. */
export type CatalogKind = "tools" | "keys";

const KIND_OF_TABLE: Readonly<Record<string, CatalogKind>> = { tools: "tools", api_keys: "keys" };

/** How long after a failed connection attempt the next version read tries again (not every call). */
const RECONNECT_AFTER_MS = 1_000;
/** Silence on the side connection after which a version read sends a probe (SELECT 1). */
export const PROBE_MS = 2_500;
/** Silence on the side connection after which it is not trusted to be listening (no cached versions). */
export const QUIET_MS = 5_000;

/**
 * The generations of the tools and the API keys over one side connection.
 * @example const v = new PgCatalogVersions(side); await v.start(); v.version("tools") // "1.0", or null while deaf
 */
export class PgCatalogVersions {
  readonly #side: PgSideConnection;
  readonly #generation: Record<CatalogKind, number> = { tools: 0, keys: 0 };
  /** The first epoch of the side connection known to LISTEN on the channel (Infinity: not followed yet). */
  #sinceEpoch = Number.POSITIVE_INFINITY;
  #fresh = 0;
  #reconnecting: Promise<void> | null = null;
  #probing: Promise<void> | null = null;
  #retryAt = 0;

  constructor(side: PgSideConnection) {
    this.#side = side;
  }

  /** Follows the channel (a server that cannot be reached now is tried again by the next version reads). */
  async start(): Promise<void> {
    // The epoch before the LISTEN: a connection made while it ran LISTENs to the channel itself.
    const before = this.#side.epoch;
    try {
      await this.#side.listen(CATALOG_CHANNEL, (table) => this.#changed(table));
      this.#sinceEpoch = this.#side.epoch;
    } catch {
      // The channel stays followed: every connection made from now on LISTENs to it before it counts as up.
      // (A LISTEN that failed on a connection that stayed up leaves that one connection deaf: it is not trusted.)
      this.#sinceEpoch = before + 1;
      this.#retryAt = performance.now() + RECONNECT_AFTER_MS;
    }
  }

  #changed(table: string): void {
    const kind = KIND_OF_TABLE[table];
    if (kind) this.#generation[kind]++;
    else {
      // Not a table we know (a later schema's trigger): both move, a spare re-list is harmless.
      this.#generation.tools++;
      this.#generation.keys++;
    }
  }

  /** The version of `kind`, or null while no connection is known to listen (then one is sought). */
  version(kind: CatalogKind): string | null {
    const epoch = this.#side.epoch;
    if (!this.#side.connected || epoch < this.#sinceEpoch) {
      this.#reconnect();
      return null;
    }
    const quietMs = performance.now() - this.#side.heardAt;
    if (quietMs >= PROBE_MS) this.#probe();
    return quietMs < QUIET_MS ? `${epoch}.${this.#generation[kind]}` : null;
  }

  /** The API keys' version: while no connection listens, a value never answered before (callers re-list). */
  keysVersion(): string {
    return this.version("keys") ?? `deaf.${++this.#fresh}`;
  }

  /**
   * Runs a write of `kind`'s table and moves its generation once the write settled, whatever the outcome (a
   * failure may still have committed): this process reads its own writes without waiting for the NOTIFY.
   */
  async write<T>(kind: CatalogKind, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.#generation[kind]++;
    }
  }

  /** One statement at a time: its answer shows the connection is alive (a failure drops it: reconnected). */
  #probe(): void {
    if (this.#probing) return;
    this.#probing = this.#side
      .query("SELECT 1")
      .then(() => {})
      .catch(() => {})
      .finally(() => (this.#probing = null));
  }

  #reconnect(): void {
    if (this.#reconnecting || performance.now() < this.#retryAt) return;
    this.#reconnecting = this.#side
      .connect()
      .catch(() => void (this.#retryAt = performance.now() + RECONNECT_AFTER_MS))
      .finally(() => (this.#reconnecting = null));
  }
}
