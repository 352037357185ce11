// Hostile code-mode scripts: each must end in a failure of the right kind, with the host and the engine unharmed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { TEST_LIMITS, testRequest } from "../../sandboxes/src/testing/index.ts";
import type { CodeModeLimits, CodeModeOutcome } from "../../sandboxes/src/codemode/engine.ts";

const CASES: { name: string; code: string; kinds: string[]; limits?: Partial<CodeModeLimits> }[] = [
  // A long built-in never reaches the interrupt handler: the host kills the worker (or the heap cap hits first).
  {
    name: "new Array(1e9) + ''",
    code: "return (new Array(1e9) + '').length;",
    kinds: ["timeout", "out_of_memory"],
    limits: { timeoutMs: 500 },
  },
  {
    name: "new Array(1e9).join('')",
    code: "return new Array(1e9).join('').length;",
    kinds: ["timeout"],
    limits: { timeoutMs: 300 },
  },
  {
    name: "huge string by doubling",
    code: "let s = 'x';\nwhile (true) s += s;",
    kinds: ["out_of_memory", "runtime_error"],
  },
  { name: "huge string by repeat", code: "return 'x'.repeat(2 ** 29).length;", kinds: ["out_of_memory"] },
  {
    name: "many small strings",
    code: "const a = [];\nfor (;;) a.push('s' + a.length);",
    kinds: ["out_of_memory"],
    limits: { memoryMb: 8 },
  },
  {
    name: "recursive getter",
    code: "const o = { get x() { return this.x; } };\nreturn o.x;",
    kinds: ["stack_overflow"],
  },
  {
    name: "recursive toJSON in the result",
    code: "const o = { toJSON() { return { o: this }; } };\nreturn o;",
    kinds: ["stack_overflow", "runtime_error", "out_of_memory"],
    // Alone it takes ~2 s of CPU before the stack gives out: a loaded machine must not turn it into a timeout.
    limits: { timeoutMs: 30_000 },
  },
  {
    name: "recursive getter through console.log",
    code: "const o = { get x() { return [o, o.x]; } };\nconsole.log(o);",
    // console never throws: a value it cannot print is logged as "[object]".
    kinds: ["succeeded", "stack_overflow", "runtime_error"],
  },
  {
    name: "Proxy whose ownKeys returns a huge length",
    code: "const p = new Proxy({}, { ownKeys() { const a = []; a.length = 1e9; return a; } });\nreturn Object.keys(p).length;",
    kinds: ["out_of_memory", "runtime_error", "timeout"],
    limits: { timeoutMs: 1000 },
  },
  {
    name: "Proxy whose ownKeys returns many keys",
    code: "const p = new Proxy({}, { ownKeys() { return Array.from({ length: 5e6 }, (_, i) => 'k' + i); } });\nreturn Reflect.ownKeys(p).length;",
    kinds: ["out_of_memory", "timeout", "runtime_error"],
    limits: { timeoutMs: 1000 },
  },
  {
    name: "deep recursion",
    code: "function f(n) { return f(n + 1) + 1; }\nreturn f(0);",
    kinds: ["stack_overflow"],
  },
  {
    name: "deep recursion with the largest stack",
    code: "function f(n) { return [f(n + 1)]; }\nreturn f(0);",
    kinds: ["stack_overflow", "runtime_error"],
    limits: { stackKb: 1024 },
  },
  {
    name: "deep recursion through JSON.parse reviver",
    code: "const f = () => JSON.parse('[1]', () => f());\nreturn f();",
    kinds: ["stack_overflow", "runtime_error"],
  },
  {
    name: "while(true) in a promise callback",
    code: "Promise.resolve().then(() => { while (true) {} });\nawait new Promise(() => {});",
    kinds: ["timeout"],
    limits: { timeoutMs: 300 },
  },
  {
    name: "while(true) in a virtual timer",
    code: "setTimeout(() => { for (;;) {} }, 10);\nawait new Promise((r) => setTimeout(r, 20));",
    kinds: ["timeout"],
    limits: { timeoutMs: 300 },
  },
  {
    name: "catching the interrupt does not help",
    code: "for (;;) { try { while (true) {} } catch (e) {} }",
    kinds: ["timeout"],
    limits: { timeoutMs: 300 },
  },
  { name: "unresolvable promise", code: "await new Promise(() => {});", kinds: ["runtime_error"] },
  {
    name: "endless timer chain",
    code: "const tick = () => setTimeout(tick, 1);\ntick();\nawait new Promise(() => {});",
    kinds: ["timeout"],
    limits: { timeoutMs: 300 },
  },
  {
    name: "huge tool arguments",
    code: "await tools.echo({ text: 'x'.repeat(4 << 20) });",
    kinds: ["tool_input_invalid", "out_of_memory", "succeeded"],
    limits: { memoryMb: 16 },
  },
  {
    name: "console flood",
    code: "for (;;) console.log('x'.repeat(1000));",
    kinds: ["output_limit"],
  },
  {
    name: "tool-call flood",
    code: "const all = [];\nfor (let i = 0; i < 10000; i++) all.push(tools.add({ a: i, b: i }).catch(() => 0));\nawait Promise.all(all);",
    kinds: ["policy_violation"],
  },
  {
    name: "escape attempts through the tools object",
    code: "const t = tools.echo;\nreturn [typeof t.caller, Object.getOwnPropertyNames(tools.echo).length > 0, typeof t.constructor('return process')()];",
    kinds: ["succeeded", "runtime_error"],
  },
];

const kindOf = (outcome: CodeModeOutcome): string =>
  outcome.status === "succeeded" ? "succeeded" : outcome.failure.kind;

describe("hostile code-mode scripts (QuickJS)", () => {
  let engine: QuickJsEngine;
  before(async () => {
    engine = new QuickJsEngine({ workers: 2, killGraceMs: 150 });
    await engine.ready();
  });
  after(async () => {
    await engine.dispose();
  });

  for (const hostile of CASES) {
    it(`${hostile.name} → ${hostile.kinds.join(" | ")}, and the next execution works`, async () => {
      const limits = { ...TEST_LIMITS, timeoutMs: 3000, ...hostile.limits };
      const before = process.memoryUsage().rss;
      const outcome = await engine.execute(testRequest(hostile.code, { limits }));
      assert.ok(
        hostile.kinds.includes(kindOf(outcome)),
        `${hostile.name}: ${JSON.stringify(outcome).slice(0, 800)}`,
      );
      if (outcome.status === "failed") {
        assert.equal(typeof outcome.failure.message, "string");
        assert.ok(outcome.failure.message.length > 0);
      }
      // The host is unaffected: nothing leaked into its heap, the engine still runs code.
      assert.ok(process.memoryUsage().rss - before < 512 * 1024 * 1024);
      const next = await engine.execute(testRequest("return (await tools.add({ a: 20, b: 22 }));"));
      assert.equal(kindOf(next), "succeeded", JSON.stringify(next));
      assert.equal(next.status === "succeeded" && next.result, 42);
      assert.equal(engine.stats().workers, 2);
    });
  }

  it("concurrent hostile scripts do not disturb a healthy one", async () => {
    const limits = { ...TEST_LIMITS, timeoutMs: 400 };
    const [bad, good] = await Promise.all([
      engine.execute(testRequest("return new Array(1e9).join('');", { limits })),
      engine.execute(
        testRequest(
          "const r = await Promise.all([tools.sleep({ ms: 50 }), tools.add({ a: 1, b: 1 })]);\nreturn r;",
        ),
      ),
    ]);
    assert.equal(kindOf(bad), "timeout");
    assert.deepEqual(good.status === "succeeded" && good.result, [50, 2]);
  });
});
