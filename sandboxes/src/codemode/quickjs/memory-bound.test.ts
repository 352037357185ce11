// QuickJS's memory bound up close: how near the limit a guest may go, and what an over-limit guest leaves behind.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KEPT_PATTERNS, TEST_LIMITS, testInvoker, testRequest } from "../../testing/index.ts";
import type { CodeModeOutcome, ToolInvoker } from "../engine.ts";
import type { Failure } from "@mend/wire";
import { QuickJsEngine } from "./quickjs-engine.ts";

const kindOf = (o: CodeModeOutcome) => (o.status === "succeeded" ? "succeeded" : o.failure.kind);
const resultOf = (o: CodeModeOutcome) => (o as { result?: unknown }).result;

/** testInvoker, except that `sleep` waits for `open()`: the test decides when the guest resumes. */
function gatedSleep(): { invoke: ToolInvoker; open: () => void; calls: () => number } {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const base = testInvoker();
  let calls = 0;
  const invoke: ToolInvoker = async (call) => {
    if (call.tool !== "sleep") return base(call);
    calls++;
    await gate;
    return { ok: true, value: 0 };
  };
  return { invoke, open: () => open(), calls: () => calls };
}

async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setImmediate(resolve));
}

describe("QuickJsEngine: the memory limit is exact", () => {
  it("lets a guest keep all but 1 MiB of its memoryMb, and stops it at 1 MiB more than that", async () => {
    const engine = new QuickJsEngine({ workers: 1 });
    try {
      const limits = { ...TEST_LIMITS, memoryMb: 8 };
      // 70 strings of 100 kB: 7.0 MB of the 8.4 MB (8 MiB) allowed, with the context and globals.
      const keep = (n: number) =>
        `const keep = [];\nfor (let i = 0; i < ${n}; i++) keep.push("x".repeat(100000) + i);\nreturn keep.length;`;
      const under = await engine.execute(testRequest(keep(70), { limits }));
      assert.equal(kindOf(under), "succeeded", JSON.stringify(under));
      assert.equal(resultOf(under), 70);
      const over = await engine.execute(testRequest(keep(84), { limits }));
      assert.equal(kindOf(over), "out_of_memory", JSON.stringify(over));
    } finally {
      await engine.dispose();
    }
  });

  it("collects a guest's cyclic garbage before its limit when its live data is past two thirds of it", async () => {
    // QuickJS collects cycles only past its GC threshold (1.5x the live size after each collection): with
    // 6 MB live under 8 MiB, that threshold would sit above the limit and the garbage would fill the rest.
    const engine = new QuickJsEngine({ workers: 1 });
    try {
      const limits = { ...TEST_LIMITS, memoryMb: 8, timeoutMs: 30_000 };
      const code = `const keep = [];
for (let i = 0; i < 60; i++) keep.push("x".repeat(100000) + i);
let n = 0;
for (let i = 0; i < 200000; i++) { const a = { p: new Array(20) }; const b = { a }; a.b = b; n += a.p.length; }
return [keep.length, n];`;
      const churn = await engine.execute(testRequest(code, { limits }));
      assert.equal(kindOf(churn), "succeeded", JSON.stringify(churn));
      assert.deepEqual(resultOf(churn), [60, 4000000]);
    } finally {
      await engine.dispose();
    }
  });

  it("ends an over-limit guest without disturbing a guest parked on the same worker, which is not replaced", async () => {
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1 });
    try {
      const sleep = gatedSleep();
      const limits = { ...TEST_LIMITS, memoryMb: 16, timeoutMs: 30_000 };
      const parked = engine.execute(
        testRequest(
          'const mine = "m".repeat(1000000) + "!";\nawait tools.sleep({ ms: 1 });\nreturn [mine.length, mine.slice(-2)];',
          { limits, tenant: "a", invokeTool: sleep.invoke },
        ),
      );
      await until(() => sleep.calls() === 1 && engine.stats().parked === 1);
      for (const [, code] of KEPT_PATTERNS.slice(0, 3)) {
        const bomb = await engine.execute(testRequest(code, { limits, tenant: "b" }));
        assert.equal(kindOf(bomb), "out_of_memory", JSON.stringify(bomb));
      }
      assert.equal(engine.stats().replaced, 0);
      sleep.open();
      const outcome = await parked;
      assert.equal(kindOf(outcome), "succeeded", JSON.stringify(outcome));
      assert.deepEqual(resultOf(outcome), [1000001, "m!"]);
      const next = await engine.execute(testRequest("return 6 * 7;", { limits }));
      assert.equal(resultOf(next), 42);
      assert.equal(engine.stats().replaced, 0);
    } finally {
      await engine.dispose();
    }
  });

  it("frees what over-limit guests held: forty more leave the worker's memory where the first two left it", async () => {
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1 });
    try {
      const limits = { ...TEST_LIMITS, memoryMb: 16 };
      // padStart strings and ArrayBuffers: the fastest of the patterns to reach the limit.
      const bombs = [KEPT_PATTERNS[2]![1], KEPT_PATTERNS[5]![1]];
      for (const bomb of bombs) {
        assert.equal(kindOf(await engine.execute(testRequest(bomb, { limits }))), "out_of_memory");
      }
      const after = engine.stats().wasmMb;
      for (let i = 0; i < 40; i++) {
        const outcome = await engine.execute(testRequest(bombs[i % 2]!, { limits }));
        assert.equal(kindOf(outcome), "out_of_memory");
      }
      // Leaked blocks would have grown the wasm memory by the limit every few guests.
      assert.equal(engine.stats().wasmMb, after);
      assert.equal(engine.stats().replaced, 0);
    } finally {
      await engine.dispose();
    }
  });
});

/** testInvoker, except that `sleep({ ms: n })` waits for `open(n)`: the test decides when each guest resumes. */
function numberedGates(): {
  invoke: ToolInvoker;
  open: (n: number) => void;
  waiting: (n: number) => boolean;
} {
  const gates = new Map<number, { promise: Promise<void>; open: () => void; waiting: boolean }>();
  const gate = (n: number) => {
    let g = gates.get(n);
    if (g === undefined) {
      let open: () => void = () => {};
      const promise = new Promise<void>((resolve) => (open = resolve));
      g = { promise, open, waiting: false };
      gates.set(n, g);
    }
    return g;
  };
  const base = testInvoker();
  const invoke: ToolInvoker = async (call) => {
    if (call.tool !== "sleep") return base(call);
    const g = gate((call.args as { ms: number }).ms);
    g.waiting = true;
    await g.promise;
    return { ok: true, value: 0 };
  };
  return { invoke, open: (n) => gate(n).open(), waiting: (n) => gate(n).waiting };
}

describe("QuickJsEngine: a worker whose shared memory is full", () => {
  it("starts a guest within its limit over on another worker instead of failing it as out of memory", async () => {
    // One worker of 40 MiB: two guests of 24 MiB each fit when placed, then both grow to 20 MiB.
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1, wasmMemoryMaxMb: 40 });
    try {
      const gates = numberedGates();
      const limits = { ...TEST_LIMITS, memoryMb: 24, timeoutMs: 60_000 };
      const first = engine.execute(
        testRequest(
          'await tools.sleep({ ms: 1 });\nconst mine = "a".repeat(20000000);\nawait tools.sleep({ ms: 2 });\nreturn [mine.length, mine.slice(-2)];',
          { limits, tenant: "a", invokeTool: gates.invoke },
        ),
      );
      const streamed: string[] = [];
      const second = engine.execute(
        testRequest(
          'console.log("b starts");\nawait tools.sleep({ ms: 3 });\nconsole.log("b grows");\nconst mine = "b".repeat(20000000);\nreturn [mine.length, mine.slice(-2)];',
          { limits, tenant: "b", invokeTool: gates.invoke, onLog: (line) => streamed.push(line) },
        ),
      );
      await until(() => gates.waiting(1) && gates.waiting(3) && engine.stats().parked === 2);
      gates.open(1); // the first guest takes 20 MiB and parks again
      await until(() => gates.waiting(2));
      gates.open(3); // the second needs 20 MiB more than the worker's memory has left
      let secondEnded = false;
      void second.then(() => (secondEnded = true));
      await until(() => engine.stats().reruns > 0 || secondEnded); // ended: failed, before this fix
      gates.open(2);
      const [a, b] = await Promise.all([first, second]);
      assert.equal(kindOf(a), "succeeded", JSON.stringify(a));
      assert.deepEqual(resultOf(a), [20000000, "aa"]);
      assert.equal(kindOf(b), "succeeded", JSON.stringify(b));
      assert.deepEqual(resultOf(b), [20000000, "bb"]);
      assert.ok(engine.stats().reruns >= 1);
      // The rerun printed its lines again; they are streamed once, and the outcome holds the rerun's own.
      assert.deepEqual(streamed, ["b starts", "b grows"]);
      assert.deepEqual((b as { logs: string[] }).logs, ["b starts", "b grows"]);
    } finally {
      await engine.dispose();
    }
  });

  it("ends a guest alone in its worker that fills the worker's memory itself as out_of_memory, with no rerun", async () => {
    // Half of 56 strings of 0.5 MB freed leave holes that 1.2 MB strings cannot use: the guest's live data
    // (~31 MiB) stays under its 33 MiB limit while the heap it needs passes a 40 MiB worker's. Alone, a rerun
    // elsewhere would end the same way (before this rule: rerun until sandbox_unavailable).
    const code = `const keep = []; let holes = [];
for (let i = 0; i < 28; i++) { keep.push("a".repeat(500000) + i); holes.push("b".repeat(500000) + i); }
holes = null;
const big = []; for (let i = 0; i < 15; i++) big.push("c".repeat(1200000) + i);
return [keep.length, big.length];`;
    const limits = { ...TEST_LIMITS, memoryMb: 33, timeoutMs: 30_000 };
    const small = new QuickJsEngine({ workers: 1, maxWorkers: 1, wasmMemoryMaxMb: 40 });
    try {
      const alone = await small.execute(testRequest(code, { limits }));
      assert.equal(kindOf(alone), "out_of_memory", JSON.stringify(alone));
      assert.equal(small.stats().reruns, 0);
      // Its failure says what bound it: the worker, not its limit — so no remedy raises memoryMb, and the
      // same script again ends the same way (not retryable).
      const failure = (alone as { failure: Failure }).failure;
      assert.match(failure.message, /more than the 40 MiB a code-mode worker holds/);
      assert.match(failure.message, /within its 33 MiB limit/);
      assert.equal(failure.retryable, false);
      assert.equal(failure.remedy, undefined);
    } finally {
      await small.dispose();
    }
    // The same script within the same limit runs in a worker with room: the worker's memory stopped it.
    const roomy = new QuickJsEngine({ workers: 1, maxWorkers: 1, wasmMemoryMaxMb: 80 });
    try {
      const fits = await roomy.execute(testRequest(code, { limits }));
      assert.deepEqual(resultOf(fits), [28, 15], JSON.stringify(fits));
    } finally {
      await roomy.dispose();
    }
  });

  it("refuses at once a memoryMb no worker can ever hold, and runs one at the most a worker holds", async () => {
    // Before, such a guest waited in the queue for ever: no worker, even empty, could place it.
    const engine = new QuickJsEngine({ workers: 1, maxWorkers: 1, wasmMemoryMaxMb: 40 });
    try {
      const tooMuch = await engine.execute(
        testRequest("return 1;", { limits: { ...TEST_LIMITS, memoryMb: 60 } }),
      );
      assert.equal(kindOf(tooMuch), "policy_violation", JSON.stringify(tooMuch));
      const failure = (tooMuch as { failure: { retryable: boolean; remedy?: { memoryMb?: number } } })
        .failure;
      assert.equal(failure.retryable, false);
      const most = failure.remedy?.memoryMb;
      assert.ok(most !== undefined && most >= 30 && most < 40, String(most));
      const fits = await engine.execute(
        testRequest("return 6 * 7;", { limits: { ...TEST_LIMITS, memoryMb: most } }),
      );
      assert.equal(resultOf(fits), 42, JSON.stringify(fits));
    } finally {
      await engine.dispose();
    }
  });
});
