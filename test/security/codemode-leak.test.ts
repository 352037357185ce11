// 10,000 code-mode executions (successes, failures, tool calls): host memory stays flat, the worker count stable.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { MemoryJournal, TEST_LIMITS, testRequest } from "../../sandboxes/src/testing/index.ts";
import type { CodeModeRequest } from "../../sandboxes/src/codemode/engine.ts";

const MiB = 1024 * 1024;

const SCRIPTS: { code: string; overrides?: Partial<CodeModeRequest> }[] = [
  {
    code: "const a = await tools.echo({ text: 'x' });\nconst b = await tools.add({ a: 1, b: 2 });\nconsole.log(a, b);\nreturn [a, b];",
  },
  {
    code: "return await Promise.all([tools.add({ a: 1, b: 1 }), tools.echo({ text: 'p' }), tools.github.search({ q: 'q' })]);",
  },
  { code: "throw new Error('boom');" },
  { code: "await tools.fails({});" },
  { code: "await tools.throws({});" },
  { code: "await tools.strict({ user: 1 });" },
  { code: "await tools.nope({});" },
  { code: "const a = {}; a.a = a; return a;" },
  { code: "function f() { return f(); }\nf();" },
  { code: "const x = ;" },
  { code: "await new Promise(() => {});" },
  {
    code: "for (let i = 0; i < 1e3; i++) console.log(i);",
    overrides: { limits: { ...TEST_LIMITS, maxLogBytes: 200 } },
  },
  { code: "await new Promise((r) => setTimeout(r, 100));\nreturn Date.now();" },
  {
    code: "const r = await tools.echo({ text: 'j' });\nreturn r;",
    overrides: {
      journal: new MemoryJournal([
        {
          seq: 1,
          tool: "echo",
          argsJson: '{"text":"j"}',
          occurrence: 1,
          status: "succeeded",
          output: { text: "j" },
          ms: 1,
        },
      ]),
    },
  },
  { code: "const t: number = 1; return t;", overrides: { language: "typescript" } },
];

async function runBatch(
  engine: QuickJsEngine,
  count: number,
  offset: number,
): Promise<Record<string, number>> {
  const kinds: Record<string, number> = {};
  const concurrency = 4;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const script = SCRIPTS[(i + offset) % SCRIPTS.length]!;
      // A timeout now and then (a killed-from-inside loop): 1 in 500.
      const code = (i + offset) % 500 === 499 ? "while (true) {}" : script.code;
      const limits =
        (i + offset) % 500 === 499
          ? { ...TEST_LIMITS, timeoutMs: 20 }
          : (script.overrides?.limits ?? TEST_LIMITS);
      const outcome = await engine.execute(testRequest(code, { ...script.overrides, limits }));
      const kind = outcome.status === "succeeded" ? "succeeded" : outcome.failure.kind;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return kinds;
}

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
}

describe("code-mode leak (QuickJS)", () => {
  it(
    "runs 10,000 executions with flat host memory and a stable worker count",
    { timeout: 600_000 },
    async () => {
      const engine = new QuickJsEngine({ workers: 2 });
      try {
        await engine.ready();
        await runBatch(engine, 1000, 0);
        settle();
        const warm = process.memoryUsage();
        const warmStats = engine.stats();
        const kinds = await runBatch(engine, 10_000, 1000);
        settle();
        const end = process.memoryUsage();
        const stats = engine.stats();
        const growth = { rssMb: (end.rss - warm.rss) / MiB, heapMb: (end.heapUsed - warm.heapUsed) / MiB };
        console.log(JSON.stringify({ kinds, growth, warmStats, stats }));
        assert.equal(stats.workers, 2);
        assert.equal(stats.running, 0);
        assert.equal(stats.guests, 0);
        assert.equal(stats.queued, 0);
        assert.ok(growth.heapMb < 64, `host heap grew by ${growth.heapMb.toFixed(1)} MiB`);
        assert.ok(growth.rssMb < 64, `host RSS grew by ${growth.rssMb.toFixed(1)} MiB`);
        // A leaked QuickJS handle aborts the runtime disposal, which replaces the worker: none may happen.
        assert.ok(stats.replaced - warmStats.replaced <= 2, JSON.stringify(stats));
        assert.ok((kinds.succeeded ?? 0) > 3000);
        assert.ok((kinds.runtime_error ?? 0) > 1000);
        assert.ok((kinds.timeout ?? 0) >= 10);
      } finally {
        await engine.dispose();
      }
    },
  );
});
