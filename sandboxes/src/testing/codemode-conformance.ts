// The engine-agnostic conformance suite: the behaviour every code-mode engine (QuickJS, V8) must share.
//
// Defined outcomes it pins down (both engines):
// - `return undefined` (or no return) → succeeded, result null; NaN/Infinity → null (JSON rules).
// - A returned function, symbol or BigInt (top level), a cycle or a nested BigInt → runtime_error,
//   message containing "not JSON-serialisable", cause.type "TypeError".
// - `throw "x"` (any non-Error) → runtime_error, cause.type = the value's typeof ("string", "object", …).
// - A promise nothing can settle (no tool call or timer pending) → runtime_error, cause.type "UnsettledPromise".
// - A failed tool call rejects with an Error named "ToolError" (kind, tool, failure); uncaught, the
//   execution fails with the tool's own failure (tool_failed, tool_input_invalid, tool_not_allowed).
// - More calls than maxToolCalls → policy_violation (rule "maxToolCalls"), even if the guest catches it.
// - Logs over maxLogBytes → output_limit, logs kept up to the cap, logsTruncated true.
// - Date.now()/new Date() = clockMs, advanced only by virtual timers; setTimeout never waits for real.
// - Math.random: same seed → same sequence; different seeds → different sequences.
// - Bounds of the bridge (see BRIDGE_LIMITS): arguments nested deeper than 128 levels or over 1 MiB →
//   tool_input_invalid; a tool result too deep → that call's tool_failed; a result nested deeper than
//   128 levels → runtime_error (cause.type "ResultTooDeep"), deeper than the guest can serialise →
//   runtime_error or stack_overflow, never a host fault.
// - No Atomics (Atomics.wait would block the sandbox's thread); recursion in any form → stack_overflow;
//   a memory bomb → out_of_memory, whatever the size of its allocations, long before its time limit.
import assert from "node:assert/strict";
import type { TestApi } from "./test-api.ts";
import { makeFailure } from "@mend/wire";
import { MemoryJournal, TEST_LIMITS, TEST_TOOLS, testInvoker, testRequest } from "./codemode-fixtures.ts";
import type { CodeModeEngine, CodeModeOutcome, CodeModeRequest, ToolCallRecord } from "../codemode/engine.ts";

export { MemoryJournal, TEST_LIMITS, TEST_TOOLS, testInvoker, testRequest };

function ok(outcome: CodeModeOutcome): unknown {
  assert.equal(
    outcome.status,
    "succeeded",
    JSON.stringify(outcome.status === "failed" ? outcome.failure : null),
  );
  return (outcome as { result: unknown }).result;
}

function failed(outcome: CodeModeOutcome, kind: string) {
  assert.equal(outcome.status, "failed", `expected ${kind}, got success ${JSON.stringify(outcome)}`);
  const failure = outcome.failure;
  assert.equal(failure.kind, kind, JSON.stringify(failure));
  return failure;
}

/**
 * Registers the conformance tests for one engine with the given test framework (node:test's shape).
 * `makeEngine` is called once, before the tests; the engine is disposed after them.
 *
 * @example
 * import * as t from "node:test";
 * runConformanceSuite(t, "quickjs", () => new QuickJsEngine({ workers: 2 }));
 */
export function runConformanceSuite(t: TestApi, name: string, makeEngine: () => CodeModeEngine): void {
  const { describe, it, before, after } = t;
  describe(`code-mode conformance: ${name}`, () => {
    let engine: CodeModeEngine;
    const run = (code: string, overrides: Partial<CodeModeRequest> = {}) =>
      engine.execute(testRequest(code, overrides));
    before(() => {
      engine = makeEngine();
    });
    after(async () => {
      await engine.dispose();
    });

    describe("results", () => {
      it("returns a JSON value", async () => {
        assert.equal(ok(await run("return 6 * 7")), 42);
        assert.deepEqual(ok(await run("return { a: [1, 'x', null, true], n: NaN }")), {
          a: [1, "x", null, true],
          n: null,
        });
      });
      it("supports top-level await", async () => {
        assert.equal(ok(await run("const v = await Promise.resolve(5);\nreturn v + 1;")), 6);
      });
      it("accepts TypeScript and keeps the user's lines", async () => {
        const code = "interface P { x: number }\nconst p: P = { x: 2 };\nreturn p.x as number * 3;";
        assert.equal(ok(await run(code, { language: "typescript" })), 6);
        const thrown = failed(
          await run("const a: number = 1;\n\nthrow new Error('ts ' + a);", { language: "typescript" }),
          "runtime_error",
        );
        assert.equal(thrown.location?.line, 3);
      });
      it("turns undefined into null", async () => {
        assert.equal(ok(await run("const x = 1;")), null);
        assert.equal(ok(await run("return undefined")), null);
      });
      it("fails on values that are not JSON", async () => {
        for (const code of [
          "const a = {}; a.self = a; return a;",
          "return 10n",
          "return { n: 10n }",
          "return () => 1",
          "return Symbol('s')",
        ]) {
          const failure = failed(await run(code), "runtime_error");
          assert.match(failure.message, /not JSON-serialisable/, code);
          assert.equal(failure.cause?.type, "TypeError");
        }
      });
      it("reports a thrown non-Error value", async () => {
        const failure = failed(await run("throw 'boom'"), "runtime_error");
        assert.equal(failure.cause?.type, "string");
        assert.equal(failure.cause?.message, "boom");
        assert.equal(failed(await run("throw { code: 7 }"), "runtime_error").cause?.message, '{"code":7}');
      });
      it("fails on a promise nothing can settle", async () => {
        const failure = failed(await run("await new Promise(() => {});\nreturn 1;"), "runtime_error");
        assert.equal(failure.cause?.type, "UnsettledPromise");
      });
    });

    describe("errors and locations", () => {
      it("reports syntax errors with line and column", async () => {
        const failure = failed(await run("const a = 1;\nconst b = ;\nreturn a;"), "syntax_error");
        assert.equal(failure.location?.line, 2);
        assert.equal(typeof failure.location?.column, "number");
        failed(await run("const x: = 1", { language: "typescript" }), "syntax_error");
      });
      it("reports uncaught exceptions with the user's lines", async () => {
        const code = "function inner() {\n  null.boom;\n}\nfunction outer() { inner(); }\nouter();";
        const failure = failed(await run(code), "runtime_error");
        assert.equal(failure.location?.line, 2);
        assert.equal(failure.cause?.type, "TypeError");
        assert.match(String(failure.cause?.stack), /:2:/);
        assert.match(String(failure.cause?.stack), /:4:/);
      });
      it("keeps columns of the first line", async () => {
        const failure = failed(await run("throw new RangeError('first')"), "runtime_error");
        assert.equal(failure.location?.line, 1);
        const column = failure.location?.column ?? 0;
        // Engines point at different tokens of the statement, but always inside the user's line.
        assert.ok(column >= 1 && column <= 29, JSON.stringify(failure.location));
      });
    });

    describe("tools", () => {
      it("makes three sequential calls", async () => {
        const outcome = await run(
          "const a = await tools.echo({ text: 'a' });\nconst b = await tools.add({ a: 1, b: 2 });\nconst c = await tools.echo({ text: 'a' });\nreturn [a.text, b, c.text];",
        );
        assert.deepEqual(ok(outcome), ["a", 3, "a"]);
        assert.deepEqual(
          outcome.toolCalls.map((c) => [
            c.seq,
            c.tool,
            c.argsJson,
            c.occurrence,
            c.status,
            c.replayed ?? false,
          ]),
          [
            [1, "echo", '{"text":"a"}', 1, "succeeded", false],
            [2, "add", '{"a":1,"b":2}', 1, "succeeded", false],
            [3, "echo", '{"text":"a"}', 2, "succeeded", false],
          ],
        );
      });
      it("runs concurrent calls with Promise.all", async () => {
        const code =
          "const r = await Promise.all([tools.sleep({ ms: 30 }), tools.sleep({ ms: 1 }), tools.add({ a: 2, b: 2 })]);\nreturn r;";
        assert.deepEqual(ok(await run(code)), [30, 1, 4]);
      });
      it("exposes dotted names as namespaces", async () => {
        const code =
          "return [typeof tools.github, Object.keys(tools).sort(), await tools.github.search({ q: 'bug' })];";
        const [kind, keys, hit] = ok(await run(code)) as [string, string[], unknown];
        assert.equal(kind, "object");
        assert.deepEqual(keys, [
          "add",
          "deep",
          "echo",
          "fails",
          "github",
          "rejects",
          "sleep",
          "strict",
          "throws",
        ]);
        assert.deepEqual(hit, { hits: ["bug-1"], limit: null });
      });
      it("binds only the allowed tools and names them on tool_not_allowed", async () => {
        const tools = TEST_TOOLS.filter((t) => t.name === "echo");
        const failure = failed(await run("await tools.add({ a: 1, b: 2 });", { tools }), "tool_not_allowed");
        assert.deepEqual(failure.allowedTools, ["echo"]);
        assert.match(failure.message, /echo/);
        const caught = await run(
          "try { await tools.github.nope({}); } catch (e) { return [e.name, e.kind, e.failure.tool]; }",
        );
        assert.deepEqual(ok(caught), ["ToolError", "tool_not_allowed", "github.nope"]);
      });
      it("validates arguments against the schema with paths", async () => {
        const failure = failed(
          await run("await tools.strict({ user: { name: 1, age: -1 }, extra: true });"),
          "tool_input_invalid",
        );
        const paths = (failure.errors ?? []).map((e) => e.path);
        assert.ok(paths.includes("/user/name"), JSON.stringify(failure.errors));
        assert.ok(paths.includes("/user/age"), JSON.stringify(failure.errors));
        assert.ok(
          paths.some((p) => p.startsWith("/extra") || p === "/"),
          JSON.stringify(failure.errors),
        );
      });
      it("turns a failing, throwing or rejecting tool into tool_failed and stays usable", async () => {
        for (const tool of ["fails", "throws", "rejects"]) {
          const failure = failed(await run(`\nawait tools.${tool}({});`), "tool_failed");
          assert.equal(failure.location?.line, 2, tool);
        }
        assert.equal(
          ok(await run("try { await tools.throws({}); } catch (e) { return e.kind; }")),
          "tool_failed",
        );
        assert.equal(ok(await run("return (await tools.echo({ text: 'still fine' })).text")), "still fine");
      });
      it("caps the number of tool calls", async () => {
        const limits = { ...TEST_LIMITS, maxToolCalls: 3 };
        const code =
          "for (let i = 0; i < 5; i++) { try { await tools.add({ a: i, b: 0 }); } catch {} }\nreturn 'done';";
        const failure = failed(await run(code, { limits }), "policy_violation");
        assert.equal(failure.rule, "maxToolCalls");
      });
      it("gives the guest plain JSON copies: prototype tricks stay inside", async () => {
        const code = `const r = await tools.echo({ text: 'p' });
r.__proto__.polluted = 'yes';
const F = r.constructor.constructor;
return [typeof F('return typeof process')(), F('return typeof process')(), Object.getPrototypeOf(r) === Object.prototype, typeof tools.echo.constructor.constructor('return this')().process];`;
        assert.deepEqual(ok(await run(code)), ["string", "undefined", true, "undefined"]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });
    });

    describe("isolation", () => {
      it("has no require, import, fetch or process", async () => {
        const code =
          "return [typeof require, typeof process, typeof fetch, typeof module, typeof Buffer, typeof XMLHttpRequest, typeof WebAssembly === 'undefined' || typeof WebAssembly];";
        const values = ok(await run(code)) as string[];
        assert.deepEqual(values.slice(0, 6), [
          "undefined",
          "undefined",
          "undefined",
          "undefined",
          "undefined",
          "undefined",
        ]);
        const dynamic = failed(await run("await import('node:fs');"), "runtime_error");
        assert.match(dynamic.message, /import|module/i);
        failed(await run("import fs from 'node:fs';\nreturn 1;"), "syntax_error");
      });
      it("constructor.constructor reaches nothing of the host", async () => {
        const code =
          "const g = (() => {}).constructor.constructor('return this')();\nreturn [typeof g.process, typeof constructor.constructor('return typeof process')(), typeof g.require];";
        assert.deepEqual(ok(await run(code)), ["undefined", "string", "undefined"]);
      });
      it("shares nothing between executions", async () => {
        ok(await run("globalThis.leak = 1; Object.prototype.polluted = 1; return 1;"));
        assert.deepEqual(ok(await run("return [typeof globalThis.leak, typeof ({}).polluted];")), [
          "undefined",
          "undefined",
        ]);
      });
    });

    describe("limits", () => {
      const short = { ...TEST_LIMITS, timeoutMs: 300 };
      it("times out a tight loop", async () => {
        const failure = failed(await run("let i = 0;\nwhile (true) { i++; }", { limits: short }), "timeout");
        assert.deepEqual(failure.limits, { timeoutMs: 300 });
      });
      it("times out a loop inside a promise callback", async () => {
        failed(
          await run("await Promise.resolve().then(() => { while (true) {} });", { limits: short }),
          "timeout",
        );
      });
      it("times out a slow tool call", async () => {
        failed(await run("await tools.sleep({ ms: 1000 });", { limits: short }), "timeout");
      });
      it("reports out_of_memory", async () => {
        const limits = { ...TEST_LIMITS, memoryMb: 16 };
        const failure = failed(
          await run("const a = [];\nwhile (true) a.push('s' + a.length);", { limits }),
          "out_of_memory",
        );
        assert.equal(failure.limits?.memoryMb, 16);
        assert.equal(ok(await run("return 'after oom'")), "after oom");
      });
      it("reports stack_overflow", async () => {
        const failure = failed(
          await run("function f(n) { return f(n + 1) + 1; }\nreturn f(0);"),
          "stack_overflow",
        );
        assert.equal(failure.location?.line, 1);
        assert.equal(ok(await run("return 'after overflow'")), "after overflow");
      });
      it("caps logs: output_limit, kept up to the cap", async () => {
        const limits = { ...TEST_LIMITS, maxLogBytes: 100 };
        const outcome = await run("for (let i = 0; i < 1000; i++) console.log('line ' + i);\nreturn 1;", {
          limits,
        });
        failed(outcome, "output_limit");
        assert.equal(outcome.logsTruncated, true);
        assert.ok(outcome.logs.length > 0);
        assert.ok(Buffer.byteLength(outcome.logs.join("")) <= 100);
        assert.equal(outcome.logs[0], "line 0");
      });
      it("caps the result", async () => {
        const limits = { ...TEST_LIMITS, maxResultBytes: 1000 };
        const failure = failed(await run("return 'x'.repeat(2000);", { limits }), "output_limit");
        assert.equal(failure.limits?.maxResultBytes, 1000);
      });
      it("cancels on abort", async () => {
        const controller = new AbortController();
        const pending = run("await tools.sleep({ ms: 1000 });", { signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        failed(await pending, "interrupted");
        assert.equal(ok(await run("return 'after abort'")), "after abort");
      });
    });

    describe("bounds of the bridge", () => {
      const nested = (levels: number, leaf = "0") =>
        `let o = ${leaf}; for (let i = 0; i < ${levels}; i++) o = { k: o };`;
      // Deep values take QuickJS a few hundred ms of CPU: on a loaded machine that can pass the default 2 s
      // limit, and these tests are about the bounds, not the time limit.
      const roomy = { limits: { ...TEST_LIMITS, timeoutMs: 30_000 } };
      it("refuses tool arguments nested 10,000 deep as tool_input_invalid", async () => {
        const failure = failed(
          await run(`${nested(10_000)}\nawait tools.echo({ text: "x", o });`, roomy),
          "tool_input_invalid",
        );
        assert.equal(failure.tool, "echo");
        assert.match(failure.message, /nested|deep/);
        assert.equal(ok(await run("return 'after deep arguments'")), "after deep arguments");
      });
      it("refuses tool arguments nested 200 deep (over the bridge's 128 levels), accepts 100", async () => {
        const deep = failed(
          await run(`${nested(200)}\nawait tools.echo({ text: "x", o });`),
          "tool_input_invalid",
        );
        assert.deepEqual(
          deep.errors?.map((e) => e.path),
          ["/"],
        );
        assert.equal(
          ok(await run(`${nested(100)}\nreturn (await tools.echo({ text: "ok", o })).text;`)),
          "ok",
        );
      });
      it("refuses tool arguments over 1 MiB as tool_input_invalid, which the script can catch", async () => {
        const code =
          "try { await tools.echo({ text: 'x'.repeat(2 * 1024 * 1024) }); } catch (e) { return [e.name, e.kind]; }";
        assert.deepEqual(ok(await run(code, { limits: { ...TEST_LIMITS, memoryMb: 64 } })), [
          "ToolError",
          "tool_input_invalid",
        ]);
      });
      it("fails the call of a tool whose result is nested deeper than 128 levels", async () => {
        assert.equal(ok(await run("return JSON.stringify(await tools.deep({ levels: 3 }));")), "[[[]]]");
        const caught = await run(
          "try { await tools.deep({ levels: 300 }); } catch (e) { return [e.kind, e.message]; }",
        );
        const [kind, message] = ok(caught) as [string, string];
        assert.equal(kind, "tool_failed");
        assert.match(message, /nested deeper than 128/);
      });
      it("fails a result nested deeper than 128 levels as runtime_error ResultTooDeep", async () => {
        const failure = failed(
          await run("let a = [];\nfor (let i = 0; i < 200; i++) a = [a];\nreturn a;"),
          "runtime_error",
        );
        assert.equal(failure.cause?.type, "ResultTooDeep");
        assert.equal(ok(await run("let a = []; for (let i = 0; i < 100; i++) a = [a]; return 1;")), 1);
      });
      it("fails a result nested 9,000 deep as a structured failure", async () => {
        const outcome = await run("let a = [];\nfor (let i = 0; i < 9000; i++) a = [a];\nreturn a;", roomy);
        assert.equal(outcome.status, "failed");
        assert.ok(
          ["runtime_error", "stack_overflow"].includes(
            (outcome as { failure: { kind: string } }).failure.kind,
          ),
          JSON.stringify(outcome),
        );
      });
    });

    describe("hostile limits", () => {
      it("has no Atomics, so nothing can block the sandbox's thread", async () => {
        assert.equal(ok(await run("return typeof Atomics;")), "undefined");
        const failure = failed(
          await run("const sab = new SharedArrayBuffer(16);\nAtomics.wait(new Int32Array(sab), 0, 0);", {
            limits: { ...TEST_LIMITS, timeoutMs: 30_000 },
          }),
          "runtime_error",
        );
        assert.equal(failure.cause?.type, "ReferenceError");
      });
      it("ends async recursion as stack_overflow or out_of_memory (a promise per level), not timeout", async () => {
        const outcome = await run("async function f() { await f(); }\nawait f();", {
          limits: { ...TEST_LIMITS, timeoutMs: 30_000 },
        });
        assert.equal(outcome.status, "failed");
        const kind = (outcome as { failure: { kind: string } }).failure.kind;
        assert.ok(["stack_overflow", "out_of_memory"].includes(kind), kind);
      });
      for (const [name, code] of [
        ["a recursive getter", "const o = { get x() { return this.x; } };\nreturn o.x;"],
        ["recursion through toString", "const o = { toString() { return String(o); } };\nreturn String(o);"],
        [
          "recursion through a Proxy",
          "const p = new Proxy({}, { get(t, k) { return p[k]; } });\nreturn p.x;",
        ],
        ["recursion through Array.prototype.map", "function f() { return [1].map(f); }\nreturn f();"],
      ]) {
        it(`ends ${name} as stack_overflow, not timeout`, async () => {
          failed(await run(code!, { limits: { ...TEST_LIMITS, timeoutMs: 30_000 } }), "stack_overflow");
        });
      }
      for (const [name, code] of [
        ["small strings", "const a = [];\nwhile (true) a.push('s' + a.length);"],
        ["1 KiB strings", "let s = 'x'; const a = [];\nwhile (true) a.push(s.repeat(1000) + a.length);"],
        [
          "1 MiB strings",
          "const big = 'y'.repeat(1 << 20); const a = [];\nwhile (true) a.push(big + a.length);",
        ],
        ["objects", "const a = [];\nwhile (true) a.push({ n: a.length, list: [1, 2, 3] });"],
      ]) {
        it(`stops a memory bomb of ${name} as out_of_memory long before its time limit`, async () => {
          const limits = { ...TEST_LIMITS, memoryMb: 16, timeoutMs: 60_000 };
          const failure = failed(await run(code!, { limits }), "out_of_memory");
          assert.equal(failure.limits?.memoryMb, 16);
        });
      }
    });

    describe("console", () => {
      it("captures every level", async () => {
        const outcome = await run(
          "console.log('a', 1, { b: [2] });\nconsole.info('i'); console.debug('d');\nconsole.warn('w'); console.error(new TypeError('e'));",
        );
        ok(outcome);
        assert.deepEqual(outcome.logs, ['a 1 {"b":[2]}', "i", "d", "[warn] w", "[error] TypeError: e"]);
        assert.equal(outcome.logsTruncated, false);
      });
    });

    describe("determinism", () => {
      const code = "return [Math.random(), Math.random(), Date.now(), new Date().getTime()];";
      it("derives Math.random from the seed", async () => {
        const a = ok(await run(code, { seed: 7 })) as number[];
        const b = ok(await run(code, { seed: 7 })) as number[];
        const c = ok(await run(code, { seed: 8 })) as number[];
        assert.deepEqual(a, b);
        assert.notDeepEqual(a.slice(0, 2), c.slice(0, 2));
        assert.ok(a[0]! >= 0 && a[0]! < 1);
      });
      it("derives Date from the clock, advanced only by virtual timers", async () => {
        const clockMs = Date.UTC(2024, 5, 1);
        const [, , now, date] = ok(await run(code, { clockMs })) as number[];
        assert.equal(now, clockMs);
        assert.equal(date, clockMs);
        const timed =
          "const t0 = Date.now();\nawait new Promise((r) => setTimeout(r, 60000));\nconst order = [];\nsetTimeout(() => order.push('b'), 20); setTimeout(() => order.push('a'), 10);\nawait new Promise((r) => setTimeout(r, 30));\nreturn [Date.now() - t0, order];";
        const started = performance.now();
        assert.deepEqual(ok(await run(timed, { clockMs })), [60030, ["a", "b"]]);
        assert.ok(performance.now() - started < 5000);
      });
    });

    describe("durable tool calls", () => {
      const script =
        "const a = await tools.echo({ text: 'one' });\nconst b = await tools.add({ a: 1, b: 2 });\nconst c = await tools.echo({ text: 'one' });\nreturn [a.text, b, c.text];";
      it("records live calls and replays them without invoking the tools", async () => {
        const journal = new MemoryJournal();
        const first = await run(script, { journal });
        assert.deepEqual(ok(first), ["one", 3, "one"]);
        assert.equal(journal.records.length, 3);
        const invoker = testInvoker();
        const second = await run(script, {
          journal: new MemoryJournal(journal.records),
          invokeTool: invoker,
        });
        assert.deepEqual(ok(second), ["one", 3, "one"]);
        assert.equal(invoker.calls.length, 0);
        assert.ok(second.toolCalls.every((c) => c.replayed === true));
        assert.deepEqual(second.unmatchedReplays, []);
      });
      it("replays a partial journal and continues live", async () => {
        const journal = new MemoryJournal();
        ok(await run(script, { journal }));
        const partial = new MemoryJournal(
          journal.records.filter((r) => r.tool === "echo" && r.occurrence === 1),
        );
        const invoker = testInvoker();
        const outcome = await run(script, { journal: partial, invokeTool: invoker });
        assert.deepEqual(ok(outcome), ["one", 3, "one"]);
        assert.deepEqual(
          invoker.calls.map((c) => c.tool),
          ["add", "echo"],
        );
        assert.deepEqual(
          outcome.toolCalls.map((c) => c.replayed ?? false),
          [true, false, false],
        );
        assert.equal(partial.records.length, 3);
      });
      it("replays the recorded result, even a different one", async () => {
        const recorded: ToolCallRecord = {
          seq: 1,
          tool: "add",
          argsJson: '{"a":1,"b":2}',
          occurrence: 1,
          status: "succeeded",
          output: 99,
          ms: 1,
        };
        const failedCall: ToolCallRecord = {
          seq: 2,
          tool: "echo",
          argsJson: '{"text":"x"}',
          occurrence: 1,
          status: "failed",
          ms: 1,
          failure: makeFailure("tool_failed", "recorded failure", false, { tool: "echo" }),
        };
        const code =
          "const s = await tools.add({ b: 2, a: 1 });\ntry { await tools.echo({ text: 'x' }); } catch (e) { return [s, e.message]; }";
        assert.deepEqual(ok(await run(code, { journal: new MemoryJournal([recorded, failedCall]) })), [
          99,
          "recorded failure",
        ]);
      });
      it("reports recorded calls the run never made", async () => {
        const journal = new MemoryJournal();
        ok(await run(script, { journal }));
        const outcome = await run("return (await tools.echo({ text: 'one' })).text;", {
          journal: new MemoryJournal(journal.records),
        });
        assert.equal(ok(outcome), "one");
        assert.deepEqual(outcome.unmatchedReplays.map((c) => [c.tool, c.occurrence]).sort(), [
          ["add", 1],
          ["echo", 2],
        ]);
      });
      it("matches concurrent calls by arguments and occurrence, not by position", async () => {
        const code =
          "const r = await Promise.all([tools.sleep({ ms: 25 }), tools.sleep({ ms: 1 }), tools.sleep({ ms: 25 })]);\nreturn r;";
        const journal = new MemoryJournal();
        assert.deepEqual(ok(await run(code, { journal })), [25, 1, 25]);
        const reversed = new MemoryJournal([...journal.records].reverse());
        const invoker = testInvoker();
        const outcome = await run(code, { journal: reversed, invokeTool: invoker });
        assert.deepEqual(ok(outcome), [25, 1, 25]);
        assert.equal(invoker.calls.length, 0);
        assert.deepEqual(outcome.unmatchedReplays, []);
      });
    });
  });
}
