// runc beside runsc (gVisor): print(6*7) in the python image through the container runner, cold and from
// a warm pool, interleaved round by round so both runtimes see the same machine load.
import { DockerRunner } from "../../sandboxes/src/container/docker-runner.ts";
import { DEFAULT_CONTAINER_LIMITS } from "../../sandboxes/src/container/docker-runner.ts";
import type { ContainerRuntime } from "../../sandboxes/src/container/seccomp-profile.ts";
import { FailureTally } from "./failure-tally.ts";
import { summarize, type Row } from "./stats.ts";

const ROUNDS = 15;
const POOL_WAIT_MS = 60_000;
const limits = { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 60_000 };

interface Series {
  name: string;
  runtime: ContainerRuntime;
  warm: boolean;
  samplesMs: number[];
  failures: FailureTally;
}

async function once(runner: DockerRunner, s: Series): Promise<void> {
  if (s.warm) await runner.poolReady(POOL_WAIT_MS);
  const t0 = performance.now();
  const out = await runner.run({ image: "python", code: "print(6*7)", limits, runtime: s.runtime });
  const ms = performance.now() - t0;
  if (out.status !== "succeeded") throw new Error(`${out.failure.kind}: ${out.failure.message}`);
  if (out.stdout !== "42\n") throw new Error(`unexpected stdout ${JSON.stringify(out.stdout)}`);
  if (out.pooled !== s.warm) throw new Error(s.warm ? "pool miss" : "unexpected pool hit");
  s.samplesMs.push(ms);
}

/**
 * The issue-15 runtime rows: runc and runsc, cold (create + start + job) and warm (a pooled container).
 * @example const rows = await benchRuntimes(); rows[2]!.name // "runsc cold: ..."
 */
export async function benchRuntimes(rounds = ROUNDS): Promise<Row[]> {
  const cold = new DockerRunner();
  const warm = new DockerRunner({ pool: { python: 1 }, runscPool: { python: 1 }, poolLimits: limits });
  const series: Series[] = (["runc", "runsc"] as const).flatMap((runtime) => [
    {
      name: `${runtime} cold: create + start + job`,
      runtime,
      warm: false,
      samplesMs: [],
      failures: new FailureTally(),
    },
    {
      name: `${runtime} warm: from a pooled container`,
      runtime,
      warm: true,
      samplesMs: [],
      failures: new FailureTally(),
    },
  ]);
  try {
    await cold.start();
    await warm.start();
    // one untimed execution each: images in the page cache, runsc's first start paid
    for (const s of series) await once(s.warm ? warm : cold, { ...s, samplesMs: [] }).catch(() => undefined);
    for (let r = 0; r < rounds; r++) {
      for (const s of series) await once(s.warm ? warm : cold, s).catch((e: unknown) => s.failures.add(e));
    }
  } finally {
    await Promise.allSettled([cold.dispose(), warm.dispose()]);
  }
  const rows = series.map((s) => summarize(s.name, s.samplesMs, s.failures.fields()));
  for (const w of [false, true]) {
    const runc = rows[w ? 1 : 0]!;
    const runsc = rows[w ? 3 : 2]!;
    if (runc.p50Ms && runsc.p50Ms) {
      rows.push({
        name: `runsc / runc, ${w ? "warm" : "cold"} (p50)`,
        ratio: Math.round((runsc.p50Ms / runc.p50Ms) * 100) / 100,
      });
    }
  }
  return rows;
}
