// Durable steps side by side: Mend, Restate and DBOS run the same workload — workflows of 200 trivial
// steps, each durably journaled before the next — interleaved in one run, on the same 2 cores.
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { memoryFields } from "./proc-memory.ts";
import { procCpuMs } from "./proc-cpu.ts";
import { percentile, round3, type Row } from "./stats.ts";
import { restateWorkflow, startRestate, type RestatePeer } from "./peers/restate-peer.ts";
import { dbosWorkflow, startDbos, type DbosPeer } from "./peers/dbos-peer.ts";
import { startBareSteps, type BareSteps } from "./peers/bare-steps-server.ts";
import { randomUUID } from "node:crypto";

/** A system that runs one workflow of `steps` durable steps and reports each step's duration (ms). */
export interface DurablePeer {
  name: string;
  workflow(steps: number): Promise<number[]>;
  /** Processes whose memory the table reports. */
  pids(): number[];
  stop(): Promise<void>;
}

/** Mend, client-driven: each step is `POST /v1/runs/{id}/steps` of a trivial tool (sleep 0) the service executes. */
async function mendToolSteps(svc: ServiceProcess, client: HttpClient): Promise<DurablePeer> {
  return {
    name: "Mend: tool step (POST /v1/runs/{id}/steps, sleep 0)",
    async workflow(steps) {
      const run = (await client.json<{ id: string }>("POST", "/v1/runs", { mode: "client" })).id;
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        const r = await client.json<{ status: string }>("POST", `/v1/runs/${run}/steps`, {
          key: `s${i}`,
          action: { type: "tool", tool: "sleep", args: { ms: 0 } },
        });
        if (r.status !== "succeeded") throw new Error(`step ${i}: ${JSON.stringify(r)}`);
        times.push(performance.now() - t0);
      }
      return times;
    },
    pids: () => [svc.child.pid!],
    stop: async () => {},
  };
}

/** Mend, like `ctx.run`: the caller computes the value and journals it (`PUT …/checkpoints/{key}`, run.step). */
async function mendCheckpointSteps(svc: ServiceProcess, client: HttpClient): Promise<DurablePeer> {
  return {
    name: "Mend: caller's step (run.step → PUT /v1/runs/{id}/checkpoints/{key})",
    async workflow(steps) {
      const run = (await client.json<{ id: string }>("POST", "/v1/runs", { mode: "client" })).id;
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        const r = await client.json<{ value: unknown }>("PUT", `/v1/runs/${run}/checkpoints/s${i}`, {
          value: i,
        });
        if (r.value !== i) throw new Error(`step ${i}: ${JSON.stringify(r)}`);
        times.push(performance.now() - t0);
      }
      return times;
    },
    pids: () => [svc.child.pid!],
    stop: async () => {},
  };
}

/** The floor: the same journal writes (Mend's SqliteStore, group commit) behind a bare node:http server. */
function floorPeers(bare: BareSteps, client: HttpClient): DurablePeer[] {
  const floor = (name: string, step: (run: string, i: number) => Promise<unknown>): DurablePeer => ({
    name,
    async workflow(steps) {
      const run = (await client.json<{ id: string }>("POST", "/runs", {})).id;
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        await step(run, i);
        times.push(performance.now() - t0);
      }
      return times;
    },
    pids: () => [bare.child.pid!],
    stop: async () => {},
  });
  return [
    floor("Floor: tool step's writes (claim, then end) behind bare node:http", (run, i) =>
      client.json("POST", `/runs/${run}/steps`, { key: `s${i}` }),
    ),
    floor("Floor: caller's step's write (claim + end, one write) behind bare node:http", async (run, i) => {
      const r = await client.json<{ value: unknown }>("PUT", `/runs/${run}/checkpoints/s${i}`, { value: i });
      if (r.value !== i) throw new Error(`step ${i}: ${JSON.stringify(r)}`);
    }),
  ];
}

function restatePeer(peer: RestatePeer): DurablePeer {
  return {
    name: `Restate ${peer.version.replace(/^restate-server /, "")}: ctx.run (server + SDK endpoint)`,
    workflow: (steps) => restateWorkflow(peer, steps),
    pids: () => peer.pids(),
    stop: () => peer.stop(),
  };
}

function dbosPeer(peer: DbosPeer): DurablePeer {
  return {
    name: `DBOS ${peer.version}: DBOS.runStep (SDK app + PostgreSQL 15, synchronous_commit=off)`,
    workflow: (steps) => dbosWorkflow(peer, randomUUID(), steps),
    pids: () => peer.pids(),
    stop: () => peer.stop(),
  };
}

export interface DurableStepsOptions {
  workflows: number;
  steps: number;
  rounds: number;
}

interface Sample {
  wallMs: number;
  perStep: number[];
  failures: string[];
  /** CPU time of the peer's processes (pids()) during the sample. */
  cpuMs: number;
}

const cpuOf = (pids: number[]): number => pids.reduce((n, pid) => n + (procCpuMs(pid) ?? 0), 0);

async function measure(peer: DurablePeer, workflows: number, steps: number): Promise<Sample> {
  const perStep: number[] = [];
  const failures: string[] = [];
  const cpu0 = cpuOf(peer.pids());
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workflows }, async () => {
      try {
        perStep.push(...(await peer.workflow(steps)));
      } catch (e) {
        failures.push((e as Error).message);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  return { wallMs, perStep, failures, cpuMs: cpuOf(peer.pids()) - cpu0 };
}

function rowOf(name: string, samples: Sample[], steps: number, workflows: number, mem: Partial<Row>): Row {
  const throughputs = samples.map((s) => (s.perStep.length / s.wallMs) * 1000).sort((a, b) => a - b);
  const per = samples.flatMap((s) => s.perStep);
  const failures = samples.flatMap((s) => s.failures);
  const cpuPerStep = samples.reduce((n, s) => n + s.cpuMs, 0) / Math.max(1, per.length);
  return {
    name,
    n: samples.length * workflows * steps,
    failures: failures.length * steps,
    ...(failures.length ? { failureMessages: [...new Set(failures)] } : {}),
    p50Ms: round3(percentile(per, 0.5)),
    p99Ms: round3(percentile(per, 0.99)),
    throughputPerS: Math.round(throughputs[Math.floor(throughputs.length / 2)] ?? 0),
    notes: `CPU ${round3(cpuPerStep)} ms per step (its processes)`,
    ...mem,
  };
}

/**
 * Starts every peer (a peer that cannot start is reported with its reason, not hidden), then interleaves:
 * each round runs `workflows` concurrent workflows on each peer in turn, then one workflow alone.
 * @example const rows = await benchDurableSteps({ workflows: 16, steps: 200, rounds: 3 })
 */
export async function benchDurableSteps(opts: DurableStepsOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const peers: DurablePeer[] = [];
  const svc = await startService({ MEND_LOG_LEVEL: "info" });
  const client = httpClient(svc.url, { maxSockets: opts.workflows * 2 });
  peers.push(await mendToolSteps(svc, client), await mendCheckpointSteps(svc, client));
  const bare = await startBareSteps();
  const bareClient = httpClient(bare.url, { maxSockets: opts.workflows * 2 });
  const floors = floorPeers(bare, bareClient);
  peers.push(...floors);
  try {
    peers.push(restatePeer(await startRestate()));
  } catch (e) {
    rows.push({ name: "Restate", notes: `skipped: ${(e as Error).message.split("\n")[0]}` });
  }
  try {
    peers.push(dbosPeer(await startDbos()));
  } catch (e) {
    rows.push({ name: "DBOS", notes: `skipped: ${(e as Error).message.split("\n")[0]}` });
  }
  try {
    for (const p of peers) await measure(p, 2, 20); // warm-up, untimed
    const concurrent = new Map<DurablePeer, Sample[]>(peers.map((p) => [p, []]));
    const alone = new Map<DurablePeer, Sample[]>(peers.map((p) => [p, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const p of peers) concurrent.get(p)!.push(await measure(p, opts.workflows, opts.steps));
      for (const p of peers) alone.get(p)!.push(await measure(p, 1, opts.steps));
    }
    const mem = (p: DurablePeer): Partial<Row> => {
      const parts = p.pids().map((pid) => memoryFields(`pid ${pid}`, pid));
      const peak = parts.reduce((n, m) => n + (m.peakRssMb ?? 0), 0);
      return { peakRssMb: Math.round(peak), memory: parts.map((m) => m.memory).join("; ") };
    };
    const byPeer = new Map<DurablePeer, { conc: Row; one: Row }>();
    for (const p of peers) {
      const conc = rowOf(
        `${p.name} — ${opts.workflows} workflows × ${opts.steps} steps`,
        concurrent.get(p)!,
        opts.steps,
        opts.workflows,
        mem(p),
      );
      const one = rowOf(`${p.name} — 1 workflow, per step`, alone.get(p)!, opts.steps, 1, {});
      byPeer.set(p, { conc, one });
      rows.push(conc, one);
    }
    // Mend ÷ its floor: what the edge and the engine add to the same journal writes (higher is better).
    const mends = peers.filter((x) => x.name.startsWith("Mend"));
    mends.forEach((p, i) => {
      const mine = byPeer.get(p)!;
      const base = byPeer.get(floors[i]!)!;
      rows.push({
        name: `${p.name.replace(/ \(.*$/, "")} ÷ its floor: steps/s with ${opts.workflows} workflows`,
        ratio: round3((mine.conc.throughputPerS ?? 0) / (base.conc.throughputPerS ?? 1)),
      });
      rows.push({
        name: `${p.name.replace(/ \(.*$/, "")} ÷ its floor: per-step p50, 1 workflow (lower is better)`,
        ratio: round3((mine.one.p50Ms ?? 0) / (base.one.p50Ms ?? 1)),
      });
    });
    for (const peerName of ["Restate", "DBOS"]) {
      const other = peers.find((p) => p.name.startsWith(peerName));
      if (!other) continue;
      const base = byPeer.get(other)!;
      // The floor's own ratio (no target) says how far the same writes behind no framework get.
      for (const p of [...mends, ...floors]) {
        const mine = byPeer.get(p)!;
        rows.push({
          name: `${p.name.replace(/ \(.*$/, "")} ÷ ${peerName}: steps/s with ${opts.workflows} workflows`,
          ratio: round3((mine.conc.throughputPerS ?? 0) / (base.conc.throughputPerS ?? 1)),
          ...(floors.includes(p) ? {} : { target: { metric: "ratio" as const, atLeast: 2 } }),
        });
        rows.push({
          name: `${p.name.replace(/ \(.*$/, "")} ÷ ${peerName}: per-step p50, 1 workflow (lower is better)`,
          ratio: round3((mine.one.p50Ms ?? 0) / (base.one.p50Ms ?? 1)),
        });
      }
    }
  } finally {
    client.close();
    bareClient.close();
    await bare.stop();
    await svc.stop();
    for (const p of peers) await p.stop();
  }
  return rows;
}
