// Code-mode side by side with its floors, interleaved in rounds: in process (Mend's QuickJS engine against bare
// quickjs-emscripten, on the host thread and in one worker thread) and over HTTP (the journaled service against a
// bare Hono route calling the same engine), with each server's CPU per execution.
import type { CodeModeRequest } from "../../sandboxes/src/codemode/engine.ts";
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { TEST_LIMITS, TEST_TOOLS } from "../../sandboxes/src/testing/codemode-fixtures.ts";
import { rmSync } from "node:fs";
import { startService } from "../support/service-process.ts";
import { startBareHono } from "./bare-hono-server.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, rowOf, sequential, type LoadResult, type Op } from "./load.ts";
import { BareQuickJs } from "./peers/bare-quickjs.ts";
import { BareQuickJsWorker } from "./peers/bare-quickjs-worker.ts";
import { procCpuMs } from "./proc-cpu.ts";
import { percentile, type Row } from "./stats.ts";

/** The script of every row: 3 sequential tool calls, each depending on the previous answer. */
const THREE_CALLS =
  "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
const ROUNDS = 4;

let nonce = 0;
/** The same script with new arguments each time: over HTTP every call misses the echo cache (and fills it). */
function uniqueEchoes(): { code: string; expect: string } {
  const t = `p${++nonce}-`;
  return { code: THREE_CALLS.replace("'a'", `'${t}a'`), expect: `${t}abc` };
}

/** Load results merged across rounds (samples pooled, wall times added). */
function merge(parts: LoadResult[]): LoadResult {
  const [first, ...rest] = parts;
  for (const r of rest) {
    first!.samplesMs.push(...r.samplesMs);
    first!.wallMs += r.wallMs;
    for (const m of r.failures.messages()) first!.failures.add(new Error(m));
  }
  return first!;
}

const p50 = (r: LoadResult): number => percentile(r.samplesMs, 0.5);
const perS = (r: LoadResult): number => (r.samplesMs.length / r.wallMs) * 1000;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * In process: Mend's QuickJsEngine (2 warm workers, a fresh runtime and context per execution) against bare
 * quickjs-emscripten with a new runtime per run on this thread, and in one worker thread.
 * @example console.table(await benchCodeModeInProcessPeers())
 */
export async function benchCodeModeInProcessPeers(n = 2000): Promise<Row[]> {
  const engine = new QuickJsEngine({ workers: 2 });
  const bare = await BareQuickJs.load();
  const inWorker = await BareQuickJsWorker.start();
  const request: CodeModeRequest = {
    code: THREE_CALLS,
    language: "javascript",
    tools: TEST_TOOLS,
    limits: { ...TEST_LIMITS, timeoutMs: 30_000 },
    seed: 1,
    clockMs: 0,
    invokeTool: async ({ args }) => ({ ok: true, value: args }),
  };
  const echo = (args: unknown): unknown => args;
  const mendOp: Op = async () => {
    const o = await engine.execute(request);
    if (o.status !== "succeeded" || o.result !== "abc") throw new Error(`mend: ${JSON.stringify(o)}`);
  };
  const bareOp: Op = async () => {
    const v = await bare.run(THREE_CALLS, { echo });
    if (v !== "abc") throw new Error(`bare: ${String(v)}`);
  };
  const workerOp: Op = async () => {
    const v = await inWorker.run(THREE_CALLS, (_tool, args) => args);
    if (v !== "abc") throw new Error(`bare worker: ${String(v)}`);
  };
  const m: LoadResult[] = [];
  const b: LoadResult[] = [];
  const w: LoadResult[] = [];
  try {
    await engine.ready();
    for (let round = 0; round < ROUNDS; round++) {
      const warm = round === 0 ? 200 : 20;
      b.push(await sequential(n / ROUNDS, warm, bareOp));
      w.push(await sequential(n / ROUNDS, warm, workerOp));
      m.push(await sequential(n / ROUNDS, warm, mendOp));
    }
  } finally {
    await engine.dispose();
    await inWorker.close();
  }
  const [mend, floor, workerFloor] = [merge(m), merge(b), merge(w)];
  const isolation = p50(workerFloor) / p50(floor);
  return [
    rowOf("in process: Mend QuickJS engine, 3 sequential echo calls", mend, {
      ratio: r2(p50(mend) / p50(floor)),
      target: { metric: "ratio", atMost: 1.2 },
      notes: `ratio = Mend p50 ÷ bare quickjs-emscripten p50 on the host thread (row below); the guest off the host thread alone costs ${r2(isolation)}× (the worker-thread floor)${isolation > 1.2 ? ", so ≤ 1.2× of the host thread is out of reach with worker isolation: the next row compares with that floor" : ""}`,
    }),
    rowOf("in process: Mend QuickJS engine ÷ the worker-thread floor", mend, {
      ratio: r2(p50(mend) / p50(workerFloor)),
      target: { metric: "ratio", atMost: 1.2 },
      notes:
        "ratio = Mend p50 ÷ bare quickjs-emscripten in 1 worker thread p50: what Mend adds over the isolation floor (limits, memory watch, bindings, validation, journal, scheduling)",
    }),
    rowOf("    bare quickjs-emscripten, new runtime per run, host thread", floor, {
      notes:
        "the same wasm build; tools answered on a microtask; no limits, journal or isolation from the host",
    }),
    rowOf("    bare quickjs-emscripten in 1 worker thread, new runtime per run", workerFloor, {
      notes: `the floor with the guest off the host thread: 8 messages per execution (start, 3 calls, 3 answers, end); ${r2(p50(workerFloor) / p50(floor))}× the host-thread floor`,
    }),
  ];
}

/** POST /codemode of the bare server, or POST /v1/executions of the service; the result must be the echo's. */
function httpOp(client: HttpClient, path: string): Op {
  return async () => {
    const { code, expect } = uniqueEchoes();
    const body = path === "/codemode" ? { code } : { sandbox: "codemode", engine: "quickjs", code };
    const res = await client.json<{ status: string; result: unknown; failure?: { kind: string } }>(
      "POST",
      path,
      body,
    );
    if (res.status !== "succeeded" || res.result !== expect)
      throw new Error(`${path}: ${res.status} ${res.failure?.kind ?? JSON.stringify(res.result)}`);
  };
}

/**
 * Over HTTP at 1, 8 and 32 in flight: the journaled service (3 cache-missing echo calls per execution) against
 * a bare Hono route running the same script on the same engine, interleaved in rounds; CPU per execution of
 * each server process.
 * @example console.table(await benchCodeModeHttpPeers())
 */
export async function benchCodeModeHttpPeers(n = 1200): Promise<Row[]> {
  const bare = await startBareHono({ engine: true });
  const svc = await startService({ MEND_POOL_SIZE: "0" });
  const bareClient = httpClient(bare.url, { maxSockets: 32 });
  const mendClient = httpClient(svc.url, { maxSockets: 32 });
  const rows: Row[] = [];
  try {
    const bareOp = httpOp(bareClient, "/codemode");
    const mendOp = httpOp(mendClient, "/v1/executions");
    await sequential(0, 300, bareOp);
    await sequential(0, 300, mendOp);
    for (const c of [1, 8, 32]) {
      const m: LoadResult[] = [];
      const b: LoadResult[] = [];
      let mendCpu = 0;
      let bareCpu = 0;
      const total = c === 1 ? n / 2 : n;
      for (let round = 0; round < ROUNDS; round++) {
        const run = async (op: Op, pid: number | undefined): Promise<[LoadResult, number]> => {
          const cpu0 = procCpuMs(pid) ?? 0;
          const r =
            c === 1 ? await sequential(total / ROUNDS, 0, op) : await closedLoop(total / ROUNDS, c, op);
          return [r, (procCpuMs(pid) ?? 0) - cpu0];
        };
        const [br, bc] = await run(bareOp, bare.child.pid);
        const [mr, mc] = await run(mendOp, svc.child.pid);
        b.push(br);
        m.push(mr);
        bareCpu += bc;
        mendCpu += mc;
      }
      const [mend, floor] = [merge(m), merge(b)];
      const cpuPer = (ms: number, r: LoadResult) => (ms / Math.max(1, r.samplesMs.length)).toFixed(2);
      const ratio = c === 1 ? p50(mend) / p50(floor) : perS(floor) / perS(mend);
      rows.push(
        rowOf(`over HTTP, journaled: 3 cache-missing echo calls, ${c} in flight`, mend, {
          withThroughput: c > 1,
          ratio: r2(ratio),
          target: { metric: "ratio", atMost: 1.3 },
          notes: `ratio = ${c === 1 ? "Mend p50 ÷ bare p50" : "bare executions/s ÷ Mend's"}; service CPU ${cpuPer(mendCpu, mend)} ms per execution (bare ${cpuPer(bareCpu, floor)} ms)`,
        }),
      );
      rows.push(
        rowOf(`    bare Hono route, same engine and script, ${c} in flight`, floor, {
          withThroughput: c > 1,
          notes: "no journal, policy, auth or cache: the engine's own cost over HTTP",
        }),
      );
      if (c === 8)
        rows.push(
          rowOf("over HTTP, journaled: 3 cache-missing echo calls, 8 in flight (executions/s)", mend, {
            withThroughput: true,
            target: { metric: "throughputPerS", atLeast: 1500 },
            notes: `the bare route's ${Math.round(perS(floor))}/s on the same machine is the ceiling`,
          }),
        );
    }
  } finally {
    bareClient.close();
    mendClient.close();
    await bare.stop();
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) {
  console.table(await benchCodeModeInProcessPeers());
  console.table(await benchCodeModeHttpPeers());
}
