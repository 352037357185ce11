// The SQLite file behind the store: opening, migrating, the owner lock, and honest reads and writes — a write
// returns only once COMMIT succeeded, and a storage fault becomes StorageUnavailableError.
//
// Why every write is an explicit transaction: in node:sqlite, `.get()` on an `UPDATE … RETURNING` in autocommit
// mode returns the new row and resets the statement without reporting that the commit failed ("database or
// disk is full"); the row was never written. An explicit COMMIT (exec) throws instead.
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { QuotaExceededError, StorageUnavailableError } from "../store-errors.ts";
import { assertStorable } from "../row-codec.ts";
import { DataDirLock } from "./data-dir-lock.ts";
import { MIGRATIONS } from "./migrations.ts";
import { WalCheckpointer } from "./wal-checkpointer.ts";

export type SqlRow = Record<string, SQLInputValue>;

/** A write waiting for its batch's COMMIT. */
interface PendingWrite {
  fn: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Something that keeps state of its own for the writes of a transaction (the claims' journal bytes,
 * sqlite-step-usage.ts): it writes that state inside the transaction just before its COMMIT, and forgets it
 * when the transaction rolls back.
 */
export interface CommitParticipant {
  beforeCommit(): void;
  rolledBack(): void;
}

/** SQLite primary result codes that mean "storage cannot take this now" (the low byte of errcode). */
const FAULTS: Record<number, string> = {
  5: "the database is locked by another process",
  8: "the database is read-only",
  10: "disk I/O error",
  13: "the disk is full",
  14: "the database file cannot be opened",
};
/** Faults after which the connection is reopened (a read-only fallback or a broken file handle). */
const REOPEN = new Set([8, 10, 14]);

/** The quota triggers' refusal (migrations.ts): `RAISE(ABORT, 'mend_quota_exceeded:<quota>')`. */
const QUOTA_RAISED = /mend_quota_exceeded:(journalBytes|blobBytes)/;

/** A statement's error as the store reports it: a quota trigger's refusal becomes QuotaExceededError. */
function statementError(e: unknown): unknown {
  const m = QUOTA_RAISED.exec((e as { message?: unknown }).message as string);
  return m ? new QuotaExceededError(m[1] as "journalBytes" | "blobBytes", undefined, { cause: e }) : e;
}

const primaryCode = (e: unknown): number | null => {
  const code = (e as { errcode?: unknown }).errcode;
  return typeof code === "number" ? code & 0xff : null;
};

/** The StorageUnavailableError for a SQLite error, or null when it is not a storage fault. */
export function sqliteFault(e: unknown): StorageUnavailableError | null {
  const code = primaryCode(e);
  const why = code === null ? undefined : FAULTS[code];
  return why ? new StorageUnavailableError(`storage unavailable: ${why}`, { cause: e }) : null;
}

export interface SqliteConnectionOptions {
  /** Take the data dir's owner lock (the service); `mend keys` and tools open without it. */
  owner?: boolean;
}

/**
 * One connection to one file, reopened after a fault that needs it.
 * @example const c = new SqliteConnection("./data/mend.db", { owner: true }); c.write(() => c.run("…"))
 */
export class SqliteConnection {
  readonly #path: string;
  readonly #owner: boolean;
  #db: DatabaseSync | null = null;
  #lock: DataDirLock | null = null;
  #stmts = new Map<string, StatementSync>();
  #closed = false;
  readonly #participants: CommitParticipant[] = [];
  /** While a write of a batch runs in its savepoint: what undoes its participants' state if it rolls back. */
  #undo: (() => void)[] | null = null;
  /** The service's file checkpoints off the main thread (a checkpoint's fsyncs stalled the event loop). */
  readonly #checkpointer: WalCheckpointer | null;

  constructor(path: string, opts: SqliteConnectionOptions = {}) {
    this.#path = path;
    this.#owner = opts.owner === true && path !== ":memory:";
    this.#checkpointer = this.#owner
      ? new WalCheckpointer(path, () => {
          if (this.#db?.isOpen) this.#db.exec("PRAGMA wal_autocheckpoint=1000;");
        })
      : null;
  }

  /**
   * First open: the owner lock (DataDirInUseError when another process holds it), the file, the schema.
   * Storage faults here throw StorageUnavailableError.
   */
  open(): void {
    if (this.#path !== ":memory:") mkdirSync(dirname(this.#path), { recursive: true });
    const got = this.#owner ? DataDirLock.acquire(dirname(this.#path)) : null; // DataDirInUseError: refuse to start
    if (got?.kind === "held") this.#lock = got.lock;
    this.#connect();
  }

  /**
   * Before a write: takes the owner lock if this connection needs it and does not hold it yet (the data dir
   * was unwritable at start). Throws StorageUnavailableError while it cannot be taken.
   */
  #ensureLock(): void {
    if (!this.#owner || this.#lock) return;
    let got;
    try {
      got = DataDirLock.acquire(dirname(this.#path));
    } catch (e) {
      throw new StorageUnavailableError(`storage unavailable: ${(e as Error).message}`, { cause: e });
    }
    if (got.kind === "unwritable")
      throw new StorageUnavailableError(
        `storage unavailable: the data dir is not writable (its owner lock cannot be taken: ${got.reason})`,
      );
    this.#lock = got.lock;
    // A connection opened while the dir was read-only stays read-only: open it again now that it is not.
    this.#drop();
  }

  /** Connections opened so far: per-connection values (PRAGMA data_version) are comparable within one. */
  #epoch = 0;

  /** Which connection per-connection values come from (it changes when the file is opened again). */
  get epoch(): number {
    return this.#epoch;
  }

  #connect(): DatabaseSync {
    if (this.#closed) throw new StorageUnavailableError("storage unavailable: the store is closed");
    if (this.#db) return this.#db;
    let db: DatabaseSync | null = null;
    try {
      db = new DatabaseSync(this.#path, { timeout: 10_000 });
      // temp_store=MEMORY: a batch's writes each run in a savepoint, whose statement journal (a copy of every
      // page the write touches) spilled past 16 pages to a temp file under /var/tmp, created, written page by
      // page and dropped at each COMMIT (~12 % of the main thread under concurrent executions). It holds only
      // pages an open savepoint may roll back, so the memory it takes is one write's pages, freed at RELEASE.
      db.exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
      );
      if (this.#checkpointer?.active) db.exec("PRAGMA wal_autocheckpoint=0;");
      migrate(db);
    } catch (e) {
      if (db?.isOpen) db.close();
      throw sqliteFault(e) ?? e;
    }
    this.#db = db;
    this.#epoch++;
    return db;
  }

  #drop(): void {
    this.#stmts = new Map();
    const db = this.#db;
    this.#db = null;
    try {
      if (db?.isOpen) db.close();
    } catch {
      /* a broken handle: it is being replaced */
    }
  }

  #prepare(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#connect().prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** Registers a participant in every write transaction of this connection. */
  participate(p: CommitParticipant): void {
    this.#participants.push(p);
  }

  /**
   * Inside a write: `undo` runs if this write alone is rolled back (its savepoint in a batch); a rollback of
   * the whole transaction reaches the participants through rolledBack() instead.
   */
  onRollback(undo: () => void): void {
    this.#undo?.push(undo);
  }

  /** Statements executed and write transactions committed (Store.counters). */
  readonly counters = { statements: 0, transactions: 0 };

  /** Runs a statement to completion (inside read() or write()). */
  run(sql: string, ...params: SQLInputValue[]): number {
    this.counters.statements++;
    assertStorable(params);
    try {
      return Number(this.#prepare(sql).run(...params).changes);
    } catch (e) {
      throw statementError(e);
    }
  }

  /**
   * Runs an INSERT (inside write()) and returns the rowid of the last row it inserted: the rows of one
   * multi-row INSERT take consecutive rowids. Cheaper than `RETURNING id`, whose rows are JS objects.
   */
  insert(sql: string, ...params: SQLInputValue[]): number {
    this.counters.statements++;
    assertStorable(params);
    try {
      return Number(this.#prepare(sql).run(...params).lastInsertRowid);
    } catch (e) {
      throw statementError(e);
    }
  }

  /** First row of a query (inside read() or write(); in write() it is committed or rolled back with the rest). */
  get(sql: string, ...params: SQLInputValue[]): SqlRow | undefined {
    this.counters.statements++;
    assertStorable(params);
    try {
      return this.#prepare(sql).get(...params);
    } catch (e) {
      throw statementError(e);
    }
  }

  all(sql: string, ...params: SQLInputValue[]): SqlRow[] {
    this.counters.statements++;
    assertStorable(params);
    return this.#prepare(sql).all(...params);
  }

  /** Reads; a storage fault becomes StorageUnavailableError. */
  read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.#fault(e);
    }
  }

  /**
   * One write, resolved only after the COMMIT that contains it succeeded (group commit). An idle connection
   * commits the write at once (no batching delay); while commits happen turn after turn of the event loop
   * (concurrent requests), the writes issued during one turn run in one transaction at its end
   * (setImmediate), each inside its own savepoint, so one write's error rolls back that write alone, and the
   * transaction commits once for all of them — a commit per turn instead of per write is what lets
   * concurrent steps share the WAL's cost (a COMMIT writes every page the batch dirtied). Nothing is half
   * written: a failed COMMIT rejects every write of the batch. A read-only connection is reopened and the
   * batch tried once more (it wrote nothing).
   * @example const id = await c.write(() => c.get("INSERT INTO events … RETURNING id"))
   */
  write<T>(fn: () => T): Promise<T> {
    if (this.#closed)
      return Promise.reject(new StorageUnavailableError("storage unavailable: the store is closed"));
    if (!this.#batch && !this.#busy) {
      this.#committed();
      return new Promise<T>((resolve, reject) => this.#flush([{ fn, resolve: resolve, reject }]));
    }
    return new Promise<T>((resolve, reject) => {
      const batch = (this.#batch ??= this.#schedule());
      batch.push({ fn, resolve: resolve, reject });
    });
  }

  #batch: PendingWrite[] | null = null;
  /** A commit happened in this turn of the event loop or the one before: writes batch (see write). */
  #busy = false;
  #committedThisTurn = false;

  /** Notes a commit; the connection is idle again after a turn of the event loop without one. */
  #committed(): void {
    this.#committedThisTurn = true;
    if (this.#busy) return;
    this.#busy = true;
    const check = () => {
      if (!this.#committedThisTurn) {
        this.#busy = false;
        return;
      }
      this.#committedThisTurn = false;
      setImmediate(check);
    };
    setImmediate(check);
  }

  #schedule(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    setImmediate(() => {
      if (this.#batch === batch) this.#batch = null;
      this.#committed();
      this.#flush(batch);
    });
    return batch;
  }

  #flush(batch: PendingWrite[]): void {
    let results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[];
    try {
      results = this.#commit(batch);
    } catch (e) {
      let fault = e;
      if (primaryCode(e) === 8 && !this.#closed) {
        this.#drop();
        try {
          results = this.#commit(batch);
          fault = null;
        } catch (again) {
          fault = again;
        }
      }
      if (fault !== null) {
        const error = this.#fault(fault);
        for (const w of batch) w.reject(error);
        return;
      }
    }
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    });
  }

  /** Runs the batch in one transaction; throws (having rolled back) when the transaction itself fails. */
  #commit(batch: PendingWrite[]): ({ ok: true; value: unknown } | { ok: false; error: unknown })[] {
    // a batch scheduled before close() must not take the data dir's lock again after it was released
    if (this.#closed) throw new StorageUnavailableError("storage unavailable: the store is closed");
    this.#ensureLock();
    const db = this.#connect();
    db.exec("BEGIN IMMEDIATE");
    try {
      const results = batch.map((w) => {
        if (batch.length === 1) return { ok: true as const, value: w.fn() };
        db.exec("SAVEPOINT w");
        const undo: (() => void)[] = (this.#undo = []);
        try {
          const value = w.fn();
          db.exec("RELEASE w");
          return { ok: true as const, value };
        } catch (error) {
          // A storage fault inside one write fails the whole transaction: rethrown to reject the batch.
          if (sqliteFault(error) || !db.isTransaction) throw error;
          db.exec("ROLLBACK TO w");
          db.exec("RELEASE w");
          for (const u of undo) u();
          return { ok: false as const, error };
        } finally {
          this.#undo = null;
        }
      });
      for (const p of this.#participants) p.beforeCommit();
      db.exec("COMMIT");
      this.counters.transactions++;
      this.#checkpointer?.committed(db);
      return results;
    } catch (e) {
      try {
        if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
      } catch {
        /* the connection is broken: the fault replaces it */
      }
      for (const p of this.#participants) p.rolledBack();
      if (batch.length === 1 && !sqliteFault(e) && !(e instanceof StorageUnavailableError)) {
        // The single write's own error (not a storage fault): report it to that write alone.
        return [{ ok: false, error: e }];
      }
      throw e;
    }
  }

  #fault(e: unknown): unknown {
    if (e instanceof StorageUnavailableError) return e;
    const fault = sqliteFault(e);
    if (!fault) return e;
    if (REOPEN.has(primaryCode(e)!)) this.#drop();
    return fault;
  }

  /** Schema version of the open file (number of applied migrations). */
  schemaVersion(): number {
    return Number(this.read(() => this.get("PRAGMA user_version"))?.user_version ?? 0);
  }

  close(): void {
    this.#closed = true;
    this.#checkpointer?.close();
    this.#drop();
    this.#lock?.release();
    this.#lock = null;
  }
}

/** Applies the pending migrations in one transaction; a current schema is only read (a read-only file opens). */
function migrate(db: DatabaseSync): void {
  const version = () => Number((db.prepare("PRAGMA user_version").get() as SqlRow).user_version);
  if (version() >= MIGRATIONS.length) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    for (let v = version(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version=${v + 1}`);
    }
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}
