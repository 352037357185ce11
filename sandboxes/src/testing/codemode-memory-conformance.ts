// The memory bound every code-mode engine must hold: whatever a guest keeps alive, and however it builds it, ends
// as out_of_memory once it passes its memoryMb; guests under the limit, or churning far more than it, succeed.
// Registered for QuickJS (quickjs-engine.test.ts). Not yet for V8: at memoryMb 16 isolated-vm lets the string
// patterns through (its limit is a guideline, see v8/memory-limit.ts) and then aborts the process.
import assert from "node:assert/strict";
import type { TestApi } from "./test-api.ts";
import { TEST_LIMITS, testRequest } from "./codemode-fixtures.ts";
import type { CodeModeEngine, CodeModeOutcome, CodeModeRequest } from "../codemode/engine.ts";

/** The budget of these tests: small, so each guest reaches it within milliseconds. */
const MEMORY_MB = 16;

/**
 * Allocation patterns a hostile guest can use, each keeping ~64 MB (4× the budget) reachable unless stopped.
 * Each is a script body that returns a number if it ever finishes.
 */
export const KEPT_PATTERNS: readonly (readonly [name: string, code: string])[] = [
  [
    "rope concatenations (long strings joined)",
    'const keep = [];\nfor (let i = 0; i < 640; i++) keep.push("x".repeat(100000) + i);\nreturn keep.length;',
  ],
  [
    "Array(n).join",
    "const keep = [];\nfor (let i = 0; i < 640; i++) keep.push(Array(100001).join(String(i % 10)));\nreturn keep.length;",
  ],
  [
    "padStart",
    'const keep = [];\nfor (let i = 0; i < 640; i++) keep.push(String(i).padStart(100000, "p"));\nreturn keep.length;',
  ],
  [
    "template strings",
    'const keep = [];\nfor (let i = 0; i < 640; i++) keep.push(`${"t".repeat(50000)}${i}${"u".repeat(50000)}`);\nreturn keep.length;',
  ],
  [
    "JSON.stringify of a big structure",
    'const item = Array.from({ length: 100 }, (_, k) => "v".repeat(1000) + k); const keep = [];\nfor (let i = 0; i < 640; i++) keep.push(JSON.stringify([i, item]));\nreturn keep.length;',
  ],
  [
    "ArrayBuffers and typed arrays",
    "const keep = [];\nfor (let i = 0; i < 320; i++) { keep.push(new ArrayBuffer(100000)); keep.push(new Float64Array(12500)); }\nreturn keep.length;",
  ],
  [
    "a Map and a Set",
    "const m = new Map(); const s = new Set();\nfor (let i = 0; i < 2000000; i++) { m.set(i, i); s.add(-i); }\nreturn m.size + s.size;",
  ],
  [
    "many small objects",
    "const keep = [];\nfor (let i = 0; i < 2000000; i++) keep.push({ n: i, list: [i] });\nreturn keep.length;",
  ],
  [
    "closures",
    "const keep = [];\nfor (let i = 0; i < 2000000; i++) { let v = i; keep.push(() => v++); }\nreturn keep.length;",
  ],
  [
    "many regexps (compiled code)",
    'const keep = [];\nfor (let i = 0; i < 400000; i++) keep.push(new RegExp("a" + i + "(b|c)*d[e-z]{2,5}" + i));\nreturn keep.length;',
  ],
  [
    "a big string built in a loop",
    'let s = "";\nfor (let i = 0; i < 8000000; i++) s += "abcdefgh";\nreturn s.length;',
  ],
  [
    "a chain of pending promises",
    // The head stays referenced: each promise holds the next through its reaction (a chain whose head is
    // dropped is freed as it grows, rightly).
    "const head = new Promise(() => {}); let p = head;\nfor (let i = 0; i < 2000000; i++) p = p.then(() => i);\nreturn typeof head;",
  ],
  [
    "queued promise jobs",
    "const keep = [];\nfor (let i = 0; i < 2000000; i++) Promise.resolve(i).then((v) => keep.push(v));\nreturn 1;",
  ],
];

function kind(outcome: CodeModeOutcome): string {
  return outcome.status === "succeeded" ? "succeeded" : outcome.failure.kind;
}

/**
 * Registers the memory-bound tests for one engine (node:test's shape); `makeEngine` is called once.
 *
 * @example
 * import * as t from "node:test";
 * runMemoryConformanceSuite(t, "quickjs", () => new QuickJsEngine({ workers: 2 }));
 */
export function runMemoryConformanceSuite(t: TestApi, name: string, makeEngine: () => CodeModeEngine): void {
  const { describe, it, before, after } = t;
  describe(`code-mode memory bound: ${name}`, () => {
    let engine: CodeModeEngine;
    const limits = { ...TEST_LIMITS, memoryMb: MEMORY_MB, timeoutMs: 60_000 };
    const run = (code: string, overrides: Partial<CodeModeRequest> = {}) =>
      engine.execute(testRequest(code, { limits, ...overrides }));
    before(() => {
      engine = makeEngine();
    });
    after(async () => {
      await engine.dispose();
    });

    for (const [pattern, code] of KEPT_PATTERNS) {
      it(`ends a guest keeping 4× its memoryMb in ${pattern} as out_of_memory`, async () => {
        const outcome = await run(code);
        assert.equal(kind(outcome), "out_of_memory", JSON.stringify(outcome));
        assert.equal(
          (outcome as { failure: { limits?: { memoryMb?: number } } }).failure.limits?.memoryMb,
          16,
        );
        // Stopped at the limit, not merely before the worker's memory ran out: the peak it reached.
        const peakMb = outcome.usage?.memoryPeakMb;
        assert.ok(peakMb !== undefined && peakMb <= MEMORY_MB + 1, `peak ${peakMb} MiB of ${MEMORY_MB}`);
      });
    }

    it("ends a guest that catches the out-of-memory error and returns as out_of_memory", async () => {
      const code =
        'const keep = []; let caught = 0;\nfor (let i = 0; i < 640; i++) { try { keep.push("x".repeat(100000) + i); } catch { caught++; keep.length = 0; } }\nreturn caught;';
      assert.equal(kind(await run(code)), "out_of_memory");
    });

    it("lets a guest keep a quarter of its memoryMb", async () => {
      const code =
        'const keep = [];\nfor (let i = 0; i < 40; i++) keep.push("x".repeat(100000) + i);\nreturn keep.length;';
      const outcome = await run(code);
      assert.equal(kind(outcome), "succeeded", JSON.stringify(outcome));
      assert.equal((outcome as { result: unknown }).result, 40);
    });

    it("lets a guest allocate and drop 40× its memoryMb in all (churn)", async () => {
      const code =
        'let total = 0;\nfor (let i = 0; i < 6400; i++) { const s = "x".repeat(100000) + i; const b = new Uint8Array(1000); total += s.length + b.length; }\nreturn total;';
      const outcome = await run(code);
      assert.equal(kind(outcome), "succeeded", JSON.stringify(outcome));
    });

    it("runs the next guest normally after an over-limit one", async () => {
      assert.equal(kind(await run(KEPT_PATTERNS[0]![1])), "out_of_memory");
      const outcome = await run("return 'after';");
      assert.equal(kind(outcome), "succeeded");
      assert.equal((outcome as { result: unknown }).result, "after");
    });
  });
}
