// Container executions end to end over HTTP: print(6*7) in the python image with a warm pool, cold, and the
// docker CLI as the reference.
import { rmSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, rowOf, sequential, type Op } from "./load.ts";
import { memoryFields } from "./proc-memory.ts";
import type { Row } from "./stats.ts";

const exec = promisify(execFile);
const POOL_SIZE = 2;
const REFILL_TIMEOUT_MS = 30_000;

function printOp(client: HttpClient): Op {
  return async () => {
    const res = await client.json<{
      status: string;
      stdout?: string;
      failure?: { kind: string; message: string };
    }>("POST", "/v1/executions", { sandbox: "container", image: "python", code: "print(6*7)" });
    if (res.status !== "succeeded")
      throw new Error(`execution ${res.status}: ${res.failure?.kind} ${res.failure?.message}`);
    if (res.stdout !== "42\n") throw new Error(`unexpected stdout ${JSON.stringify(res.stdout)}`);
  };
}

/** Ids of the service's idle-or-busy pooled containers (labels set by DockerRunner). */
async function pooledIds(svc: ServiceProcess): Promise<string[]> {
  const { stdout } = await exec("docker", [
    "ps",
    "-q",
    "--no-trunc",
    "--filter",
    "label=mend.pooled=1",
    "--filter",
    `label=mend.owner.pid=${svc.child.pid}`,
  ]);
  return stdout.split("\n").filter(Boolean);
}

/**
 * Waits until exactly `size` pooled containers run (a used one has exited) and `mustInclude` are among them;
 * throws after REFILL_TIMEOUT_MS (counted as a failure).
 */
async function poolSettled(svc: ServiceProcess, size: number, mustInclude: string[] = []): Promise<string[]> {
  const deadline = Date.now() + REFILL_TIMEOUT_MS;
  for (;;) {
    const ids = await pooledIds(svc);
    if (ids.length === size && mustInclude.every((id) => ids.includes(id))) return ids;
    if (Date.now() > deadline)
      throw new Error(`the pool held ${ids.length} of ${size} containers after ${REFILL_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The ids that appeared since `before` (a refill: the request before took a pooled container), within `withinMs`. */
async function refillSince(svc: ServiceProcess, before: string[], withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const fresh = (await pooledIds(svc)).filter((id) => !before.includes(id));
    if (fresh.length > 0 || Date.now() > deadline) return fresh;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function concurrentRow(
  name: string,
  client: HttpClient,
  svc: ServiceProcess,
  note: string,
): Promise<Row> {
  return rowOf(name, await closedLoop(40, 8, printOp(client)), {
    withThroughput: true,
    ...memoryFields("service", svc.child.pid),
    notes: note,
  });
}

/**
 * Issue 4's rows: warm pool (refilled between runs, hits observed through docker labels), cold, 8 concurrent
 * clients, and `docker run` from the CLI.
 * @example console.table(await benchContainers())
 */
export async function benchContainers(n = 20): Promise<Row[]> {
  const rows: Row[] = [];
  const cli = await sequential(10, 1, async () => {
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
    if (stdout !== "42\n") throw new Error(`docker run printed ${JSON.stringify(stdout)}`);
  });
  rows.push(
    rowOf("reference: docker run --rm --network none mend-runtime-python python3 -c 'print(6*7)'", cli, {
      notes: "docker CLI; --entrypoint python3 (the image's entrypoint is the job launcher)",
    }),
  );

  // a fixed pool (MEND_POOL_MAX = size): these rows count hits against exactly POOL_SIZE containers; the
  // adaptive pool's rows are in pool-bench.ts
  const warmSvc = await startService({ MEND_POOL_SIZE: String(POOL_SIZE), MEND_POOL_MAX: String(POOL_SIZE) });
  const warm = httpClient(warmSvc.url, { maxSockets: 8, timeoutMs: 60_000 });
  try {
    await printOp(warm)(0); // image and code paths warm
    // A request was a pool hit when a pooled container was created after it (the pool refills what is taken).
    let hits = 0;
    let before: string[] | undefined;
    const observe = async (): Promise<void> => {
      const fresh = before ? await refillSince(warmSvc, before, 3_000) : [];
      if (fresh.length > 0) hits++;
      before = await poolSettled(warmSvc, POOL_SIZE, fresh);
    };
    const r = await sequential(n, 0, printOp(warm), observe);
    await observe().catch(() => undefined);
    rows.push(
      rowOf(`warm pool (MEND_POOL_SIZE=${POOL_SIZE}, fixed) over HTTP: print(6*7), one at a time`, r, {
        target: { metric: "p50Ms", atMost: 50 },
        notes: `pool full before each request (untimed wait); pool hits ${hits}/${n} (seen through docker labels)`,
      }),
    );
    rows.push(
      await concurrentRow(
        "warm pool over HTTP: 8 concurrent clients",
        warm,
        warmSvc,
        `pool of ${POOL_SIZE}: beyond it requests go cold; load generator shares the 2 cores with dockerd`,
      ),
    );
  } finally {
    warm.close();
    await warmSvc.stop();
    rmSync(warmSvc.dataDir, { recursive: true, force: true });
  }

  const coldSvc = await startService({ MEND_POOL_SIZE: "0" });
  const cold = httpClient(coldSvc.url, { maxSockets: 8, timeoutMs: 60_000 });
  try {
    rows.push(
      rowOf(
        "cold (MEND_POOL_SIZE=0) over HTTP: print(6*7), one at a time",
        await sequential(n, 2, printOp(cold)),
        {
          target: { metric: "p50Ms", atMost: 150 },
          notes: "create + start + job per request",
        },
      ),
    );
    rows.push(await concurrentRow("cold over HTTP: 8 concurrent clients", cold, coldSvc, "no pool"));
  } finally {
    cold.close();
    await coldSvc.stop();
    rmSync(coldSvc.dataDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) console.table(await benchContainers());
