// Code-mode latency from the host: a fresh sandbox per execution, tool calls over the worker boundary, CPU-heavy loops.
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { TEST_LIMITS, TEST_TOOLS } from "../../sandboxes/src/codemode/conformance.ts";
import type { CodeModeEngine, CodeModeRequest, ToolInvoker } from "../../sandboxes/src/codemode/engine.ts";
import { summarize, type Row } from "./stats.ts";

export type { Row } from "./stats.ts";

const echo: ToolInvoker = async ({ args }) => ({ ok: true, value: args });

const THREE_CALLS =
  "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
const THREE_CONCURRENT =
  "const r = await Promise.all(['a', 'b', 'c'].map((text) => tools.echo({ text })));\nreturn r.length;";
const CPU_LOOP = "let s = 0;\nfor (let i = 0; i < 1e6; i++) { s = (s + i * i) % 1000003; }\nreturn s;";

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

async function checked(engine: CodeModeEngine, code: string): Promise<void> {
  const outcome = await engine.execute(request(code));
  if (outcome.status !== "succeeded")
    throw new Error(`bench script failed: ${JSON.stringify(outcome.failure)}`);
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
 * The rows (a) and (d) of the code-mode benchmark for any engine: 3 sequential tool calls, 3
 * concurrent ones, and a 1e6-iteration loop, timed from the host around `execute`.
 *
 * @example console.table(await benchEngine("quickjs", new QuickJsEngine()));
 */
export async function benchEngine(label: string, engine: CodeModeEngine, n = 2000): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(
    summarize(
      `(a) ${label}: fresh sandbox, 3 sequential tool calls`,
      await samples(engine, THREE_CALLS, n, 300),
      {
        throughputPerS: await throughput(engine, THREE_CALLS, n, 4),
        target: label === "quickjs" ? "p50 <= 0.5 ms" : undefined,
        notes: "one at a time for p50/p99; throughput with 4 in flight",
      },
    ),
  );
  rows.push(
    summarize(
      `(a) ${label}: fresh sandbox, 3 concurrent tool calls (Promise.all)`,
      await samples(engine, THREE_CONCURRENT, n, 300),
    ),
  );
  rows.push(summarize(`${label}: fresh sandbox, return 1`, await samples(engine, "return 1", n, 300)));
  rows.push(
    summarize(`(d) ${label}: CPU-heavy 1e6-iteration loop`, await samples(engine, CPU_LOOP, 30, 3), {
      notes: "V8 should be >= 10x faster",
    }),
  );
  return rows;
}

/**
 * Runs the code-mode benchmark rows of the QuickJS engine (2 warm workers).
 *
 * @example console.table(await benchCodeMode());
 */
export async function benchCodeMode(): Promise<Row[]> {
  const rows: Row[] = [];
  const quickjs = new QuickJsEngine({ workers: 2 });
  try {
    await quickjs.ready();
    rows.push(...(await benchEngine("quickjs", quickjs)));
  } finally {
    await quickjs.dispose();
  }
  // (c) and the V8 half of (d): the V8 engine's rows go here, e.g.
  // rows.push(...(await benchEngine("v8", new V8Engine())));
  return rows;
}

if (import.meta.main) console.table(await benchCodeMode());
