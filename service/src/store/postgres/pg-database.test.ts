import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { PgDatabase } from "./pg-database.ts";
import { StorageUnavailableError } from "../store-errors.ts";
import { freshDatabase, postgresServer } from "../../../../test/support/postgres-server.ts";

// The shared server of ./scripts/test (TEST_POSTGRES_URL), or one of our own; skipped, saying why, without.
const shared = await postgresServer();
const skip = shared.server ? undefined : shared.reason;
after(() => shared.server?.stop());

describe("the idle-in-transaction bound", { skip }, () => {
  it("holds on every connection, also when the database URL carries options of its own", async () => {
    const db = await freshDatabase(shared.server!.url);
    const url = new URL(db.url);
    url.searchParams.set("options", "-c search_path=public");
    const a = await PgDatabase.open(url.toString(), { poolSize: 1, idleInTransactionMs: 300 });
    try {
      const { rows } = await a.query("SHOW idle_in_transaction_session_timeout");
      assert.equal(rows[0]!.idle_in_transaction_session_timeout, "300ms");
      const path = await a.query("SHOW search_path");
      assert.equal(path.rows[0]!.search_path, "public", "the URL's own options still apply");
    } finally {
      await a.close();
      await db.drop();
    }
  });
});

describe("a PostgreSQL transaction stalled mid-way (its process paused or blocked)", { skip }, () => {
  it(
    "is ended by the server past idleInTransactionMs: its lock is freed, nothing it wrote commits, its pool goes on",
    { timeout: 30_000 },
    async () => {
      const db = await freshDatabase(shared.server!.url);
      const a = await PgDatabase.open(db.url, { poolSize: 1, idleInTransactionMs: 300 });
      const b = await PgDatabase.open(db.url, { poolSize: 1 });
      try {
        await b.query("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)");
        await b.query("INSERT INTO t VALUES (1, 'before')");
        let resume!: () => void;
        const stalled = new Promise<void>((r) => (resume = r));
        const inTx = a.tx(async (q) => {
          await q("UPDATE t SET v = 'stalled' WHERE id = 1");
          await stalled; // the process is elsewhere: no statement, the row lock held
          await q("UPDATE t SET v = 'after' WHERE id = 1");
        });
        inTx.catch(() => undefined); // awaited below, after the other writer went through
        for (;;) {
          const { rows } = await b.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
          );
          if (rows[0]!.n === 1) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        // Blocks on A's row lock until the server ends A's session (forever without the timeout: the test's own
        // timeout fails it). Meanwhile the session's end reaches A's checked-out client as an 'error' event,
        // which must not be an uncaught exception.
        await b.query("UPDATE t SET v = 'other writer' WHERE id = 1");
        resume();
        await assert.rejects(inTx, StorageUnavailableError);
        assert.equal((await b.query("SELECT v FROM t WHERE id = 1")).rows[0]!.v, "other writer");
        // the broken connection was dropped, not returned to the pool: the next statement gets a fresh one
        assert.equal((await a.query("SELECT 1 AS one")).rows[0]!.one, 1);
      } finally {
        await a.close();
        await b.close();
        await db.drop();
      }
    },
  );
});
