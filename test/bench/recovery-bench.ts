// kill -9 in the middle of a durable workflow, side by side: Mend, Restate and DBOS each run 200 steps, the
// process executing them is SIGKILLed right after step 100 is journaled and started again at once; the
// time from the kill to the workflow's completion, and (Mend) to its first replayed answer.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { percentile, round3, type Row } from "./stats.ts";
import { phasesRow, startupPhases, type StartupPhases } from "./startup-phases.ts";
import { restateWorkflow, startRestate } from "./peers/restate-peer.ts";
import { dbosWorkflow, startDbos } from "./peers/dbos-peer.ts";
import { bareHttpListeningMs, emptyNodeMs } from "./startup-floors.ts";

const STEPS = 200;
const KILL_AFTER = 100;

interface Recovery {
  /** Kill → the workflow's last step answered. */
  completedMs: number;
  /** Kill → the first answer after the restart (Mend: the replay of the step in flight). */
  firstAnswerMs?: number;
  /** Spawn → the restarted process accepts connections. */
  startMs?: number;
  /** The restarted service's own account of its start-up. */
  phases?: StartupPhases;
  /** Kill → the bench sees the killed process gone (Mend). */
  exitMs?: number;
  /** Listening → the answer of the first request after the restart (the replayed step 100). */
  firstRequestMs?: number;
  /** The request after it (step 101, new): what the first one pays more is the cold path. */
  secondRequestMs?: number;
}

const step = (client: HttpClient, run: string, i: number) =>
  client.json<{ status: string; replayed?: boolean }>("POST", `/v1/runs/${run}/steps`, {
    key: `s${i}`,
    action: { type: "tool", tool: "sleep", args: { ms: 0 } },
  });

/**
 * Mend: the client drives the run; the service dies after step 100 and the client retries until it answers.
 * `entry`: the bundle (dist/, as npm start and the image run it) or the TypeScript sources.
 */
async function mendRecovery(entry: "dist" | "sources"): Promise<{ r: Recovery }> {
  let svc: ServiceProcess = await startService({ MEND_LOG_LEVEL: "info" }, undefined, { entry });
  let client = httpClient(svc.url, { maxSockets: 1, timeoutMs: 10_000 });
  const run = (await client.json<{ id: string }>("POST", "/v1/runs", { mode: "client" })).id;
  for (let i = 0; i <= KILL_AFTER; i++) await step(client, run, i);
  const killedAt = performance.now();
  svc.child.kill("SIGKILL");
  await svc.exited;
  const exitMs = performance.now() - killedAt;
  client.close();
  const spawnedAt = performance.now();
  svc = await startService({ MEND_LOG_LEVEL: "info" }, svc.dataDir, { entry });
  const startMs = performance.now() - spawnedAt;
  const phases = startupPhases(svc);
  client = httpClient(svc.url, { maxSockets: 1, timeoutMs: 10_000 });
  const listeningAt = performance.now();
  const replay = await step(client, run, KILL_AFTER);
  if (replay.replayed !== true) throw new Error("step 100 was not replayed after the restart");
  const firstAnswerMs = performance.now() - killedAt;
  const firstRequestMs = performance.now() - listeningAt;
  const secondAt = performance.now();
  await step(client, run, KILL_AFTER + 1);
  const secondRequestMs = performance.now() - secondAt;
  for (let i = KILL_AFTER + 2; i < STEPS; i++) await step(client, run, i);
  const completedMs = performance.now() - killedAt;
  client.close();
  await svc.stop();
  rmSync(svc.dataDir, { recursive: true, force: true });
  return {
    r: {
      completedMs,
      firstAnswerMs,
      startMs,
      exitMs,
      firstRequestMs,
      secondRequestMs,
      ...(phases ? { phases } : {}),
    },
  };
}

function rows(name: string, rs: Recovery[], failures: string[], target?: Row["target"]): Row[] {
  const out: Row[] = [];
  const pick = (f: keyof Recovery) => rs.map((r) => r[f]).filter((x): x is number => x !== undefined);
  const row = (label: string, xs: number[], t?: Row["target"]): Row => ({
    name: `${name}: ${label}`,
    n: rs.length + failures.length,
    failures: failures.length,
    ...(failures.length ? { failureMessages: [...new Set(failures)] } : {}),
    p50Ms: round3(percentile(xs, 0.5)),
    p99Ms: round3(percentile(xs, 0.99)),
    ...(t ? { target: t } : {}),
  });
  out.push(row("kill -9 at step 100 → workflow completed", pick("completedMs")));
  if (pick("firstAnswerMs").length)
    out.push(row("kill -9 → first replayed answer", pick("firstAnswerMs"), target));
  // The start-up target is the production entry's (the row with a target): the sources arm compares.
  if (pick("startMs").length)
    out.push(
      row(
        "restart: spawn → listening",
        pick("startMs"),
        target ? { metric: "p50Ms", atMost: 200 } : undefined,
      ),
    );
  const phases = rs.map((r) => r.phases).filter((p): p is StartupPhases => p !== undefined);
  if (phases.length) out.push(phasesRow(`${name}: restart phases (the service's own clock)`, phases));
  if (pick("firstRequestMs").length) {
    const p50 = (f: keyof Recovery) => round3(percentile(pick(f), 0.5));
    out.push({
      ...row("restart: listening → first replayed answer", pick("firstRequestMs")),
      notes: `kill → first answer = kill → the process gone (p50 ${p50("exitMs")} ms) + spawn → listening + this; the next request (a new step) p50 ${p50("secondRequestMs")} ms`,
    });
  }
  return out;
}

/** Node's floors (interleaved with the restarts) and the service's start ÷ the bare server's. */
function floorRows(floors: { empty: number[]; http: number[] }, mend: Recovery[]): Row[] {
  const floor = (name: string, xs: number[]): Row => ({
    name,
    n: xs.length,
    failures: 0,
    p50Ms: round3(percentile(xs, 0.5)),
    p99Ms: round3(percentile(xs, 0.99)),
  });
  const starts = mend.map((r) => r.startMs).filter((x): x is number => x !== undefined);
  const out = [
    floor("Floor: node -e '' (spawn → exit), between the restarts", floors.empty),
    floor("Floor: a bare node:http server (spawn → listening), between the restarts", floors.http),
  ];
  if (starts.length && floors.http.length)
    out.push({
      name: "Mend restart: spawn → listening ÷ the bare node:http server's",
      ratio: round3(percentile(starts, 0.5) / percentile(floors.http, 0.5)),
      notes: `p50s; the difference, ${Math.round(percentile(starts, 0.5) - percentile(floors.http, 0.5))} ms, is what the service's modules and services add to Node's own start`,
    });
  return out;
}

/**
 * Interleaves `rounds` recoveries of each system (a system that cannot start is reported as skipped).
 * @example const table = await benchRecovery(3)
 */
export async function benchRecovery(rounds: number): Promise<Row[]> {
  const out: Row[] = [];
  const results = {
    mend: [] as Recovery[],
    sources: [] as Recovery[],
    restate: [] as Recovery[],
    dbos: [] as Recovery[],
  };
  const floors = { empty: [] as number[], http: [] as number[] };
  const failures = {
    mend: [] as string[],
    sources: [] as string[],
    restate: [] as string[],
    dbos: [] as string[],
  };
  const restate = await startRestate().catch((e: Error) => e);
  const dbos = await startDbos().catch((e: Error) => e);
  try {
    for (let i = 0; i < rounds; i++) {
      // Node's own start-up on the machine as it is now, next to each of the service's restarts.
      for (let j = 0; j < 3; j++) {
        floors.empty.push(await emptyNodeMs());
        floors.http.push(await bareHttpListeningMs());
      }
      await mendRecovery("dist").then(
        ({ r }) => results.mend.push(r),
        (e: Error) => failures.mend.push(e.message),
      );
      // The same from the TypeScript sources (type stripping at run time), for the bundle's gain.
      await mendRecovery("sources").then(
        ({ r }) => results.sources.push(r),
        (e: Error) => failures.sources.push(e.message),
      );
      if (!(restate instanceof Error)) {
        try {
          const said = restate.handlerSaid(`step ${KILL_AFTER}`);
          const done = restateWorkflow(restate, STEPS, randomUUID());
          await said;
          const killedAt = performance.now();
          restate.killHandler();
          await restate.startHandler();
          await done;
          results.restate.push({ completedMs: performance.now() - killedAt });
        } catch (e) {
          failures.restate.push((e as Error).message);
        }
      }
      if (!(dbos instanceof Error)) {
        try {
          const id = randomUUID();
          const said = dbos.appSaid(`step ${KILL_AFTER}`);
          const first = dbosWorkflow(dbos, id, STEPS).catch(() => null); // its connection dies with the app
          await said;
          const killedAt = performance.now();
          dbos.killApp();
          await first;
          await dbos.startApp();
          await dbosWorkflow(dbos, id, STEPS, "/result");
          results.dbos.push({ completedMs: performance.now() - killedAt });
        } catch (e) {
          failures.dbos.push((e as Error).message);
        }
      }
    }
  } finally {
    if (!(restate instanceof Error)) await restate.stop();
    if (!(dbos instanceof Error)) await dbos.stop();
  }
  out.push(
    ...rows("Mend (service SIGKILLed, restarted, client retries)", results.mend, failures.mend, {
      metric: "p50Ms",
      atMost: 300,
    }),
    ...rows("Mend from sources (node service/src/cli/main.ts)", results.sources, failures.sources),
    ...floorRows(floors, results.mend),
  );
  if (restate instanceof Error)
    out.push({ name: "Restate", notes: `skipped: ${restate.message.split("\n")[0]}` });
  else
    out.push(
      ...rows(
        "Restate (SDK endpoint SIGKILLed, restarted; the server retries)",
        results.restate,
        failures.restate,
      ),
    );
  if (dbos instanceof Error) out.push({ name: "DBOS", notes: `skipped: ${dbos.message.split("\n")[0]}` });
  else
    out.push(
      ...rows("DBOS (app SIGKILLed, restarted; launch recovers the workflow)", results.dbos, failures.dbos),
    );
  return out;
}
