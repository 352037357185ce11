// Load shapes for the benchmarks: one-at-a-time latency and closed-loop concurrency, counting every failure.
import { FailureTally } from "./failure-tally.ts";
import { summarize, type Row } from "./stats.ts";

/** What a measurement produced: latencies of the successful operations, the failures, and the wall time. */
export interface LoadResult {
  samplesMs: number[];
  failures: FailureTally;
  wallMs: number;
}

/** An operation under measurement: resolves when it succeeded, throws (with a message) when it failed. */
export type Op = (i: number) => Promise<void>;

/**
 * Runs `op` `n` times one after another (after `warmup` untimed runs; their failures count too); `between`
 * runs untimed before each one (a failure there counts, and skips that run).
 * @example const r = await sequential(1000, 100, async () => { await client.json("GET", "/json") })
 */
export async function sequential(
  n: number,
  warmup: number,
  op: Op,
  between?: () => Promise<void>,
): Promise<LoadResult> {
  const failures = new FailureTally();
  for (let i = 0; i < warmup; i++) await op(-1 - i).catch((e: unknown) => failures.add(e));
  const samplesMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (between) {
      try {
        await between();
      } catch (e) {
        failures.add(e);
        continue;
      }
    }
    const t = performance.now();
    try {
      await op(i);
      samplesMs.push(performance.now() - t);
    } catch (e) {
      failures.add(e);
    }
  }
  return { samplesMs, failures, wallMs: performance.now() - t0 };
}

/**
 * Runs `op` for i = 0..total-1 with `concurrency` operations in flight (closed loop: each worker starts the
 * next one when its previous one ends).
 * @example const r = await closedLoop(5000, 16, (i) => post(i)); throughput(r) // operations/s
 */
export async function closedLoop(total: number, concurrency: number, op: Op): Promise<LoadResult> {
  const failures = new FailureTally();
  const samplesMs: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t = performance.now();
        try {
          await op(i);
          samplesMs.push(performance.now() - t);
        } catch (e) {
          failures.add(e);
        }
      }
    }),
  );
  return { samplesMs, failures, wallMs: performance.now() - t0 };
}

/** Successful operations per second. */
export function throughput(r: LoadResult): number {
  return Math.round((r.samplesMs.length / r.wallMs) * 1000 * 10) / 10;
}

/**
 * A table row from a load result: percentiles of the successes, failures counted, throughput if asked.
 * @example rowOf("bare route", await closedLoop(5000, 16, op), { withThroughput: true })
 */
export function rowOf(
  name: string,
  r: LoadResult,
  extra: Partial<Row> & { withThroughput?: boolean } = {},
): Row {
  const { withThroughput, ...rest } = extra;
  return summarize(name, r.samplesMs, {
    ...r.failures.fields(),
    ...(withThroughput ? { throughputPerS: throughput(r) } : {}),
    ...rest,
  });
}
