// Runs the shared conformance suite against the QuickJS engine, plus QuickJS-specific checks.
import * as t from "node:test";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  TEST_LIMITS,
  runConformanceSuite,
  runMemoryConformanceSuite,
  testInvoker,
  testRequest,
} from "../../testing/index.ts";
import type { CodeModeOutcome, ToolInvoker } from "../engine.ts";
import { QuickJsEngine } from "./quickjs-engine.ts";

runConformanceSuite(t, "quickjs", () => new QuickJsEngine({ workers: 2 }));
runMemoryConformanceSuite(t, "quickjs", () => new QuickJsEngine({ workers: 2 }));

/** Resolves once `test()` holds (checked on every turn of the event loop). */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a pending outcome has settled yet. */
function watch(pending: Promise<CodeModeOutcome>): { settled: boolean; outcome: Promise<CodeModeOutcome> } {
  const w = { settled: false, outcome: pending };
  void pending.then(
    () => (w.settled = true),
    () => (w.settled = true),
  );
  return w;
}

/** testInvoker, except that `sleep` waits for `open()` instead of a timer: the test decides when it ends. */
function gatedInvoker(): { invoke: ToolInvoker; open: () => void; calls: { tool: string; args: unknown }[] } {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const base = testInvoker();
  const invoke: ToolInvoker = async (call) => {
    if (call.tool !== "sleep") return base(call);
    base.calls.push({ tool: call.tool, args: call.args });
    await gate;
    return { ok: true, value: (call.args as { ms: number }).ms };
  };
  return { invoke, open: () => open(), calls: base.calls };
}

const kindOf = (o: CodeModeOutcome) => (o.status === "succeeded" ? "succeeded" : o.failure.kind);

describe("QuickJsEngine: guests parked on tool calls hold no worker", () => {
  it("runs another tenant's script at once while 100 guests of one tenant await tools on its only worker", async () => {
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1 });
    try {
      const limits = { ...TEST_LIMITS, timeoutMs: 30_000 };
      const sleeps = gatedInvoker();
      const flood = Array.from({ length: 100 }, (_, i) =>
        watch(
          engine.execute(
            testRequest(`await tools.sleep({ ms: 3000 });\nreturn ${i};`, {
              limits,
              tenant: "a",
              invokeTool: sleeps.invoke,
            }),
          ),
        ),
      );
      await until(() => engine.stats().parked === 100);
      assert.deepEqual(engine.stats().tenants.a, { running: 0, parked: 100, queued: 0 });
      const b = await engine.execute(testRequest("return 6 * 7", { tenant: "b" }));
      assert.equal(b.status === "succeeded" && b.result, 42);
      assert.equal(flood.filter((w) => w.settled).length, 0, "b finished while all of a's scripts waited");
      sleeps.open();
      const outcomes = await Promise.all(flood.map((w) => w.outcome));
      assert.deepEqual(outcomes.map(kindOf), Array(100).fill("succeeded"));
      assert.deepEqual(
        outcomes.map((o) => (o as { result: unknown }).result),
        Array.from({ length: 100 }, (_, i) => i),
      );
    } finally {
      await engine.dispose();
    }
  });

  it("re-runs the other guests of a worker lost to one guest: they succeed and no tool runs twice", async () => {
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1, killGraceMs: 100 });
    try {
      const invoker = gatedInvoker();
      const limits = { ...TEST_LIMITS, timeoutMs: 30_000 };
      const code =
        "const a = await tools.echo({ text: 'first' });\nconst b = await tools.sleep({ ms: 400 });\nreturn [a.text, b, Math.random()];";
      const victims = Array.from({ length: 5 }, () =>
        engine.execute(testRequest(code, { limits, tenant: "a", invokeTool: invoker.invoke })),
      );
      await until(() => engine.stats().parked === 5 && invoker.calls.length === 10);
      // A long built-in never reaches the interrupt handler: the host terminates the worker.
      const stuck = await engine.execute(
        testRequest("return new Array(1e9).join('').length", {
          limits: { ...TEST_LIMITS, timeoutMs: 200 },
          tenant: "c",
        }),
      );
      assert.equal(kindOf(stuck), "timeout");
      // The victims' sleeps are still in flight: their re-runs join them instead of sleeping again.
      await until(() => engine.stats().reruns >= 5 && engine.stats().parked === 5);
      invoker.open();
      const outcomes = await Promise.all(victims);
      const reference = await engine.execute(testRequest(code, { limits, tenant: "a" }));
      for (const outcome of outcomes) {
        assert.equal(kindOf(outcome), "succeeded", JSON.stringify(outcome));
        // Same seed and clock: the re-run takes the same path and gets the same random numbers.
        assert.deepEqual((outcome as { result: unknown }).result, (reference as { result: unknown }).result);
        assert.deepEqual(
          outcome.toolCalls.map((c) => c.tool),
          ["echo", "sleep"],
        );
      }
      assert.equal(invoker.calls.length, 10, "each victim's echo and sleep ran once");
      assert.ok(engine.stats().reruns >= 5, JSON.stringify(engine.stats()));
      assert.equal(engine.stats().workers, 1);
    } finally {
      await engine.dispose();
    }
  });

  it("starts a burst worker so a tenant's CPU-bound script does not hold another tenant's start", async () => {
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 2 });
    try {
      await engine.ready();
      const hog = watch(
        engine.execute(
          testRequest("while (true) {}", { limits: { ...TEST_LIMITS, timeoutMs: 8000 }, tenant: "a" }),
        ),
      );
      await until(() => engine.stats().running === 1);
      const b = await engine.execute(testRequest("return 'b ran'", { tenant: "b" }));
      assert.equal(b.status === "succeeded" && b.result, "b ran");
      assert.equal(hog.settled, false, "b finished while a's loop still ran");
      assert.equal(engine.stats().burstWorkers, 1);
      assert.equal(kindOf(await hog.outcome), "timeout");
    } finally {
      await engine.dispose();
    }
  });

  it("moves a guest whose tool call settled off a worker held by another tenant's long slice", async () => {
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 2, migrateAfterMs: 20 });
    try {
      await engine.ready();
      const invoker = gatedInvoker();
      const b = watch(
        engine.execute(
          testRequest("const r = await tools.sleep({ ms: 300 });\nreturn r;", {
            tenant: "b",
            invokeTool: invoker.invoke,
          }),
        ),
      );
      await until(() => engine.stats().parked === 1);
      const hog = watch(
        engine.execute(
          testRequest("while (true) {}", { limits: { ...TEST_LIMITS, timeoutMs: 8000 }, tenant: "a" }),
        ),
      );
      // b's sleep ends while a's loop holds the worker b lives in.
      await until(() => engine.stats().running === 1);
      invoker.open();
      const outcome = await b.outcome;
      assert.equal(outcome.status === "succeeded" && outcome.result, 300);
      assert.equal(hog.settled, false, "b finished while a's loop held b's first worker");
      assert.equal(invoker.calls.length, 1, "the move replayed the sleep instead of sleeping again");
      assert.equal(engine.stats().migrations, 1);
      assert.equal(kindOf(await hog.outcome), "timeout");
    } finally {
      await engine.dispose();
    }
  });

  it("places guests by memory: a worker takes a guest only while the parked guests' heaps leave room for its limit", async () => {
    // 64 MiB of wasm per worker, 85% placeable: parked guests holding 20 MiB each leave room for one
    // more 24 MiB guest beside the first, not beside the first two.
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 2, wasmMemoryMaxMb: 64 });
    try {
      await engine.ready();
      const limits = { ...TEST_LIMITS, memoryMb: 24, timeoutMs: 30_000 };
      // The guests wait on a gate the test opens, not on a timer: they stay parked as long as needed.
      let open: () => void = () => {};
      const gate = new Promise<void>((resolve) => (open = resolve));
      const invokeTool: ToolInvoker = async () => {
        await gate;
        return { ok: true, value: null };
      };
      const code =
        "const keep = new Uint8Array(20 * 1024 * 1024);\nawait tools.echo({ text: 'wait' });\nreturn keep.length;";
      const parked = [];
      for (let i = 1; i <= 3; i++) {
        parked.push(engine.execute(testRequest(code, { limits, tenant: "a", invokeTool })));
        await until(() => engine.stats().parked === i);
        assert.equal(engine.stats().burstWorkers, i === 3 ? 1 : 0, `after guest ${i}`);
      }
      open();
      assert.deepEqual((await Promise.all(parked)).map(kindOf), ["succeeded", "succeeded", "succeeded"]);
    } finally {
      await engine.dispose();
    }
  });
});

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

  it("counts a guest's heap where nothing of the guest reaches: a planted memory_used_size fakes nothing", async () => {
    const engine = new QuickJsEngine({ workers: 1 });
    try {
      // A heap report built in the guest's own context (JS_ComputeMemoryUsage fills an object with
      // JS_SetPropertyStr) would run these accessors and read 0; the allocator's count runs no guest code.
      const planted = [
        "Object.defineProperty(Object.prototype, 'memory_used_size', { get() { return 0; }, set() {}, configurable: false });",
        "Object.defineProperty(Object.prototype, 'memory_used_size', { value: 0, writable: false, configurable: false });",
      ];
      const limits = { ...TEST_LIMITS, memoryMb: 8, timeoutMs: 10_000 };
      for (const plant of planted) {
        const code = `${plant}\nconst keep = [];\nfor (let i = 0; i < 120; i++) keep.push(("y" + i).repeat(50000));\nawait tools.echo({ text: "parked" });\nreturn keep.length;`;
        const outcome = await engine.execute(testRequest(code, { limits }));
        assert.equal(kindOf(outcome), "out_of_memory", JSON.stringify(outcome));
      }
      const next = await engine.execute(testRequest("return ({}).memory_used_size ?? 'clean'"));
      assert.equal(next.status === "succeeded" && next.result, "clean");
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
