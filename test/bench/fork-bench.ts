// Issue 20: the cost of forking a run (POST /v1/runs/{id}/fork): the store's one-transaction copy on SQLite
// and PostgreSQL by journal size, beside journaling the same steps one by one (what a fork avoids), and the
// whole request over HTTP against the real service.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { PostgresStore } from "../../service/src/store/postgres/postgres-store.ts";
import type { Store } from "../../service/src/store/store.ts";
import { freshDatabase, postgresServer } from "../support/postgres-server.ts";
import { startService } from "../support/service-process.ts";
import { httpClient } from "./http-client.ts";
import { rowOf, sequential } from "./load.ts";
import { summarize, type Row } from "./stats.ts";
import { createClientRun, postStep } from "./steps-http-bench.ts";

const SIZES = [10, 100, 1000] as const;
const INPUT = { type: "tool", tool: "echo", args: { text: "hi" }, inputHash: "h".repeat(64) };
const END = {
  status: "succeeded" as const,
  output: { result: { text: "hi" } },
  failure: null,
  usage: { wallMs: 1 },
};

async function journal(store: Store, runId: string, n: number, prefix = "k"): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = await store.claimStep({ runId, key: `${prefix}${i}`, kind: "tool", input: INPUT });
    await store.endStep(runId, c.step.seq, { ...END, attempt: c.step.attempt });
  }
}

/** Forks of runs of 10, 100 and 1,000 steps (all copied), interleaved by size; and the step-by-step copy. */
async function measureStore(name: string, store: Store, rounds: number): Promise<Row[]> {
  const newRun = (id: string) =>
    store.createRun({ id, tenant: "t", mode: "client", goal: null, implicit: false });
  for (const n of SIZES) {
    await newRun(`run_p${n}`);
    await journal(store, `run_p${n}`, n);
  }
  const samples = new Map<number, number[]>(SIZES.map((n) => [n, []]));
  let forks = 0;
  for (let r = -2; r < rounds; r++) {
    for (const n of SIZES) {
      const t0 = performance.now();
      const made = await store.forkRun({
        id: `run_f${forks++}`,
        tenant: "t",
        mode: "client",
        goal: null,
        implicit: false,
        parentRunId: `run_p${n}`,
        atSeq: n + 1,
      });
      const ms = performance.now() - t0;
      if (made.copied !== n) throw new Error(`fork copied ${made.copied} of ${n} steps`);
      if (r >= 0) samples.get(n)!.push(ms);
    }
  }
  // What a fork replaces: journaling the same 100 steps into a new run, one claim + end each.
  const copy: number[] = [];
  for (let r = 0; r < Math.max(3, Math.floor(rounds / 5)); r++) {
    await newRun(`run_c${r}`);
    const t0 = performance.now();
    await journal(store, `run_c${r}`, 100);
    copy.push(performance.now() - t0);
  }
  return [
    ...SIZES.map((n) => {
      const s = samples.get(n)!;
      return summarize(`${name}: fork of a run of ${n} steps (all copied, one transaction)`, s, {
        n: s.length,
        failures: 0,
        throughputPerS: Math.round((s.length / s.reduce((a, b) => a + b, 0)) * 1000),
      });
    }),
    summarize(`${name}: the same 100 steps journaled one by one (claim + end each)`, copy, {
      n: copy.length,
      failures: 0,
    }),
  ];
}

/**
 * The fork benchmark: the store on SQLite and on a durable local PostgreSQL, then HTTP.
 * @example console.table(await benchForks(30))
 */
export async function benchForks(rounds = 30): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), "mend-fork-bench-"));
  const sqlite = SqliteStore.open(join(dir, "mend.db"));
  try {
    rows.push(...(await measureStore("SqliteStore", sqlite, rounds)));
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const avail = await postgresServer({ own: true, options: [] });
  if (!avail.server) throw new Error(avail.reason);
  const db = await freshDatabase(avail.server.url);
  const pg = await PostgresStore.open(db.url, { poolSize: 4 });
  try {
    rows.push(...(await measureStore("PostgresStore (durable local cluster)", pg, rounds)));
  } finally {
    await pg.close();
    await db.drop();
    await avail.server.stop();
  }
  const svc = await startService();
  try {
    const client = httpClient(svc.url, { maxSockets: 4 });
    const parent = await createClientRun(client);
    for (let i = 0; i < 100; i++) await postStep(client, parent, `s${i}`, false);
    const fork = await sequential(rounds * 3, 5, async () => {
      const made = await client.json<{ parentRunId?: string }>("POST", `/v1/runs/${parent}/fork`, {
        atSeq: 101,
      });
      if (made.parentRunId !== parent) throw new Error(`not a fork: ${JSON.stringify(made)}`);
    });
    rows.push(
      rowOf("HTTP: POST /v1/runs/{id}/fork of a 100-step client run (SQLite)", fork, {
        withThroughput: true,
      }),
    );
  } finally {
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) console.table(await benchForks());
