// Container sandbox latency: warm pool vs cold create vs the docker CLI, for print(6*7) in python.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner } from "../../sandboxes/src/container/docker-runner.ts";
import type { ContainerJob } from "../../sandboxes/src/container/runner.ts";
import { summarize, type Row } from "./stats.ts";

const exec = promisify(execFile);
const JOB: ContainerJob = { image: "python", code: "print(6*7)", limits: DEFAULT_CONTAINER_LIMITS };

async function timeRuns(
  n: number,
  once: () => Promise<void>,
  between?: () => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (between) await between();
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
  }
  return samples;
}

async function checked(runner: DockerRunner, wantPooled?: boolean): Promise<void> {
  const out = await runner.run(JOB);
  if (out.stdout !== "42\n") throw new Error(`unexpected output: ${out.stdout} ${out.stderr}`);
  if (wantPooled !== undefined && out.pooled !== wantPooled) throw new Error(`expected pooled=${wantPooled}`);
}

/**
 * Runs the container benchmark against the local engine (images must be built).
 * @example console.table(await benchContainer());
 */
export async function benchContainer(n = 30): Promise<Row[]> {
  const rows: Row[] = [];
  const warm = new DockerRunner({ pool: { python: 2 } });
  const cold = new DockerRunner();
  try {
    await warm.start();
    await cold.start();
    await warm.poolReady();
    await checked(cold); // image pages in the page cache
    const warmSamples = await timeRuns(
      n,
      () => checked(warm, true),
      () => warm.poolReady(),
    );
    rows.push(
      summarize("container warm pool: print(6*7), run() to outcome", warmSamples, {
        target: "p50 <= 50 ms",
        notes: "pool of 2, refilled between runs",
      }),
    );
    const coldSamples = await timeRuns(n, () => checked(cold, false));
    rows.push(
      summarize("container cold (no pool): print(6*7)", coldSamples, {
        target: "p50 <= 150 ms",
        notes: "create+attach+start+job; removal off the critical path",
      }),
    );
    const concurrency = 8;
    const perClient = Math.max(2, Math.floor(n / 4));
    const lat: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = 0; i < perClient; i++) {
          const t = performance.now();
          await checked(warm);
          lat.push(performance.now() - t);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    rows.push(
      summarize(`container ${concurrency} concurrent clients (pool 2 + cold misses)`, lat, {
        throughputPerS: Math.round((lat.length / secs) * 10) / 10,
        notes: "2 cores",
      }),
    );
    const cli = await timeRuns(Math.min(n, 15), async () => {
      const { stdout } = await exec("docker", [
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "python3",
        "mend-runtime-python",
        "-c",
        "print(6*7)",
      ]);
      if (stdout !== "42\n") throw new Error(`docker run printed ${stdout}`);
    });
    rows.push(
      summarize(
        "reference: docker run --rm --network none mend-runtime-python python3 -c 'print(6*7)'",
        cli,
        { notes: "CLI" },
      ),
    );
  } finally {
    await warm.dispose();
    await cold.dispose();
  }
  return rows;
}

if (import.meta.main) console.table(await benchContainer());
