// The service's SQLite file is checkpointed by the worker thread, not inside the main connection's commits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteConnection } from "./sqlite-connection.ts";

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
});
