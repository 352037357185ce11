// Issue 15 item 3: what the quotas cost a tool step through the Store (claimStep + endStep, as the step
// lifecycle journals it), on SQLite and PostgreSQL. "Before" is the same code with the usage triggers
// dropped (no counters, no check); "after" has the triggers and a quota set for the tenant. Interleaved
// rounds on both, so the machine's load falls on both alike.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { PostgresStore } from "../../service/src/store/postgres/postgres-store.ts";
import type { Store } from "../../service/src/store/store.ts";
import { freshDatabase, postgresServer } from "../support/postgres-server.ts";
import { summarize, type Row } from "./stats.ts";

const INPUT = { type: "tool", tool: "echo", args: { text: "hi" } };
const END = {
  status: "succeeded" as const,
  output: { result: { text: "hi" } },
  failure: null,
  usage: { wallMs: 1 },
};
const QUOTA = { journalBytes: 1024 * 1024 * 1024, blobBytes: 1024 * 1024 * 1024 };

const SQLITE_TRIGGERS = [
  ...["steps", "tool_calls", "checkpoints", "runs"].flatMap((t) =>
    ["insert", "update", "delete"].map((op) => `usage_${t}_${op}`),
  ),
  "usage_blobs_insert",
  "usage_blobs_delete",
  "usage_cache_insert",
  "usage_cache_update",
  "usage_cache_delete",
];
const PG_TRIGGERS: [string, string][] = [
  ["usage_steps", "steps"],
  ["usage_tool_calls", "tool_calls"],
  ["usage_checkpoints", "checkpoints"],
  ["usage_runs", "runs"],
  ["usage_blobs", "blobs"],
  ["usage_cache", "cache_entries"],
];

interface Arm {
  name: string;
  store: Store;
  samples: number[];
  busyMs: number;
  next: number;
}

async function round(arm: Arm, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const key = `k${arm.next++}`;
    const t0 = performance.now();
    const c = await arm.store.claimStep({ runId: "run_bench", key, kind: "tool", input: INPUT });
    await arm.store.endStep("run_bench", c.step.seq, { ...END, attempt: c.step.attempt });
    const ms = performance.now() - t0;
    arm.samples.push(ms);
    arm.busyMs += ms;
  }
}

async function prepare(store: Store, quota: boolean): Promise<void> {
  await store.createRun({ id: "run_bench", tenant: "t", mode: "client", goal: null, implicit: false });
  if (quota) await store.setQuota("t", QUOTA);
  for (let i = 0; i < 50; i++) {
    const c = await store.claimStep({ runId: "run_bench", key: `warm${i}`, kind: "tool", input: INPUT });
    await store.endStep("run_bench", c.step.seq, { ...END, attempt: c.step.attempt });
  }
}

async function compare(before: Arm, after: Arm, rounds: number, n: number): Promise<Row[]> {
  await prepare(before.store, false);
  await prepare(after.store, true);
  for (let r = 0; r < rounds; r++) {
    // Alternate which arm goes first, so neither always follows the other's WAL checkpoint.
    const order = r % 2 === 0 ? [before, after] : [after, before];
    for (const arm of order) await round(arm, n);
  }
  return [before, after].map((a) =>
    summarize(a.name, a.samples, { throughputPerS: Math.round((a.samples.length / a.busyMs) * 1000) }),
  );
}

/**
 * Tool steps through the Store before/after quotas, SQLite and PostgreSQL (a local durable cluster).
 * @example console.table(await benchQuotas(3, 500))
 */
export async function benchQuotas(rounds = 3, n = 500): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), "mend-quotas-bench-"));
  const plain = SqliteStore.open(join(dir, "before.db"));
  const counted = SqliteStore.open(join(dir, "after.db"));
  try {
    // The "before" file: the same schema without the usage triggers (another connection, before any write).
    const raw = new DatabaseSync(join(dir, "before.db"));
    for (const t of SQLITE_TRIGGERS) raw.exec(`DROP TRIGGER IF EXISTS ${t}`);
    raw.close();
    rows.push(
      ...(await compare(
        { name: "SQLite, before quotas (no usage triggers)", store: plain, samples: [], busyMs: 0, next: 0 },
        { name: "SQLite, counters + check", store: counted, samples: [], busyMs: 0, next: 0 },
        rounds,
        n,
      )),
    );
  } finally {
    await plain.close();
    await counted.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const avail = await postgresServer({ own: true, options: [] });
  if (!avail.server) throw new Error(avail.reason);
  const dbs = [await freshDatabase(avail.server.url), await freshDatabase(avail.server.url)];
  const stores = [await PostgresStore.open(dbs[0]!.url), await PostgresStore.open(dbs[1]!.url)];
  try {
    const admin = new pg.Client({ connectionString: dbs[0]!.url });
    await admin.connect();
    for (const [trigger, table] of PG_TRIGGERS)
      await admin.query(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
    await admin.end();
    rows.push(
      ...(await compare(
        {
          name: "PostgreSQL, before quotas (no usage triggers)",
          store: stores[0]!,
          samples: [],
          busyMs: 0,
          next: 0,
        },
        { name: "PostgreSQL, counters + check", store: stores[1]!, samples: [], busyMs: 0, next: 0 },
        rounds,
        n,
      )),
    );
  } finally {
    for (const s of stores) await s.close();
    for (const d of dbs) await d.drop();
    await avail.server.stop();
  }
  return rows;
}

if (import.meta.main) console.table(await benchQuotas());
