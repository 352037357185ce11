// This process as a replica: one identity and one heartbeat (MEND_REPLICA_TTL_MS) for everything it owns on
// the store — hosted runs' leases, started steps, cache fill marks — and the count of live replicas that
// per-replica shares of the tenants' limits divide by.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";

/**
 * On SQLite one process owns the data dir, so nothing can take its runs over: a long TTL keeps a loaded
 * event loop from lapsing its own leases (a restart takes a dead predecessor's at once, by its pid).
 */
const SQLITE_TTL_MS = 30_000;

/**
 * The replica heartbeat. Beats every TTL/4 (the store runs it on a connection of its own), so three
 * missed beats in a row are survived; a beat that fails is logged and retried at the next tick.
 * @example const replica = new Replica(store, { ttlMs: 2_000, log }); await replica.start(); ...; await replica.retire()
 */
export class Replica {
  /** host/pid/random: a restarted process on the same host can tell its dead predecessor by the pid. */
  readonly id = `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
  /** How long this replica's heartbeat holds what it owns (the configured TTL; long on SQLite). */
  readonly ttlMs: number;
  /** Whether other replicas may exist (PostgreSQL): step ownership is checked only then. */
  readonly shared: boolean;
  readonly #store: Store;
  readonly #log: Logger | undefined;
  #timer: NodeJS.Timeout | null = null;
  #live = 1;
  #beating: Promise<void> | null = null;

  constructor(store: Store, opts: { ttlMs: number; log?: Logger }) {
    this.#store = store;
    this.#log = opts.log;
    this.shared = store.kind === "postgres";
    this.ttlMs = this.shared ? opts.ttlMs : Math.max(opts.ttlMs, SQLITE_TTL_MS);
  }

  /** How long a started step of another owner counts as alive (0 on SQLite: an unfinished step is a dead attempt). */
  get stepTtlMs(): number {
    return this.shared ? this.ttlMs : 0;
  }

  /** Live replicas on the store, this one included (as of the last heartbeat). */
  get live(): number {
    return this.#live;
  }

  /** Registers this replica (the first beat) and keeps beating until `retire`. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer ??= setInterval(() => void this.beat(), Math.max(50, Math.floor(this.ttlMs / 4)));
    this.#timer.unref();
  }

  /** One heartbeat now (coalesced with one in progress). */
  beat(): Promise<void> {
    this.#beating ??= this.#store
      .heartbeatReplica(this.id, this.ttlMs)
      .then(
        (n) => void (this.#live = Math.max(1, n)),
        (err: unknown) => this.#log?.warn({ err: (err as Error).message }, "replica heartbeat failed"),
      )
      .finally(() => (this.#beating = null));
    return this.#beating;
  }

  /** Stops beating and hands everything this replica owns over at once (graceful shutdown). */
  async retire(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#beating;
    await this.#store
      .retireReplica(this.id)
      .catch((err: unknown) => this.#log?.warn({ err: (err as Error).message }, "replica retirement failed"));
  }
}
