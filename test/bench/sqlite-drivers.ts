// Micro-benchmark behind the store's driver choice: node:sqlite vs better-sqlite3, one step journaled
// as insert + update in WAL mode with synchronous=NORMAL, and a point read.
import { DatabaseSync } from "node:sqlite";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarize, type Row } from "./stats.ts";

const SCHEMA =
  "CREATE TABLE steps (id INTEGER PRIMARY KEY, run TEXT, key TEXT, status TEXT, input TEXT, output TEXT, UNIQUE(run, key))";

interface Driver {
  exec(sql: string): void;
  prepare(sql: string): { run(...a: unknown[]): unknown; get(...a: unknown[]): unknown };
  close(): void;
}

function measure(name: string, db: Driver, n: number): Row[] {
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  db.exec(SCHEMA);
  const ins = db.prepare("INSERT INTO steps (run, key, status, input) VALUES (?, ?, 'started', ?)");
  const upd = db.prepare("UPDATE steps SET status='succeeded', output=? WHERE run=? AND key=?");
  const sel = db.prepare("SELECT * FROM steps WHERE run=? AND key=?");
  const writes: number[] = [];
  const reads: number[] = [];
  const input = JSON.stringify({ code: "return 1", limits: { memoryMb: 32 } });
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    ins.run("run_1", `k${i}`, input);
    upd.run('{"result":1}', "run_1", `k${i}`);
    writes.push(performance.now() - t0);
  }
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    sel.get("run_1", `k${i}`);
    reads.push(performance.now() - t0);
  }
  db.close();
  const perS = (xs: number[]) => Math.round((xs.length / xs.reduce((a, b) => a + b, 0)) * 1000);
  return [
    summarize(`${name}: step insert+update (WAL, NORMAL)`, writes, { throughputPerS: perS(writes) }),
    summarize(`${name}: step point read`, reads, { throughputPerS: perS(reads) }),
  ];
}

/**
 * Runs both drivers side by side on fresh files (one process, one thread: throughput is 1 / mean latency).
 * @example console.table(benchSqliteDrivers(5000))
 */
export function benchSqliteDrivers(n = 20_000): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "mend-sqlite-bench-"));
  try {
    return [
      ...measure("node:sqlite", new DatabaseSync(join(dir, "a.db")), n),
      ...measure("better-sqlite3", new Database(join(dir, "b.db")), n),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.table(benchSqliteDrivers());
