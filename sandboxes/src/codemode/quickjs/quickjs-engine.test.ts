// Runs the shared conformance suite against the QuickJS engine, plus QuickJS-specific checks.
import * as t from "node:test";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runConformanceSuite, testRequest } from "../../testing/index.ts";
import { QuickJsEngine } from "./quickjs-engine.ts";

runConformanceSuite(t, "quickjs", () => new QuickJsEngine({ workers: 2 }));

describe("QuickJsEngine", () => {
  it("keeps its worker count while replacing crashed and timed-out workers", async () => {
    const engine = new QuickJsEngine({ workers: 2, killGraceMs: 100 });
    try {
      await engine.ready();
      const limits = { ...testRequest("").limits, timeoutMs: 200 };
      const outcome = await engine.execute(testRequest("return new Array(1e9).join('').length", { limits }));
      assert.equal(outcome.status, "failed");
      assert.equal(outcome.status === "failed" && outcome.failure.kind, "timeout");
      const stats = engine.stats();
      assert.equal(stats.workers, 2);
      assert.ok(stats.replaced >= 1);
      const next = await engine.execute(testRequest("return 1"));
      assert.equal(next.status, "succeeded");
    } finally {
      await engine.dispose();
    }
  });

  it("turns a worker crash (host stack exhausted inside wasm) into a failure and replaces the worker", async () => {
    // A QuickJS stack limit far above the thread's native stack: the recursion overflows the host
    // stack inside wasm, which leaves the module unusable.
    const engine = new QuickJsEngine({ workers: 1, maxStackKb: 2048, workerStackMb: 1 });
    try {
      await engine.ready();
      const limits = { ...testRequest("").limits, stackKb: 2048 };
      const outcome = await engine.execute(
        testRequest("function f(n) { return f(n + 1) + 1; }\nreturn f(0);", { limits }),
      );
      assert.equal(
        outcome.status === "failed" && outcome.failure.kind,
        "stack_overflow",
        JSON.stringify(outcome),
      );
      assert.equal(engine.stats().replaced, 1);
      assert.equal(engine.stats().workers, 1);
      const next = await engine.execute(testRequest("return (await tools.add({ a: 1, b: 1 }));"));
      assert.equal(next.status === "succeeded" && next.result, 2);
    } finally {
      await engine.dispose();
    }
  });

  it("queues executions beyond its workers", async () => {
    const engine = new QuickJsEngine({ workers: 1 });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          engine.execute(testRequest(`await tools.sleep({ ms: 5 }); return ${i};`)),
        ),
      );
      assert.deepEqual(
        outcomes.map((o) => (o.status === "succeeded" ? o.result : o.failure.kind)),
        [0, 1, 2, 3, 4],
      );
    } finally {
      await engine.dispose();
    }
  });

  it("throws when used after dispose", async () => {
    const engine = new QuickJsEngine({ workers: 1 });
    await engine.dispose();
    await engine.dispose();
    await assert.rejects(engine.execute(testRequest("return 1")), /dispose/);
  });
});
