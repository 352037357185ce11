// Code-mode on V8 (isolated-vm): a fresh isolate per execution with tool calls, and a CPU-heavy loop against QuickJS.
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { TEST_LIMITS, TEST_TOOLS } from "../../sandboxes/src/codemode/conformance-fixtures.ts";
import type { CodeModeEngine, CodeModeRequest, ToolInvoker } from "../../sandboxes/src/codemode/engine.ts";
import { V8Engine } from "../../sandboxes/src/codemode/v8/v8-engine.ts";
import { percentile, summarize, type Row } from "./stats.ts";

export type { Row } from "./stats.ts";

const echo: ToolInvoker = async ({ args }) => ({ ok: true, value: args });

const THREE_CALLS =
  "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
const THREE_CONCURRENT =
  "const r = await Promise.all(['a', 'b', 'c'].map((text) => tools.echo({ text })));\nreturn r.length;";
/** The same loop as the QuickJS rows of codemode-bench.ts: `i * i` leaves int32, so `%` is a float fmod call. */
const CPU_LOOP = "let s = 0;\nfor (let i = 0; i < 1e6; i++) { s = (s + i * i) % 1000003; }\nreturn s;";
/** A loop that stays in int32 arithmetic, which V8's optimising compiler turns into machine integers. */
const INT_LOOP = "let s = 0;\nfor (let i = 0; i < 1e6; i++) { s = (s + i * 7) % 65521; }\nreturn s;";

function request(code: string): CodeModeRequest {
  return {
    code,
    language: "javascript",
    tools: TEST_TOOLS,
    limits: { ...TEST_LIMITS, timeoutMs: 30_000 },
    seed: 1,
    clockMs: 0,
    invokeTool: echo,
  };
}

async function checked(engine: CodeModeEngine, code: string): Promise<void> {
  const outcome = await engine.execute(request(code));
  if (outcome.status !== "succeeded")
    throw new Error(`bench script failed: ${JSON.stringify(outcome.failure)}`);
}

async function samples(engine: CodeModeEngine, code: string, n: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await checked(engine, code);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await checked(engine, code);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Executions per second with `concurrency` executions in flight. */
async function throughput(
  engine: CodeModeEngine,
  code: string,
  total: number,
  concurrency: number,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await checked(engine, code);
    }),
  );
  return Math.round((total / (performance.now() - t0)) * 1000);
}

/**
 * Rows (c) and (d) of the code-mode benchmark for the V8 engine: a fresh isolate running 3 tool
 * calls (sequential and concurrent), and a 1e6-iteration arithmetic loop, timed from the host
 * around `execute`. The QuickJS loop is measured in the same run for the (d) ratio.
 *
 * @example console.table(await benchCodeModeV8());
 */
export async function benchCodeModeV8(n = 1000): Promise<Row[]> {
  const rows: Row[] = [];
  const v8 = new V8Engine();
  let v8Loop: number[];
  let v8IntLoop: number[];
  try {
    rows.push(
      summarize("(c) v8: fresh isolate, 3 sequential tool calls", await samples(v8, THREE_CALLS, n, 100), {
        throughputPerS: await throughput(v8, THREE_CALLS, n, 4),
        notes: "one at a time for p50/p99; throughput with 4 in flight (2 cores)",
      }),
    );
    rows.push(
      summarize(
        "(c) v8: fresh isolate, 3 concurrent tool calls",
        await samples(v8, THREE_CONCURRENT, n, 100),
      ),
    );
    rows.push(summarize("v8: fresh isolate, return 1", await samples(v8, "return 1", n, 100)));
    v8Loop = await samples(v8, CPU_LOOP, 30, 3);
    v8IntLoop = await samples(v8, INT_LOOP, 30, 3);
  } finally {
    await v8.dispose();
  }
  const quickjs = new QuickJsEngine({ workers: 2 });
  let quickjsLoop: number[];
  let quickjsIntLoop: number[];
  try {
    await quickjs.ready();
    quickjsLoop = await samples(quickjs, CPU_LOOP, 10, 1);
    quickjsIntLoop = await samples(quickjs, INT_LOOP, 10, 1);
  } finally {
    await quickjs.dispose();
  }
  const ratio = percentile(quickjsLoop, 0.5) / percentile(v8Loop, 0.5);
  rows.push(
    summarize("(d) v8: CPU-heavy 1e6-iteration loop", v8Loop, {
      target: ">= 10x faster than QuickJS",
      notes: `${ratio.toFixed(1)}x faster than QuickJS (p50); bound by float fmod in both engines`,
    }),
  );
  rows.push(summarize("(d) quickjs: same loop, for the ratio", quickjsLoop));
  const intRatio = percentile(quickjsIntLoop, 0.5) / percentile(v8IntLoop, 0.5);
  rows.push(
    summarize("(d') v8: 1e6-iteration int32 loop", v8IntLoop, {
      target: ">= 10x faster than QuickJS",
      notes: `${intRatio.toFixed(1)}x faster than QuickJS (p50); includes ~2 ms isolate setup`,
    }),
  );
  rows.push(summarize("(d') quickjs: same int32 loop, for the ratio", quickjsIntLoop));
  return rows;
}

if (import.meta.main) console.table(await benchCodeModeV8());
