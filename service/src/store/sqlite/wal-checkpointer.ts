// WAL checkpoints of the service's SQLite file, off the main thread: a checkpoint copies the WAL into the
// database file and fsyncs both, which on a busy disk takes from milliseconds to hundreds of them; run by
// SQLite's auto-checkpoint inside a COMMIT, it stalled every request of the event loop meanwhile.
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { Worker } from "node:worker_threads";

const WORKER_URL = new URL("./wal-checkpoint-worker.ts", import.meta.url);

/**
 * Commits between two checkpoint requests: SQLite's auto-checkpoint runs at 1,000 WAL pages, a few hundred of
 * the service's commits (1 to 5 pages each). Counted in commits, not time: an idle WAL stays as it is, as
 * with the auto-checkpoint.
 */
const COMMITS_PER_CHECKPOINT = 200;

/**
 * WAL frames (pages) past which the main connection checkpoints once itself. A PASSIVE checkpoint beside a
 * writer that never pauses never catches up, and only a checkpoint that has copied every frame lets the
 * next write start the WAL over: without this the WAL grows without bound under sustained load (291 MiB for
 * an 8 MiB database in a minute here). The main connection's checkpoint then copies only the frames written
 * since the worker's, and happens 4× less often than SQLite's auto-checkpoint at 1,000 pages. It is tried
 * again after every commit until one copies every frame: a reader's snapshot (or the worker's checkpoint)
 * leaves it incomplete, and the worker reports the WAL's length only every COMMITS_PER_CHECKPOINT commits.
 */
const MAX_WAL_FRAMES = 4096;

/**
 * Asks a worker thread with its own connection to checkpoint the WAL (PASSIVE: never blocks the writer or
 * a reader) every COMMITS_PER_CHECKPOINT commits. The main connection runs
 * with `wal_autocheckpoint=0`; the worker starts at the first request (a store that writes little never
 * starts it). A worker that cannot start or dies hands checkpoints back to the main connection (`fallback`).
 * Durability is unchanged: a commit is in the WAL when it returns; checkpoints only move pages.
 * @example const cp = new WalCheckpointer(path, () => db.exec("PRAGMA wal_autocheckpoint=1000")); cp.committed(db);
 */
export class WalCheckpointer {
  readonly #path: string;
  readonly #fallback: () => void;
  #worker: Worker | null = null;
  #failed = false;
  #commits = 0;
  /**
   * The worker reported a WAL past MAX_WAL_FRAMES: the main connection checkpoints after each commit until
   * a checkpoint copied every frame.
   */
  #catchUp = false;
  /** The main connection's own checkpoints: tried, and the ones that copied every frame. */
  readonly catchUps = { tried: 0, complete: 0 };

  constructor(path: string, fallback: () => void) {
    this.#path = path;
    this.#fallback = fallback;
  }

  /** True while checkpoints are this checkpointer's (the main connection must not auto-checkpoint). */
  get active(): boolean {
    return !this.#failed;
  }

  /**
   * Counts one commit of the main connection `db` (after its COMMIT); while the WAL is past MAX_WAL_FRAMES,
   * checkpoints it on `db` (PASSIVE) instead, until a checkpoint copies every frame.
   */
  committed(db: DatabaseSync): void {
    if (this.#failed) return;
    if (this.#catchUp) {
      this.catchUps.tried++;
      if (checkpointAll(db)) {
        this.#catchUp = false;
        this.catchUps.complete++;
      }
      return;
    }
    this.#commits += 1;
    if (this.#commits < COMMITS_PER_CHECKPOINT) return;
    this.#commits = 0;
    this.#start()?.postMessage("checkpoint");
  }

  #start(): Worker | null {
    if (this.#worker !== null) return this.#worker;
    try {
      const worker = new Worker(WORKER_URL, { workerData: { path: this.#path } });
      worker.unref();
      const fail = (): void => {
        if (this.#worker !== worker) return;
        this.#worker = null;
        this.#failed = true;
        this.#fallback();
      };
      worker.on("error", fail);
      worker.on("exit", fail);
      worker.on("message", (m: { log: number }) => {
        if (m.log >= MAX_WAL_FRAMES) this.#catchUp = true;
      });
      this.#worker = worker;
      return worker;
    } catch {
      this.#failed = true;
      this.#fallback();
      return null;
    }
  }

  /** Stops the worker; its connection closes (the last one to close checkpoints what is left). */
  close(): void {
    const worker = this.#worker;
    this.#worker = null;
    this.#failed = true;
    worker?.postMessage("close");
  }
}

/**
 * The checkpoint statement of each connection, prepared once: while the WAL catches up, checkpointAll runs
 * after every commit, and preparing it each time cost as much as running it when there was nothing to copy.
 */
const CHECKPOINT_STATEMENTS = new WeakMap<DatabaseSync, StatementSync>();

/**
 * The main connection's own checkpoint, after its COMMIT: whether it copied every frame of the WAL (so the
 * next write starts it over). A failure must not fail the writes that committed: it counts as incomplete,
 * and the next commit tries again. When nothing is left to copy past a reader's snapshot it does no I/O.
 */
function checkpointAll(db: DatabaseSync): boolean {
  try {
    let statement = CHECKPOINT_STATEMENTS.get(db);
    if (!statement)
      CHECKPOINT_STATEMENTS.set(db, (statement = db.prepare("PRAGMA wal_checkpoint(PASSIVE);")));
    const r = statement.get() as { busy: number; log: number; checkpointed: number } | undefined;
    return r !== undefined && Number(r.busy) === 0 && Number(r.checkpointed) === Number(r.log);
  } catch {
    return false;
  }
}
