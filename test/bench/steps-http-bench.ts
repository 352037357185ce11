// Client-driven steps over HTTP against the real service: steps/s across many runs, replay of a 200-step run,
// and reading its journal. Leaves a data dir of 1,000 runs / 20,000 steps for the kill -9 resume benchmark.
import { rmSync } from "node:fs";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, rowOf, sequential } from "./load.ts";
import { memoryFields } from "./proc-memory.ts";
import type { Row } from "./stats.ts";

type StepReply = { status: string; replayed?: boolean; failure?: { kind: string; message: string } };

const SLEEP_0 = { type: "tool", tool: "sleep", args: { ms: 0 } };

/**
 * POST /v1/runs/{id}/steps; throws unless the step succeeded and was (or was not) replayed as expected.
 * @example await postStep(client, runId, "s-1", false) // executes sleep {ms: 0}; again with true: replayed
 */
export async function postStep(
  client: HttpClient,
  runId: string,
  key: string,
  wantReplayed: boolean,
  action: unknown = SLEEP_0,
): Promise<void> {
  const res = await client.json<StepReply>("POST", `/v1/runs/${runId}/steps`, { key, action });
  if (res.status !== "succeeded")
    throw new Error(`step ${res.status}: ${res.failure?.kind} ${res.failure?.message}`);
  if ((res.replayed === true) !== wantReplayed)
    throw new Error(`step was ${res.replayed ? "" : "not "}replayed, expected the opposite`);
}

/**
 * Creates a client-driven run and returns its id.
 * @example const runId = await createClientRun(client)
 */
export async function createClientRun(client: HttpClient): Promise<string> {
  return (await client.json<{ id: string }>("POST", "/v1/runs", { mode: "client" })).id;
}

/** What the resume benchmark needs from this one: the service (still running) and a journaled step. */
export interface JournaledService {
  svc: ServiceProcess;
  runs: number;
  steps: number;
  /** A run and key whose step succeeded: re-requesting it must replay. */
  probe: { runId: string; key: string };
}

/**
 * Issue 5's HTTP rows. The service stays up (returned) for the kill -9 benchmark, which stops it.
 * @example const { rows, journaled } = await benchStepsHttp(); ...; await journaled.svc.stop()
 */
export async function benchStepsHttp(
  runs = 1000,
  stepsPerRun = 10,
): Promise<{ rows: Row[]; journaled: JournaledService }> {
  const rows: Row[] = [];
  const svc = await startService({ MEND_POOL_SIZE: "0" });
  const client = httpClient(svc.url, { maxSockets: 64 });
  try {
    const ids: string[] = [];
    const create = await closedLoop(runs, 32, async (i) => {
      ids[i] = await createClientRun(client);
    });
    rows.push(
      rowOf("POST /v1/runs {mode: client}, 32 in flight", create, {
        withThroughput: true,
        notes: `${runs} runs`,
      }),
    );
    const live = ids.filter(Boolean);
    const total = live.length * stepsPerRun;
    // Index i → run i % runs, step i / runs: the steps of one run are ~runs indices apart, so each run's
    // steps happen one after another while `concurrency` runs progress in parallel.
    for (const concurrency of [16, 48]) {
      const r = await closedLoop(total, concurrency, (i) =>
        postStep(client, live[i % live.length]!, `s-${concurrency}-${Math.floor(i / live.length)}`, false),
      );
      rows.push(
        rowOf(`client-driven steps over HTTP (tool sleep {ms:0}), ${concurrency} in flight`, r, {
          withThroughput: true,
          target: { metric: "throughputPerS", atLeast: 2000 },
          ...memoryFields("service", svc.child.pid),
          notes: `${total} steps over ${live.length} runs, distinct keys; sleep ms:0 is a ≥ 1 ms timer; load generator shares the 2 cores`,
        }),
      );
    }

    const replayRun = await createClientRun(client);
    for (let k = 0; k < 200; k++) await postStep(client, replayRun, `r${k}`, false);
    rows.push(
      rowOf(
        "(ii) replay of a 200-step run over HTTP: 200 POST /steps one after another",
        await sequential(15, 2, async () => {
          for (let k = 0; k < 200; k++) await postStep(client, replayRun, `r${k}`, true);
        }),
        {
          target: { metric: "p50Ms", atMost: 50 },
          notes: "one sample = 200 sequential requests, each answered from the journal",
        },
      ),
    );
    rows.push(
      rowOf(
        "(iii) GET /v1/runs/{id}/steps of a 200-step run",
        await sequential(100, 10, async () => {
          const steps = await client.json<unknown[]>("GET", `/v1/runs/${replayRun}/steps`);
          if (steps.length !== 200) throw new Error(`the journal lists ${steps.length} steps, not 200`);
        }),
        { target: { metric: "p50Ms", atMost: 50 }, notes: "the whole journal in one response" },
      ),
    );
    return {
      rows,
      journaled: {
        svc,
        runs: live.length + 1,
        steps: 2 * total + 200,
        probe: { runId: replayRun, key: "r0" },
      },
    };
  } catch (e) {
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
    throw e;
  } finally {
    client.close();
  }
}
