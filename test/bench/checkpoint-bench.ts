// Checkpoint overhead in process: a no-op step journaled in SQLite, a tool step through RunService, a cache hit,
// and the replay of a 200-step run, all against real files in a temp data dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../service/src/config/config.ts";
import type { Caller } from "../../service/src/core/caller.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices, type Services } from "../../service/src/services/services.ts";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { rowOf, sequential } from "./load.ts";
import type { Row } from "./stats.ts";

const POLICIES_DIR = new URL("../../policies", import.meta.url).pathname;

/** A no-op step: claimStep (start journaled) then endStep (end journaled), nothing in between. */
async function storeRows(dir: string, n: number): Promise<Row[]> {
  const store = SqliteStore.open(join(dir, "store-only.db"));
  try {
    await store.createRun({ id: "run_bench", tenant: "local", mode: "client", goal: null, implicit: false });
    let i = 0;
    const r = await sequential(n, 500, async () => {
      const claim = await store.claimStep({
        runId: "run_bench",
        key: `k${i++}`,
        kind: "checkpoint",
        input: null,
      });
      if (claim.kind !== "claimed") throw new Error(`step k${i - 1} was already ${claim.step.status}`);
      await store.endStep("run_bench", claim.step.seq, {
        status: "succeeded",
        output: { ok: true },
        failure: null,
        usage: null,
      });
    });
    return [
      rowOf("no-op step: SqliteStore.claimStep + endStep (WAL, synchronous=NORMAL)", r, {
        throughputPerS: Math.round((r.samplesMs.length / r.wallMs) * 1000),
        target: { metric: "p50Ms", atMost: 0.2 },
        notes: "in process, one run, keys k0..kN",
      }),
    ];
  } finally {
    await store.close();
  }
}

type StepResult = { status: string; replayed?: boolean; cached?: boolean };

async function serviceRows(s: Services, who: Caller, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const { run } = await s.runs.create(who, { mode: "client" });
  let i = 0;
  const step = await sequential(n, 200, async () => {
    const key = `echo-${i++}`;
    const res = (await s.runs.step(who, run.id, key, {
      type: "tool",
      tool: "echo",
      args: { text: key },
    })) as StepResult;
    if (res.status !== "succeeded" || res.replayed) throw new Error(`step ${key}: ${res.status}`);
  });
  rows.push(
    rowOf("tool step (echo, new args) through RunService.step, in process", step, {
      notes: "full executor path: policy, journal start/end, cache miss + cache write, events",
    }),
  );

  const ctx = { tenant: who.tenant, runId: run.id, idempotencyKey: "x/1/1" };
  const first = await s.tools.call(who, "echo", { text: "x" }, ctx);
  if (!first.ok) throw new Error("the first echo call failed");
  const hit = await sequential(n * 2, 500, async () => {
    const r = await s.tools.call(who, "echo", { text: "x" }, ctx);
    if (!r.ok || r.cached !== true) throw new Error(`expected a cache hit, got ${JSON.stringify(r)}`);
  });
  rows.push(
    rowOf("cache hit: ToolCaller.call(echo {text:'x'}) after a first call", hit, {
      target: { metric: "p50Ms", atMost: 0.2 },
      notes: "in process; canonical JSON + sha256 + SQLite lookup",
    }),
  );

  const replayRun = (await s.runs.create(who, { mode: "client" })).run;
  for (let k = 0; k < 200; k++) {
    const res = (await s.runs.step(who, replayRun.id, `s${k}`, {
      type: "tool",
      tool: "echo",
      args: { text: `replay-${k}` },
    })) as StepResult;
    if (res.status !== "succeeded") throw new Error(`setting up the 200-step run: step s${k} ${res.status}`);
  }
  const replay = await sequential(30, 3, async () => {
    for (let k = 0; k < 200; k++) {
      const res = (await s.runs.step(who, replayRun.id, `s${k}`, {
        type: "tool",
        tool: "echo",
        args: { text: `replay-${k}` },
      })) as StepResult;
      if (res.replayed !== true) throw new Error(`step s${k} was not replayed`);
    }
  });
  rows.push(
    rowOf("(i) replay of a 200-step run: RunService.step on all 200 keys, in process", replay, {
      target: { metric: "p50Ms", atMost: 50 },
      notes: "one sample = all 200 journaled keys re-requested one after another",
    }),
  );
  return rows;
}

/**
 * Issue 5's in-process rows, in a temp data dir that is removed afterwards.
 * @example console.table(await benchCheckpointsInProcess())
 */
export async function benchCheckpointsInProcess(n = 5000): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "mend-bench-checkpoint-"));
  try {
    const rows = await storeRows(dir, n);
    const config = loadConfig({
      MEND_DATA_DIR: join(dir, "service"),
      MEND_POLICIES_DIR: POLICIES_DIR,
      MEND_LOG_LEVEL: "silent",
      MEND_POOL_SIZE: "0",
    });
    const s = await createServices(config, createLogger("silent", process.stderr), { containers: false });
    try {
      const policy = s.policies.get("default");
      if (!policy) throw new Error(`no default policy in ${POLICIES_DIR}`);
      rows.push(...(await serviceRows(s, { tenant: "local", keyId: null, policy }, Math.round(n / 2))));
    } finally {
      await s.dispose();
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.table(await benchCheckpointsInProcess());
