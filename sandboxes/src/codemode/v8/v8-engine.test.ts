// Runs the shared conformance suite against the V8 engine, plus V8-specific checks.
import * as t from "node:test";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runConformanceSuite, testRequest } from "../../testing/index.ts";
import { isolateMemoryLimitMb } from "./memory-limit.ts";
import { V8Engine } from "./v8-engine.ts";

runConformanceSuite(t, "v8", () => new V8Engine());

describe("V8Engine", () => {
  it("sizes the isolate heap at half the budget, never under 8 MB", () => {
    assert.equal(isolateMemoryLimitMb(32), 16);
    assert.equal(isolateMemoryLimitMb(128), 64);
    assert.equal(isolateMemoryLimitMb(10), 8);
    assert.equal(isolateMemoryLimitMb(0), 8);
  });

  it("reports CPU time and heap size in usage", async () => {
    const engine = new V8Engine();
    try {
      const outcome = await engine.execute(
        testRequest("let s = 0; for (let i = 0; i < 1e6; i++) s += i; return s;"),
      );
      assert.equal(outcome.status, "succeeded");
      assert.equal(typeof outcome.usage.cpuMs, "number");
      assert.ok((outcome.usage.memoryPeakMb ?? 0) > 0);
    } finally {
      await engine.dispose();
    }
  });

  it("refuses executions after dispose()", async () => {
    const engine = new V8Engine();
    await engine.dispose();
    await assert.rejects(engine.execute(testRequest("return 1")), /after dispose/);
  });
});
