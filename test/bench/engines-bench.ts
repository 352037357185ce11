// Several Docker engines: placement over two engines (the machine's and a dockerd of the bench's own), and
// SIGKILL of the second dockerd: kill → the job on it reported lost, → the job succeeded on the first engine.
import type { ContainerOutcome } from "@mend/sandboxes";
import { DEFAULT_CONTAINER_LIMITS, MultiEngineRunner } from "@mend/sandboxes/docker";
import { setTimeout as delay } from "node:timers/promises";
import { startSecondDockerd } from "../support/second-dockerd.ts";
import { summarize, type Row } from "./stats.ts";

const KILLS = 5;
const PLACED = 16;
const limits = { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 120_000 };

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await delay(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The `engines` section: 16 `print(6*7)` jobs 4 at a time over two engines (no warm pool), then 5 rounds
 * of one long job on each engine (warm pool of 1 on each, as the service's default) and SIGKILL of the
 * second dockerd.
 * @example const rows = await benchEngines();
 */
export async function benchEngines(): Promise<Row[]> {
  const d2 = await startSecondDockerd();
  const engines = [
    { name: "local", url: "unix:///var/run/docker.sock" },
    { name: "second", url: `unix://${d2.socketPath}` },
  ];
  const runner = new MultiEngineRunner({ engines });
  // the kill rounds with the service's default: a warm pool on each engine (the retry is a warm hit)
  const pooled = new MultiEngineRunner({ engines, pool: { python: 1 } });
  try {
    await runner.start();
    const rows: Row[] = [];

    // placement
    const wall: number[] = [];
    const perEngine = new Map<string, number>();
    let failures = 0;
    const messages: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < PLACED) {
          next += 1;
          const t0 = performance.now();
          const out = await runner.run({ image: "python", code: "print(6*7)", limits });
          if (out.status !== "succeeded" || out.stdout !== "42\n") {
            failures += 1;
            messages.push(out.status === "failed" ? out.failure.kind : "wrong output");
            continue;
          }
          wall.push(performance.now() - t0);
          const e = out.usage.engine ?? "?";
          perEngine.set(e, (perEngine.get(e) ?? 0) + 1);
        }
      }),
    );
    rows.push({
      ...summarize(`placement: ${PLACED} print(6*7), 4 at a time, two engines, no pool`, wall, { failures }),
      failures,
      ...(messages.length ? { failureMessages: messages } : {}),
      notes: [...perEngine].map(([e, n]) => `${n} on ${e}`).join(", "),
    });

    // SIGKILL of the second engine under a job
    await runner.dispose();
    await pooled.start();
    const lostMs: number[] = [];
    const healedMs: number[] = [];
    let killFailures = 0;
    const killMessages: string[] = [];
    for (let round = 0; round < KILLS; round++) {
      const abort = new AbortController();
      const long = { image: "python", code: "import time; time.sleep(60)", limits, signal: abort.signal };
      const outcomes: Promise<ContainerOutcome>[] = [pooled.run(long), pooled.run(long)];
      // each job took its engine's pooled container; the pools refill (2 containers on each engine)
      await until("a job and a refilled pool on each engine", () =>
        pooled.engines().every((e) => e.containers >= 2),
      );
      await pooled.poolReady();
      await delay(300);
      const killedAt = performance.now();
      const killing = d2.kill();
      const first = await Promise.race(outcomes);
      const lostAt = performance.now();
      const retry = await pooled.run({ image: "python", code: "print(6*7)", limits });
      const healedAt = performance.now();
      abort.abort();
      await Promise.allSettled([...outcomes, killing]);
      const lostKind = first.status === "failed" ? first.failure.kind : "succeeded";
      if (!["container_lost", "sandbox_unavailable"].includes(lostKind) || first.usage.engine === "local") {
        killFailures += 1;
        killMessages.push(`the job on the killed engine ended ${lostKind} on ${first.usage.engine}`);
      } else if (retry.status !== "succeeded" || retry.usage.engine !== "local") {
        killFailures += 1;
        killMessages.push(`retry ${retry.status} on ${retry.usage.engine}`);
      } else {
        lostMs.push(lostAt - killedAt);
        healedMs.push(healedAt - killedAt);
      }
      await d2.restart();
      await until("the second engine back in placement", () =>
        pooled.engines().every((e) => e.state === "up"),
      );
    }
    rows.push({
      ...summarize("dockerd SIGKILL → the job on it reported lost", lostMs),
      n: KILLS,
      failures: killFailures,
      ...(killMessages.length ? { failureMessages: killMessages } : {}),
    });
    rows.push({
      ...summarize("dockerd SIGKILL → print(6*7) succeeded on the other engine", healedMs),
      n: KILLS,
      failures: killFailures,
      target: { metric: "p50Ms", atMost: 1000 },
      notes: "retry started when the loss is reported; the policy's first backoff (200 ms) comes on top",
    });
    return rows;
  } finally {
    await runner.dispose();
    await pooled.dispose();
    await d2.stop();
  }
}
