// Issue 14's fairness table: tenant B's latency alone vs under tenant A's flood (over HTTP, real service), and
// the cost of parking awaiting QuickJS guests (in process): guests per worker, memory per guest, latency.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { TEST_LIMITS, testInvoker, testRequest } from "../../sandboxes/src/testing/codemode-fixtures.ts";
import {
  floodPolicies,
  startFlood,
  trivial,
  type FloodOptions,
  type TrivialKind,
} from "../support/hostile-tenant.ts";
import { createKey, startService } from "../support/service-process.ts";
import { FailureTally } from "./failure-tally.ts";
import { sequential, rowOf, type LoadResult } from "./load.ts";
import { memoryFields } from "./proc-memory.ts";
import { percentile, round3, type Row } from "./stats.ts";

const KINDS: TrivialKind[] = ["quickjs", "v8", "container"];

/** B's trivial executions, one client per kind in parallel, for `ms`. */
async function measureB(url: string, key: string, ms: number): Promise<Record<TrivialKind, LoadResult>> {
  const end = performance.now() + ms;
  const out = {} as Record<TrivialKind, LoadResult>;
  await Promise.all(
    KINDS.map(async (kind) => {
      const failures = new FailureTally();
      const samplesMs: number[] = [];
      const t0 = performance.now();
      while (performance.now() < end) {
        try {
          samplesMs.push(await trivial(url, key, kind));
        } catch (e) {
          failures.add(e);
        }
      }
      out[kind] = { samplesMs, failures, wallMs: performance.now() - t0 };
    }),
  );
  return out;
}

const p99 = (r: LoadResult) => percentile(r.samplesMs, 0.99);

/** One flood phase: B measured while A floods, then A's report in the notes. */
async function floodRows(
  label: string,
  url: string,
  keys: { a: string; b: string },
  alone: Record<TrivialKind, LoadResult>,
  flood: Omit<FloodOptions, "url" | "key">,
  ms: number,
  servicePid: number | undefined,
): Promise<Row[]> {
  const a = startFlood({ url, key: keys.a, ...flood });
  // Let the flood reach its full size before B is timed.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const b = await measureB(url, keys.b, ms);
  const mem = memoryFields("service", servicePid);
  const report = await a.stop();
  const outcomes = Object.entries(report.outcomes)
    .map(([k, n]) => `${n}× ${k}`)
    .join(", ");
  return KINDS.map((kind) =>
    rowOf(`B ${kind} under A's ${label}`, b[kind], {
      ratio: round3(p99(b[kind]) / p99(alone[kind])),
      target: { metric: "ratio", atMost: 3 },
      ...mem,
      notes: `ratio = p99 under the flood / p99 alone; A's requests: ${outcomes}; A's 5xx: ${report.serverErrors}`,
    }),
  );
}

/** B alone, then under A's flood of awaiting scripts, relays and deep payloads, then under a CPU-bound flood. */
async function httpRows(): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "mend-bench-fair-"));
  const env = { MEND_DATA_DIR: dataDir, MEND_POLICIES_DIR: floodPolicies(), MEND_LOG_LEVEL: "info" };
  const [a, b] = await Promise.all([
    createKey(env, "tenant-a", "flood"),
    createKey(env, "tenant-b", "default"),
  ]);
  const svc = await startService({ ...env, MEND_POOL_SIZE: "2" }, dataDir);
  try {
    await measureB(svc.url, b, 3000); // warm-up: engines, image, pool
    const alone = await measureB(svc.url, b, 15_000);
    const rows = KINDS.map((kind) => rowOf(`B ${kind} alone`, alone[kind]));
    rows.push(
      ...(await floodRows(
        "flood: 64 awaiting scripts, 8 catastrophic-pattern relays, deep payloads",
        svc.url,
        { a, b },
        alone,
        { sleepers: 64, relays: 8, sleepMs: 20_000 },
        30_000,
        svc.child.pid,
      )),
    );
    rows.push(
      ...(await floodRows(
        "CPU flood: 8 QuickJS + 8 V8 `while (true)` scripts (5 s limit)",
        svc.url,
        { a, b },
        alone,
        { sleepers: 0, relays: 0, deepPayloads: false, cpuHogs: { quickjs: 8, v8: 8 } },
        20_000,
        svc.child.pid,
      )),
    );
    return rows;
  } finally {
    await svc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** In process: N guests parked on one QuickJS worker; memory per guest; another script's latency beside them. */
async function parkingRows(parkedCount = 2000): Promise<Row[]> {
  const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1 });
  const rows: Row[] = [];
  try {
    await engine.ready();
    const op = (code: string) => async () => {
      const o = await engine.execute(testRequest(code, { tenant: "b" }));
      if (o.status !== "succeeded") throw new Error(`script failed: ${o.failure.kind}`);
    };
    const THREE_CALLS =
      "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
    const emptyReturn = await sequential(300, 100, op("return 6 * 7"));
    const emptyCalls = await sequential(300, 50, op(THREE_CALLS));
    const wasm0 = engine.stats().wasmMb;
    const rss0 = process.memoryUsage().rss;
    const invoker = testInvoker();
    const limits = { ...TEST_LIMITS, timeoutMs: 120_000 };
    const parked = Array.from({ length: parkedCount }, () =>
      engine.execute(
        testRequest("await tools.sleep({ ms: 60000 });\nreturn 1;", {
          limits,
          tenant: "a",
          invokeTool: invoker,
        }),
      ),
    );
    const t0 = performance.now();
    while (engine.stats().parked < parkedCount) {
      if (performance.now() - t0 > 120_000)
        throw new Error(`only ${engine.stats().parked} of ${parkedCount} guests parked after 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const placeMs = performance.now() - t0;
    const wasmPerGuestKb = ((engine.stats().wasmMb - wasm0) * 1024) / parkedCount;
    const rssPerGuestKb = (process.memoryUsage().rss - rss0) / 1024 / parkedCount;
    const fullReturn = await sequential(300, 20, op("return 6 * 7"));
    const fullCalls = await sequential(300, 20, op(THREE_CALLS));
    const note = `${parkedCount} guests of tenant a parked on the engine's only worker (sleep 60 s), placed in ${Math.round(placeMs)} ms; wasm per parked guest ${wasmPerGuestKb.toFixed(1)} KiB, process RSS per parked guest ${rssPerGuestKb.toFixed(1)} KiB`;
    rows.push(rowOf("QuickJS in process: return 6*7, worker empty", emptyReturn));
    rows.push(
      rowOf(`QuickJS in process: return 6*7, ${parkedCount} guests parked on the same worker`, fullReturn, {
        ratio: round3(percentile(fullReturn.samplesMs, 0.99) / percentile(emptyReturn.samplesMs, 0.99)),
        notes: note,
      }),
    );
    rows.push(rowOf("QuickJS in process: 3 sequential echo calls, worker empty", emptyCalls));
    rows.push(
      rowOf(`QuickJS in process: 3 sequential echo calls, ${parkedCount} parked beside`, fullCalls, {
        ratio: round3(percentile(fullCalls.samplesMs, 0.99) / percentile(emptyCalls.samplesMs, 0.99)),
        memory: `wasm +${((wasmPerGuestKb * parkedCount) / 1024).toFixed(1)} MiB for ${parkedCount} parked guests`,
        notes: "each tool call parks the guest and resumes it: one slice per call",
      }),
    );
    await engine.dispose();
    await Promise.allSettled(parked);
  } finally {
    await engine.dispose();
  }
  return rows;
}

/**
 * The fairness rows of issue 14.
 * @example console.table(await benchFairness())
 */
export async function benchFairness(): Promise<Row[]> {
  return [...(await parkingRows()), ...(await httpRows())];
}
