// Resume after kill -9: SIGKILL the service (with steps in flight) over a data dir of thousands of journaled steps,
// restart it, and time from spawn to the first replayed step answered.
import { rmSync } from "node:fs";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { FailureTally } from "./failure-tally.ts";
import { httpClient } from "./http-client.ts";
import { createClientRun, postStep, type JournaledService } from "./steps-http-bench.ts";
import { summarize, type Row } from "./stats.ts";
import { phasesRow, startupPhases, type StartupPhases } from "./startup-phases.ts";

/**
 * Fires `n` long steps without waiting for them: they are in flight when the service is killed. Each promise
 * resolves to whether its step failed (the kill cuts it), never rejects.
 */
async function stepsInFlight(svc: ServiceProcess, n: number, tag: string): Promise<Promise<boolean>[]> {
  const client = httpClient(svc.url, { maxSockets: n + 1, timeoutMs: 20_000 });
  const runId = await createClientRun(client);
  const pending = Array.from({ length: n }, (_, j) =>
    postStep(client, runId, `${tag}-${j}`, false, { type: "tool", tool: "sleep", args: { ms: 10_000 } }),
  );
  // Let them reach the journal (claimStep) before the kill.
  await new Promise((r) => setTimeout(r, 200));
  const settled = pending.map((p) =>
    p.then(
      () => false,
      () => true,
    ),
  );
  void Promise.all(settled).then(() => client.close());
  return settled;
}

/**
 * Kills `journaled.svc` with SIGKILL `rounds` times (restarting each time) and reports the restart timings.
 * Stops the last service it started.
 * @example console.table(await benchResume(await benchStepsHttp().then((r) => r.journaled)))
 */
export async function benchResume(journaled: JournaledService, rounds = 3): Promise<Row[]> {
  const { probe } = journaled;
  let svc = journaled.svc;
  const listenMs: number[] = [];
  const firstReplayMs: number[] = [];
  const phases: StartupPhases[] = [];
  const failures = new FailureTally();
  let killedInFlight = 0;
  let inFlightErrors = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const pending = await stepsInFlight(svc, 16, `inflight-${round}`);
      killedInFlight += pending.length;
      const exit = await svc.stop("SIGKILL");
      if (exit.signal !== "SIGKILL")
        failures.add(new Error(`the service exited with ${JSON.stringify(exit)}`));
      inFlightErrors += (await Promise.all(pending)).filter(Boolean).length;

      const t0 = performance.now();
      svc = await startService({ MEND_POOL_SIZE: "0" }, journaled.svc.dataDir);
      listenMs.push(performance.now() - t0);
      const logged = startupPhases(svc);
      if (logged) phases.push(logged);
      const client = httpClient(svc.url, { maxSockets: 1, timeoutMs: 10_000 });
      try {
        await postStep(client, probe.runId, probe.key, true);
        firstReplayMs.push(performance.now() - t0);
      } catch (e) {
        failures.add(e);
      } finally {
        client.close();
      }
    }
  } finally {
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  const context = `data dir of ${journaled.runs.toLocaleString("en-US")} runs / ${journaled.steps.toLocaleString("en-US")} steps; 16 sleep steps in flight at each kill`;
  return [
    summarize("kill -9, restart: spawn → 'mend listening'", listenMs, {
      notes: `${context}; includes Node start, module loading, the store's open and migrations; the container engines start after listening`,
    }),
    phasesRow("kill -9, restart: the service's start-up phases (its own clock)", phases),
    summarize("kill -9, restart: spawn → first replayed step answered over HTTP", firstReplayMs, {
      ...failures.fields(),
      target: { metric: "p99Ms", atMost: 1000 },
      notes: `p99 = max of ${rounds}; in-flight requests cut by the kill: ${inFlightErrors} of ${killedInFlight} (expected)`,
    }),
  ];
}
