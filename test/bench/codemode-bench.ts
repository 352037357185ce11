// Code-mode latency from the host, in process: a fresh sandbox per execution (QuickJS in warm workers, V8
// isolates), tool calls over the engine boundary, and CPU-heavy loops for the V8/QuickJS ratio.
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { V8Engine } from "../../sandboxes/src/codemode/v8/v8-engine.ts";
import { TEST_LIMITS, TEST_TOOLS } from "../../sandboxes/src/testing/codemode-fixtures.ts";
import type { CodeModeEngine, CodeModeRequest, ToolInvoker } from "../../sandboxes/src/codemode/engine.ts";
import { closedLoop, rowOf, sequential, type LoadResult } from "./load.ts";
import { percentile, type Row, type Target } from "./stats.ts";

const echo: ToolInvoker = async ({ args }) => ({ ok: true, value: args });

/** The script of rows (a)-(c): 3 sequential tool calls, each depending on the previous answer. */
const THREE_CALLS =
  "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
const THREE_CONCURRENT =
  "const r = await Promise.all(['a', 'b', 'c'].map((text) => tools.echo({ text })));\nreturn r.length;";
/** `i * i` leaves int32, so `%` is a float fmod call in both engines. */
const CPU_LOOP = "let s = 0;\nfor (let i = 0; i < 1e6; i++) { s = (s + i * i) % 1000003; }\nreturn s;";
/** Stays in int32 arithmetic, which V8's optimising compiler turns into machine integers. */
const INT_LOOP = "let s = 0;\nfor (let i = 0; i < 1e6; i++) { s = (s + i * 7) % 65521; }\nreturn s;";
/** The same, 10× longer: sandbox setup weighs less in the ratio. */
const INT_LOOP_10M = INT_LOOP.replace("1e6", "1e7");

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

function op(engine: CodeModeEngine, code: string): () => Promise<void> {
  return async () => {
    const outcome = await engine.execute(request(code));
    if (outcome.status !== "succeeded") throw new Error(`script failed: ${outcome.failure?.kind ?? "?"}`);
  };
}

/** The rows of one engine, plus the raw loop samples for the ratio. */
async function engineRows(
  label: string,
  engine: CodeModeEngine,
  n: number,
  threeCallsTarget: Target | undefined,
): Promise<{
  rows: Row[];
  return1: LoadResult;
  loop: LoadResult;
  intLoop: LoadResult;
  longLoop: LoadResult;
}> {
  const rows: Row[] = [];
  const seq = await sequential(n, 200, op(engine, THREE_CALLS));
  const conc = await closedLoop(n, 4, op(engine, THREE_CALLS));
  rows.push(
    rowOf(`${label}: fresh sandbox, 3 sequential tool calls (in process)`, seq, {
      throughputPerS: Math.round((conc.samplesMs.length / conc.wallMs) * 1000),
      failures: seq.failures.count + conc.failures.count,
      failureMessages: [...seq.failures.messages(), ...conc.failures.messages()],
      target: threeCallsTarget,
      notes: "one at a time for p50/p99; throughput with 4 in flight",
    }),
  );
  rows.push(
    rowOf(
      `${label}: fresh sandbox, 3 concurrent tool calls (Promise.all)`,
      await sequential(n, 100, op(engine, THREE_CONCURRENT)),
    ),
  );
  const return1 = await sequential(n, 100, op(engine, "return 1"));
  rows.push(rowOf(`${label}: fresh sandbox, return 1`, return1));
  const loops = label === "quickjs" ? 10 : 30;
  const loop = await sequential(loops, 2, op(engine, CPU_LOOP));
  const intLoop = await sequential(loops, 2, op(engine, INT_LOOP));
  const longLoop = await sequential(loops / 2, 1, op(engine, INT_LOOP_10M));
  return { rows, return1, loop, intLoop, longLoop };
}

function ratioRow(
  name: string,
  v8: { loop: LoadResult; return1: LoadResult },
  quickjs: { loop: LoadResult; return1: LoadResult },
  what: string,
): Row {
  const p50 = (r: LoadResult) => percentile(r.samplesMs, 0.5);
  const ratio = p50(quickjs.loop) / p50(v8.loop);
  const compute = (p50(quickjs.loop) - p50(quickjs.return1)) / (p50(v8.loop) - p50(v8.return1));
  return rowOf(name, v8.loop, {
    ratio: Math.round(ratio * 10) / 10,
    target: { metric: "ratio", atLeast: 10 },
    failures: v8.loop.failures.count + quickjs.loop.failures.count,
    notes: `${what}; V8 ${ratio.toFixed(1)}× faster than QuickJS at p50 end to end, ${compute.toFixed(1)}× without sandbox setup (each engine's 'return 1' p50 subtracted); QuickJS row below`,
  });
}

/**
 * Rows (a), (c) and (d) of issue 3, measured in the bench process: QuickJS with 2 warm workers, then V8.
 * @example console.table(await benchCodeModeInProcess())
 */
export async function benchCodeModeInProcess(n = 2000): Promise<Row[]> {
  const quickjs = new QuickJsEngine({ workers: 2 });
  let q: Awaited<ReturnType<typeof engineRows>>;
  try {
    await quickjs.ready();
    q = await engineRows("quickjs", quickjs, n, { metric: "p50Ms", atMost: 0.5 });
  } finally {
    await quickjs.dispose();
  }
  const v8 = new V8Engine();
  let v: Awaited<ReturnType<typeof engineRows>>;
  try {
    v = await engineRows("v8", v8, Math.round(n / 2), undefined);
  } finally {
    await v8.dispose();
  }
  const label = (r: Row, prefix: string): Row => ({ ...r, name: `${prefix} ${r.name}` });
  return [
    ...q.rows.map((r, i) => label(r, i === 0 ? "(a)" : "   ")),
    ...v.rows.map((r, i) => label(r, i === 0 ? "(c)" : "   ")),
    ratioRow("(d) v8: CPU-heavy 1e6-iteration loop (float %)", v, q, "float fmod in both"),
    rowOf("    quickjs: same loop", q.loop),
    ratioRow(
      "(d) v8: 1e6-iteration int32 loop",
      { ...v, loop: v.intLoop },
      { ...q, loop: q.intLoop },
      "int32",
    ),
    rowOf("    quickjs: same int32 loop", q.intLoop),
    ratioRow(
      "    v8: 1e7-iteration int32 loop",
      { ...v, loop: v.longLoop },
      { ...q, loop: q.longLoop },
      "int32",
    ),
    rowOf("    quickjs: same 1e7 loop", q.longLoop),
  ];
}

if (import.meta.main) console.table(await benchCodeModeInProcess());
