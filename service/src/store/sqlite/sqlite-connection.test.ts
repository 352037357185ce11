// SqliteConnection: a batch of concurrent writes keeps its statement journal (one savepoint per write) in memory.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteConnection } from "./sqlite-connection.ts";

/** Deleted files this process holds open: SQLite's temp files (a spilled statement journal) are unlinked at once. */
function openDeletedFiles(): string[] {
  const links: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      links.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return links.filter((l) => l.endsWith(" (deleted)"));
}

describe("SqliteConnection batched writes", () => {
  let dir: string;
  let c: SqliteConnection;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "mend-sqlite-conn-"));
    c = new SqliteConnection(join(dir, "mend.db"));
    c.open();
  });
  after(async () => {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a batch's statement journal in memory, never in a temp file", async (t) => {
    if (process.platform !== "linux") return t.skip("reads /proc/self/fd");
    // Writes issued in one turn share a transaction, each in its own savepoint: every existing page a write
    // touches is copied to the statement journal first. Past 64 KiB (16 pages) SQLite spills that journal to
    // a temp file (created, a pwrite per page, closed at the COMMIT) unless temp_store is MEMORY.
    await c.write(() => c.run("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)"));
    await c.write(() => {
      for (let i = 0; i < 400; i++) c.run("INSERT INTO t (v) VALUES (?)", "w".repeat(1000));
    });
    const already = new Set(openDeletedFiles());
    const seen: string[] = [];
    const tx = c.counters.transactions;
    const writes = Array.from({ length: 8 }, (_, i) =>
      c.write(() => {
        // ~100 rows on ~100 pages: far past the 16 pages an in-memory statement journal holds before spilling
        c.run("UPDATE t SET v=? WHERE id % 4 = ?", "y".repeat(1000), i % 4);
        seen.push(...openDeletedFiles().filter((f) => !already.has(f)));
      }),
    );
    await Promise.all(writes);
    assert.ok(c.counters.transactions - tx <= 2, "the writes shared a transaction (savepoints)");
    assert.deepEqual(seen, []);
  });
});
