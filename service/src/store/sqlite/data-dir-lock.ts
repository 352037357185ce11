// One owner per data dir: an OS-level lock (SQLite's write lock on `mend.lock`) that dies with its process.
//
// Why a SQLite write lock: Node has no flock, and a pidfile outlives a SIGKILL. SQLite's locks are fcntl
// byte-range locks the kernel drops when the process ends, however it ends. The holder commits who it is
// (pid, host, since) into the lock file and then keeps a write transaction open for its lifetime (WAL mode,
// so others can still read the holder row); a second process fails to begin its own at once and names the
// holder. `mend keys` opens only mend.db, so it works while the service runs.
import { DatabaseSync } from "node:sqlite";
import { hostname } from "node:os";
import { join } from "node:path";
import { StartupError } from "../../config/startup-error.ts";

/** Who holds a data dir. */
export interface DataDirHolder {
  pid: number;
  host: string;
  since: number;
}

/**
 * A second process on a data dir whose owner is alive. A StartupError: one line, naming MEND_DATA_DIR.
 * @example DataDirLock.acquire(dir) // throws DataDirInUseError while another service runs on dir
 */
export class DataDirInUseError extends StartupError {
  override name = "DataDirInUseError";
  readonly holder: DataDirHolder | null;

  constructor(dir: string, holder: DataDirHolder | null) {
    const who = holder
      ? `pid ${holder.pid} on host ${holder.host}, since ${new Date(holder.since).toISOString()}`
      : "a process that has not yet written its name";
    super(`MEND_DATA_DIR=${dir} is in use by another Mend process (${who}); stop it or use another data dir`);
    this.holder = holder;
  }
}

/** What acquire found: the lock is ours, or the file system refused to let anyone write it. */
export type LockAttempt = { kind: "held"; lock: DataDirLock } | { kind: "unwritable"; reason: string };

const errcode = (e: unknown): number => Number((e as { errcode?: number }).errcode ?? -1) & 0xff;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/**
 * The owner lock of one data dir, held until `release()` or the end of the process.
 * @example const got = DataDirLock.acquire("./data"); if (got.kind === "held") { ...; got.lock.release() }
 */
export class DataDirLock {
  readonly #db: DatabaseSync;
  readonly holder: DataDirHolder;

  private constructor(db: DatabaseSync, holder: DataDirHolder) {
    this.#db = db;
    this.holder = holder;
  }

  /** The lock file's path in `dir`. */
  static path(dir: string): string {
    return join(dir, "mend.lock");
  }

  /**
   * Takes the lock, or throws DataDirInUseError naming the live holder. A read-only or otherwise unwritable
   * data dir gives `unwritable` (nobody can write there, so nobody can execute twice; retry later).
   */
  static acquire(dir: string): LockAttempt {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(DataDirLock.path(dir), { timeout: 0 });
    } catch (e) {
      return { kind: "unwritable", reason: (e as Error).message };
    }
    const holder: DataDirHolder = { pid: process.pid, host: hostname(), since: Date.now() };
    try {
      // synchronous=OFF: the lock is the kernel's (fcntl), the holder row only names it, so its commits need
      // no fsync (three of them, on the start-up path, each slow on a busy disk).
      db.exec("PRAGMA busy_timeout=0; PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF");
      db.exec(
        "CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, host TEXT, since INTEGER)",
      );
      db.exec("BEGIN IMMEDIATE");
      db.prepare("INSERT OR REPLACE INTO holder (id, pid, host, since) VALUES (1, ?, ?, ?)").run(
        holder.pid,
        holder.host,
        holder.since,
      );
      // Committing releases the write lock for an instant: whoever begins first afterwards owns the dir.
      db.exec("COMMIT");
      db.exec("BEGIN IMMEDIATE");
      return { kind: "held", lock: new DataDirLock(db, holder) };
    } catch (e) {
      const code = errcode(e);
      if (db.isTransaction) db.exec("ROLLBACK");
      if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
        const current = readHolder(db);
        db.close();
        throw new DataDirInUseError(dir, current);
      }
      db.close();
      return { kind: "unwritable", reason: (e as Error).message };
    }
  }

  /** Gives the data dir up (also done by the kernel when the process ends). */
  release(): void {
    if (!this.#db.isOpen) return;
    if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
    this.#db.close();
  }
}

function readHolder(db: DatabaseSync): DataDirHolder | null {
  try {
    const r = db.prepare("SELECT pid, host, since FROM holder WHERE id = 1").get() as
      { pid: number; host: string; since: number } | undefined;
    return r ? { pid: Number(r.pid), host: String(r.host), since: Number(r.since) } : null;
  } catch {
    return null;
  }
}
