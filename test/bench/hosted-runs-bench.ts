// Many concurrent hosted runs against the fake LLM (200 ms a turn): do they all succeed, how fast, what Mend adds
// per step beyond the model's latency, and the service's peak memory.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeLlm } from "../support/fake-llm.ts";
import { finish, runOrchestration } from "../support/fake-llm-turns.ts";
import { startService } from "../support/service-process.ts";
import { FailureTally } from "./failure-tally.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, rowOf } from "./load.ts";
import { procCpuMs } from "./proc-cpu.ts";
import { hostedTurnFloor } from "./hosted-floor.ts";
import { memoryFields, procMemory } from "./proc-memory.ts";
import { summarize, type Row } from "./stats.ts";

const TURNS = 10;
const LLM_LATENCY_MS = 200;
/** The service's default QuickJS workers (MEND_CODEMODE_WORKERS): the floor runs as many. */
const CODEMODE_WORKERS = 4;
/** Sizes up to which the floor is measured (at 10,000 loops its engine alone is swamped for many minutes). */
const FLOOR_UP_TO = 2000;
const DEFAULT_POLICY = new URL("../../policies/default.yaml", import.meta.url).pathname;

/** A policies dir whose default policy lets a run take 10+ iterations and fails (visibly) when a budget is spent. */
function benchPolicies(): string {
  const dir = mkdtempSync(join(tmpdir(), "mend-bench-policies-"));
  // The budgets mapping, flow or block style (its indented lines and trailing comments included).
  const yaml = readFileSync(DEFAULT_POLICY, "utf8").replace(
    /^budgets:.*\n(?:[ \t]+.*\n)*/m,
    "budgets: { iterations: 50, consecutiveFailures: 10, wallMs: 3600000, tokens: 100000000, onExhausted: fail }\n",
  );
  if (!yaml.includes("iterations: 50")) throw new Error(`no budgets line to replace in ${DEFAULT_POLICY}`);
  writeFileSync(join(dir, "default.yaml"), yaml);
  return dir;
}

interface RunView {
  id: string;
  status: string;
  goal: string;
  createdAt: string;
  updatedAt: string;
  failure?: { kind: string; message: string };
}

/** Every run in `status`, through the paged list. */
async function listAll(client: HttpClient, status: string): Promise<RunView[]> {
  const all: RunView[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/v1/runs?status=${status}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page: { items: RunView[]; nextCursor: string | null } = await client.json("GET", q);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

const goalOf = (i: number) => `bench run ${String(i).padStart(5, "0")} of many`;
const GOAL_RE = /bench run (\d{5}) of many/;

/**
 * One size: `runs` hosted runs created at once (64 creations in flight), each 9 code-mode turns then finish.
 * @example console.table(await benchHostedRunsOnce(500))
 */
export async function benchHostedRunsOnce(
  runs: number,
  deadlineMs = Math.max(300_000, runs * 120),
  serviceExecArgv: string[] = [],
): Promise<Row[]> {
  // Timestamps at the model boundary (performance.now in this process): when turn k of run i arrived and
  // when its answer was fully written.
  const arrived = new Map<string, number>();
  const answered = new Map<string, number>();
  const llmFailures = new FailureTally();
  let reasks = 0;
  // One request Mend sent mid-run (turn 5 of 10): the floor sends the same bytes.
  let sampleBody: string | undefined;
  // Runs between their first model request and their last answer: how many the service drives at once.
  let live = 0;
  let peakLive = 0;
  const llm = await startFakeLlm({
    latencyMs: LLM_LATENCY_MS,
    keepBodies: false,
    script: (req, turn, ctx) => {
      if (turn === 5 && sampleBody === undefined) sampleBody = JSON.stringify(req);
      const i = GOAL_RE.exec(ctx.conversation)?.[1];
      if (ctx.attempt > 0) reasks++;
      else if (i) arrived.set(`${i}/${turn}`, performance.now());
      if (ctx.attempt === 0 && turn === 0) peakLive = Math.max(peakLive, ++live);
      return turn < TURNS - 1 ? runOrchestration("return 1") : finish("done");
    },
    onRequest: (rec) => {
      if (rec.status !== 200)
        llmFailures.add(new Error(`fake LLM answered ${rec.status} on turn ${rec.turn}`));
      const i = GOAL_RE.exec(rec.conversation)?.[1];
      if (i && rec.attempt === 0) answered.set(`${i}/${rec.turn}`, performance.now());
      if (rec.status === 200 && rec.attempt === 0 && rec.turn === TURNS - 1) live--;
    },
  });
  const policiesDir = benchPolicies();
  const svc = await startService(
    {
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
      MEND_LLM_API_KEY: "fake",
      MEND_POLICIES_DIR: policiesDir,
      MEND_POOL_SIZE: "0",
    },
    undefined,
    { execArgv: serviceExecArgv },
  );
  const client = httpClient(svc.url, { maxSockets: 64, timeoutMs: 60_000 });
  const rows: Row[] = [];
  try {
    const sentAt: number[] = [];
    const serviceCpu0 = procCpuMs(svc.child.pid);
    const benchCpu0 = process.cpuUsage();
    const startEpochMs = Date.now();
    const t0 = performance.now();
    const create = await closedLoop(runs, 64, async (i) => {
      sentAt[i] = performance.now();
      const r = await client.json<{ id: string; status: string }>("POST", "/v1/runs", {
        mode: "hosted",
        goal: goalOf(i),
      });
      if (r.status !== "running") throw new Error(`a new run is ${r.status}`);
    });
    const createdMs = performance.now() - t0;
    rows.push(
      rowOf(`[${runs} runs] POST /v1/runs {mode: hosted}, 64 in flight`, create, {
        withThroughput: true,
        notes: `all created within ${(createdMs / 1000).toFixed(1)} s, while the first ones already run`,
      }),
    );

    // Until no run is `running` (or the deadline, which is reported, not hidden).
    let timedOut = false;
    let peakRssMb = 0;
    // Each poll's answer time: how long a request waits behind the runs (the event loop's lag, seen from outside).
    const pollMs: number[] = [];
    for (;;) {
      peakRssMb = Math.max(peakRssMb, procMemory(svc.child.pid)?.rssMb ?? 0);
      const p0 = performance.now();
      const page = await client.json<{ items: unknown[] }>("GET", "/v1/runs?status=running&limit=1");
      pollMs.push(performance.now() - p0);
      if (page.items.length === 0) break;
      if (performance.now() - t0 > deadlineMs) {
        timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const doneMs = performance.now() - t0;
    const serviceCpuMs = (procCpuMs(svc.child.pid) ?? Number.NaN) - (serviceCpu0 ?? Number.NaN);
    const benchCpu = process.cpuUsage(benchCpu0);
    const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;

    const byStatus = new Map<string, RunView[]>();
    for (const s of ["succeeded", "failed", "waiting_for_input", "running", "cancelled"])
      byStatus.set(s, await listAll(client, s));
    const succeeded = byStatus.get("succeeded")!;
    const runFailures = new FailureTally();
    for (const [status, list] of byStatus) {
      if (status === "succeeded") continue;
      for (const r of list)
        runFailures.add(
          new Error(
            `${status}${r.failure ? `: ${r.failure.kind}: ${r.failure.message}` : ""}${timedOut && status === "running" ? ` (still running after ${deadlineMs} ms)` : ""}`,
          ),
        );
    }
    const missing = runs - create.failures.count - [...byStatus.values()].reduce((a, l) => a + l.length, 0);
    for (let k = 0; k < missing; k++) runFailures.add(new Error("a created run is not listed in any status"));
    const lastEndEpochMs = Math.max(...succeeded.map((r) => Date.parse(r.updatedAt)), startEpochMs);
    const wallS = (lastEndEpochMs - startEpochMs) / 1000;
    const runWallMs = succeeded.map((r) => Date.parse(r.updatedAt) - Date.parse(r.createdAt));
    rows.push(
      summarize(
        `[${runs} runs] all at once, ${TURNS} turns each: run wall time (createdAt → updatedAt)`,
        runWallMs,
        {
          ...runFailures.fields(),
          n: runs,
          throughputPerS: Math.round((succeeded.length / wallS) * 10) / 10,
          ...memoryFields("service", svc.child.pid),
          target: { metric: "peakRssMb", atMost: 1024 },
          notes: `${succeeded.length}/${runs} succeeded; at most ${peakLive} runs between their first model request and their last answer at once; runs/s = succeeded / (last run end − first creation) = ${succeeded.length} / ${wallS.toFixed(1)} s; model floor ${TURNS} × ${LLM_LATENCY_MS} ms = ${(TURNS * LLM_LATENCY_MS) / 1000} s per run; sampled max RSS ${Math.round(peakRssMb)} MiB; whole phase ${(doneMs / 1000).toFixed(1)} s`,
        },
      ),
    );

    // Step overhead at the model boundary: answer k written → request k+1 arrived, for k = 0..8.
    const gaps: number[] = [];
    const firstTurn: number[] = [];
    for (let i = 0; i < runs; i++) {
      const id = String(i).padStart(5, "0");
      const a0 = arrived.get(`${id}/0`);
      if (a0 !== undefined && sentAt[i] !== undefined) firstTurn.push(a0 - sentAt[i]!);
      for (let k = 0; k < TURNS - 1; k++) {
        const end = answered.get(`${id}/${k}`);
        const next = arrived.get(`${id}/${k + 1}`);
        if (end !== undefined && next !== undefined) gaps.push(next - end);
      }
    }
    rows.push(
      summarize(
        `[${runs} runs] step overhead added by Mend: model answer sent → next model request received`,
        gaps,
        {
          ...llmFailures.fields(),
          n: gaps.length + llmFailures.count,
          notes: `one sample per turn boundary (${TURNS - 1} per run): read + journal the llm step, run + journal one code-mode step (return 1), build and send the next prompt; excludes the model's ${LLM_LATENCY_MS} ms; timed in the bench process (fake LLM), which shares the 2 cores; re-asked turns: ${reasks}`,
        },
      ),
    );
    // Turns the model answered (first asks): runs × 10 when every run finished, fewer past the deadline.
    const turns = answered.size;
    rows.push({
      name: `[${runs} runs] service CPU time per turn (one model call + one code-mode step), mean`,
      n: turns,
      notes: `${(serviceCpuMs / turns).toFixed(2)} ms = ${(serviceCpuMs / 1000).toFixed(1)} s service CPU (all threads) / ${turns} turns over ${(doneMs / 1000).toFixed(1)} s wall; the bench process (fake LLM, creation, polling) used ${(benchCpuMs / 1000).toFixed(1)} s CPU on the same 2 cores`,
    });
    rows.push(
      summarize(
        `[${runs} runs] service answer time while driving them: GET /v1/runs?status=running&limit=1 every 250 ms`,
        pollMs,
        {
          notes: `max ${Math.round(Math.max(...pollMs))} ms; a request's wait behind the runs' work on the service's event loop (its lag seen from outside), plus the query`,
        },
      ),
    );
    rows.push(
      summarize(`[${runs} runs] first turn: POST /v1/runs sent → first model request received`, firstTurn, {
        notes: "includes run creation while the other runs are already being driven",
      }),
    );
    // The floor right after, on the same machine state, with the service stopped (its CPU is not shared).
    await svc.stop();
    // Up to 2,000 loops: at 10,000 the floor's engine is swamped (executions queue by thousands) for many minutes.
    if (sampleBody !== undefined && runs <= FLOOR_UP_TO) {
      const floor = await hostedTurnFloor(runs, TURNS, sampleBody, LLM_LATENCY_MS, CODEMODE_WORKERS);
      const mendPerTurn = serviceCpuMs / turns;
      const model = await hostedTurnFloor(runs, TURNS, sampleBody, LLM_LATENCY_MS, CODEMODE_WORKERS, "llm");
      const engine = await hostedTurnFloor(
        runs,
        TURNS,
        sampleBody,
        LLM_LATENCY_MS,
        CODEMODE_WORKERS,
        "engine",
      );
      const parts = `; the model call alone ${model.cpuPerTurnMs.toFixed(2)} ms, 'return 1' alone (after a 200 ms wait instead of the call) ${engine.cpuPerTurnMs.toFixed(2)} ms`;
      rows.push({
        name: `[${runs} runs] floor: one streamed model call (undici) + one 'return 1' in Mend's QuickJS engine, CPU per turn`,
        n: floor.turns,
        failures: floor.failed + model.failed + engine.failed,
        notes: `floor ${floor.cpuPerTurnMs.toFixed(2)} ms = ${(floor.cpuMs / 1000).toFixed(1)} s CPU / ${floor.turns} turns (${runs} loops at once, ${(floor.wallMs / 1000).toFixed(1)} s wall, a process of its own, same request bytes, same answer${parts}); Mend ${mendPerTurn.toFixed(2)} ms = ${(mendPerTurn / floor.cpuPerTurnMs).toFixed(2)}× the floor: Mend adds ${(mendPerTurn - floor.cpuPerTurnMs).toFixed(2)} ms per turn (journal, policy, prompt, events, the HTTP API)`,
      });
    }
    const perRunOverhead = runWallMs.map((w) => (w - TURNS * LLM_LATENCY_MS) / TURNS);
    rows.push(
      summarize(
        `[${runs} runs] per-step overhead from the journal: (run wall − 10 × 200 ms) / 10`,
        perRunOverhead,
        {
          notes:
            "run wall from the journal's createdAt/updatedAt (ms resolution); includes the wait for the first model call and HTTP to the model",
        },
      ),
    );
    return rows;
  } finally {
    client.close();
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
    await llm.close();
    rmSync(policiesDir, { recursive: true, force: true });
  }
}

/**
 * Issue 6's rows: `size` runs at once; if anything failed, a smaller size too (to tell load from logic); and a
 * light load (50 runs) for the step overhead of a service that is not saturated.
 * @example console.table(await benchHostedRuns())
 */
export async function benchHostedRuns(
  size = 2000,
  fallbackSize = 500,
  lightSize = 50,
  hugeSize = 10_000,
): Promise<Row[]> {
  const rows = await benchHostedRunsOnce(size);
  if (rows.some((r) => (r.failures ?? 0) > 0) && fallbackSize < size) {
    rows.push(...(await benchHostedRunsOnce(fallbackSize)));
  }
  // The target's size: 10,000 runs on one process (RSS ≤ 1 GiB), unless the size asked for is that large already.
  if (hugeSize > size) rows.push(...(await benchHostedRunsOnce(hugeSize)));
  const light = await benchHostedRunsOnce(lightSize);
  // At light load only the overhead rows matter; the RSS target is about the full size.
  rows.push(...light.map((r) => ({ ...r, target: undefined })));
  return rows;
}

if (import.meta.main) console.table(await benchHostedRuns(Number(process.argv[2] ?? 2000)));
