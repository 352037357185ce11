// One journaled step through the Store interface (claimStep + endStep, as the step lifecycle does), on
// SQLite and on PostgreSQL side by side: sequential latency and 16 concurrent runs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

async function measure(name: string, store: Store, n: number, concurrency: number): Promise<Row[]> {
  const newRun = (id: string) =>
    store.createRun({ id, tenant: "t", mode: "client", goal: null, implicit: false });
  const step = async (runId: string, key: string) => {
    const c = await store.claimStep({ runId, key, kind: "tool", input: INPUT });
    await store.endStep(runId, c.step.seq, { ...END, attempt: c.step.attempt });
  };
  await newRun("run_seq");
  for (let i = 0; i < 100; i++) await step("run_seq", `warm${i}`);
  const seq: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await step("run_seq", `k${i}`);
    seq.push(performance.now() - t0);
  }
  const runs = Array.from({ length: concurrency }, (_, w) => `run_c${w}`);
  for (const r of runs) await newRun(r);
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    runs.map(async (r) => {
      for (let i = 0; i < Math.ceil(n / concurrency); i++) {
        const s0 = performance.now();
        await step(r, `k${i}`);
        lat.push(performance.now() - s0);
      }
    }),
  );
  const wall = performance.now() - t0;
  const total = seq.reduce((a, b) => a + b, 0);
  return [
    summarize(`${name}: one step (claimStep + endStep), sequential`, seq, {
      throughputPerS: Math.round((seq.length / total) * 1000),
    }),
    summarize(`${name}: steps of ${concurrency} concurrent runs`, lat, {
      throughputPerS: Math.round((lat.length / wall) * 1000),
    }),
  ];
}

/**
 * SQLite (a temp file, WAL, synchronous=NORMAL) beside PostgreSQL (a local durable cluster).
 * @example console.table(await benchStoreSteps(2000))
 */
export async function benchStoreSteps(n = 2_000, concurrency = 16): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "mend-store-bench-"));
  const rows: Row[] = [];
  const sqlite = SqliteStore.open(join(dir, "mend.db"));
  try {
    rows.push(...(await measure("SqliteStore", sqlite, n, concurrency)));
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const avail = await postgresServer({ own: true, options: [] });
  if (!avail.server) throw new Error(avail.reason);
  const db = await freshDatabase(avail.server.url);
  const pg = await PostgresStore.open(db.url, { poolSize: concurrency });
  try {
    rows.push(...(await measure("PostgresStore (durable local cluster)", pg, n, concurrency)));
  } finally {
    await pg.close();
    await db.drop();
    await avail.server.stop();
  }
  return rows;
}

if (import.meta.main) console.table(await benchStoreSteps());
