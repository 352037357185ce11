// The service's SQLite file is checkpointed by the worker thread, not inside the main connection's commits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setImmediate as nextTurn } from "node:timers/promises";
import { SqliteConnection } from "./sqlite-connection.ts";
import { WalCheckpointer } from "./wal-checkpointer.ts";

describe("WAL checkpoints off the main thread", () => {
  it("moves committed pages into the database file while the main connection never auto-checkpoints", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-wal-"));
    const path = join(dir, "mend.db");
    const c = new SqliteConnection(path, { owner: true });
    try {
      c.open();
      assert.equal(Number(c.read(() => c.get("PRAGMA wal_autocheckpoint"))?.wal_autocheckpoint), 0);
      await c.write(() => c.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
      const before = statSync(path).size;
      // Enough commits for a checkpoint request; each one a page or two of new rows.
      for (let i = 0; i < 400; i++)
        await c.write(() => c.run("INSERT INTO t (v) VALUES (?)", "x".repeat(3000)));
      const deadline = Date.now() + 60_000;
      while (statSync(path).size <= before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(statSync(path).size > before, "the checkpoint copied the WAL's pages into the file");
      assert.equal(Number(c.read(() => c.get("SELECT COUNT(*) AS n FROM t"))?.n), 400);
    } finally {
      c.close();
    }
    // Reopened: every committed row is there.
    const again = new SqliteConnection(path, { owner: true });
    try {
      again.open();
      assert.equal(Number(again.read(() => again.get("SELECT COUNT(*) AS n FROM t"))?.n), 400);
    } finally {
      again.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("catches up itself once a reader's snapshot that made its checkpoint incomplete has ended: the WAL starts over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-wal-"));
    const path = join(dir, "mend.db");
    // The main connection as SqliteConnection opens it, committing as its write() does.
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    let fellBack = false;
    const cp = new WalCheckpointer(path, () => (fellBack = true));
    const insert = db.prepare("INSERT INTO t (v) VALUES (randomblob(16000))"); // 4 or 5 pages a commit
    const commit = () => {
      insert.run();
      cp.committed(db);
    };
    const reader = new DatabaseSync(path);
    try {
      commit();
      reader.exec("BEGIN");
      reader.prepare("SELECT COUNT(*) AS n FROM t").get(); // its snapshot: no checkpoint copies past it
      // Until the WAL is past the worker's report threshold and the main connection tried to catch up.
      for (let i = 0; i < 20_000 && cp.catchUps.tried < 3; i++) {
        commit();
        await nextTurn(); // the worker's report arrives
      }
      assert.equal(fellBack, false);
      assert.ok(cp.catchUps.tried >= 3, `no catch-up tried: ${JSON.stringify(cp.catchUps)}`);
      assert.equal(cp.catchUps.complete, 0, "a checkpoint copied past a reader's snapshot");
      reader.exec("COMMIT");
      commit(); // the next commit's catch-up now copies every frame
      assert.equal(cp.catchUps.complete, 1, JSON.stringify(cp.catchUps));
      // The next write starts the WAL over: its file grows no more.
      commit();
      const size = statSync(`${path}-wal`).size;
      for (let i = 0; i < 50; i++) commit();
      assert.equal(statSync(`${path}-wal`).size, size, "the WAL kept growing after the catch-up");
    } finally {
      cp.close();
      reader.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
