// The conformance suite of Python code-mode engines: the JavaScript suite's guarantees, adapted to Python.
//
// Defined outcomes it pins down:
// - The result is the value of the last expression (None, or no expression → null); tuples become
//   arrays, NaN/Infinity null; sets, bytes, datetimes, tuple keys → runtime_error "not JSON-serialisable".
// - Tools: `tools.<name>(key=value)` or one dict; dotted names as attributes, keywords suffixed with
//   `_`, `tools.call("exact.name", ...)`. Calls are sequential (asyncio.gather included).
// - A failed call raises ValueError (tool_input_invalid), PermissionError (tool_not_allowed) or
//   RuntimeError (tool_failed); str(e) starts with the kind; uncaught → the tool's own failure.
// - Modules: asyncio, datetime, json, math, re, sys, typing, random (seeded), time (clockMs, advanced
//   only by time.sleep); os and pathlib → missing_dependency; no open/eval/exec/__import__/globals.
import assert from "node:assert/strict";
import type { TestApi } from "./test-api.ts";
import { TEST_LIMITS, TEST_TOOLS, pythonRequest } from "./codemode-fixtures.ts";
import type { CodeModeEngine, CodeModeOutcome, CodeModeRequest } from "../codemode/engine.ts";
import { runPythonDurabilitySuite } from "./python-durability.ts";

/** The result of a succeeded outcome (fails the test otherwise). */
export function ok(outcome: CodeModeOutcome): unknown {
  assert.equal(
    outcome.status,
    "succeeded",
    JSON.stringify(outcome.status === "failed" ? outcome.failure : null),
  );
  return (outcome as { result: unknown }).result;
}

/** The failure of a failed outcome, checked to be of `kind`. */
export function failed(outcome: CodeModeOutcome, kind: string) {
  assert.equal(outcome.status, "failed", `expected ${kind}, got success ${JSON.stringify(outcome)}`);
  const failure = outcome.failure;
  assert.equal(failure.kind, kind, JSON.stringify(failure));
  return failure;
}

/**
 * Registers the Python conformance tests for one engine with the given test framework.
 * `makeEngine` is called once, before the tests; the engine is disposed after them.
 *
 * @example
 * import * as t from "node:test";
 * runPythonConformanceSuite(t, "monty", () => new MontyEngine({ workers: 2 }));
 */
export function runPythonConformanceSuite(t: TestApi, name: string, makeEngine: () => CodeModeEngine): void {
  const { describe, it, before, after } = t;
  describe(`python code-mode conformance: ${name}`, () => {
    let engine: CodeModeEngine;
    const run = (code: string, overrides: Partial<CodeModeRequest> = {}) =>
      engine.execute(pythonRequest(code, overrides));
    before(() => {
      engine = makeEngine();
    });
    after(async () => {
      await engine.dispose();
    });

    describe("results", () => {
      it("returns the last expression as JSON", async () => {
        assert.equal(ok(await run("6 * 7")), 42);
        assert.deepEqual(ok(await run('{"a": [1, "x", None, True], "t": (1, 2), "n": float("nan")}')), {
          a: [1, "x", null, true],
          t: [1, 2],
          n: null,
        });
        assert.deepEqual(ok(await run("x = {1: 'int key'}\nx")), { "1": "int key" });
      });
      it("gives null when the script ends on a statement or None", async () => {
        assert.equal(ok(await run("x = 1")), null);
        assert.equal(ok(await run("None")), null);
      });
      it("runs coroutines with top-level await", async () => {
        assert.equal(ok(await run("async def f():\n    return 5\nawait f() + 1")), 6);
      });
      it("fails on values that are not JSON", async () => {
        for (const code of [
          "{1, 2}",
          'b"x"',
          "import datetime\ndatetime.date(2024, 1, 1)",
          "{(1, 2): 3}",
          "...",
        ]) {
          const failure = failed(await run(code), "runtime_error");
          assert.match(failure.message, /not JSON-serialisable/, code);
          assert.equal(failure.cause?.type, "TypeError");
        }
      });
    });

    describe("errors and locations", () => {
      it("reports syntax errors with line and column", async () => {
        const failure = failed(await run("a = 1\nb = (\nc = ]"), "syntax_error");
        assert.equal(typeof failure.location?.line, "number");
        assert.ok(failure.location!.line >= 2, JSON.stringify(failure.location));
        const bad = failed(await run("x = 1\ndef f(:\n    pass"), "syntax_error");
        assert.equal(bad.location?.line, 2);
        assert.equal(bad.location?.column, 7);
      });
      it("reports syntax Monty does not support as syntax_error at its line", async () => {
        const failure = failed(await run("x = 1\nclass A:\n    pass"), "syntax_error");
        assert.equal(failure.location?.line, 2);
        assert.match(failure.message, /class/);
      });
      it("reports uncaught exceptions with the user's lines and a Python traceback", async () => {
        const code = "def inner():\n    return {}['missing']\ndef outer():\n    return inner()\nouter()";
        const failure = failed(await run(code), "runtime_error");
        assert.equal(failure.location?.line, 2);
        assert.equal(failure.cause?.type, "KeyError");
        assert.match(String(failure.cause?.stack), /line 2, in inner/);
        assert.match(String(failure.cause?.stack), /line 4, in outer/);
      });
      it("keeps columns of the first line", async () => {
        const failure = failed(await run('raise RuntimeError("first")'), "runtime_error");
        assert.equal(failure.location?.line, 1);
        const column = failure.location?.column ?? 0;
        assert.ok(column >= 1 && column <= 27, JSON.stringify(failure.location));
        assert.equal(failure.cause?.message, "first");
      });
    });

    describe("tools", () => {
      it("makes three sequential calls with keyword arguments", async () => {
        const outcome = await run(
          "a = tools.echo(text='a')\nb = tools.add(a=1, b=2)\nc = tools.echo(text='a')\n[a['text'], b, c['text']]",
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
      it("accepts one dict instead of keywords, and nothing else positional", async () => {
        assert.equal(ok(await run("tools.echo({'text': 'd'})['text']")), "d");
        const failure = failed(await run("tools.echo('x')"), "runtime_error");
        assert.equal(failure.cause?.type, "TypeError");
        assert.match(failure.message, /keywords/);
      });
      it("runs asyncio.gather of coroutines, one call after another", async () => {
        const code =
          "import asyncio\nasync def nap(ms):\n    return tools.sleep(ms=ms)\nawait asyncio.gather(nap(30), nap(1), nap(2))";
        const outcome = await run(code);
        assert.deepEqual(ok(outcome), [30, 1, 2]);
        assert.deepEqual(
          outcome.toolCalls.map((c) => c.argsJson),
          ['{"ms":30}', '{"ms":1}', '{"ms":2}'],
        );
      });
      it("exposes dotted names as attributes, keywords with a trailing underscore, and tools.call", async () => {
        const tools = [...TEST_TOOLS, { name: "flow.import", inputSchema: { type: "object" } }];
        const code =
          "[tools.github.search(q='bug'), tools.call('github.search', q='x', limit=2), tools.flow.import_(n=1)]";
        const outcome = await run(code, { tools });
        assert.deepEqual(ok(outcome), [{ hits: ["bug-1"], limit: null }, { hits: ["x-1"], limit: 2 }, null]);
        assert.deepEqual(
          outcome.toolCalls.map((c) => c.tool),
          ["github.search", "github.search", "flow.import"],
        );
      });
      it("binds only the allowed tools and names them on tool_not_allowed", async () => {
        const tools = TEST_TOOLS.filter((t) => t.name === "echo");
        const failure = failed(await run("tools.add(a=1, b=2)", { tools }), "tool_not_allowed");
        assert.deepEqual(failure.allowedTools, ["echo"]);
        assert.match(failure.message, /echo/);
        const caught = await run(
          "try:\n    tools.github.nope()\nexcept PermissionError as e:\n    r = [type(e).__name__, str(e).split(':')[0], 'github.nope' in str(e)]\nr",
        );
        assert.deepEqual(ok(caught), ["PermissionError", "tool_not_allowed", true]);
      });
      it("validates arguments against the schema with paths, catchable as ValueError", async () => {
        const failure = failed(
          await run("tools.strict(user={'name': 1, 'age': -1}, extra=True)"),
          "tool_input_invalid",
        );
        const paths = (failure.errors ?? []).map((e) => e.path);
        assert.ok(paths.includes("/user/name"), JSON.stringify(failure.errors));
        assert.ok(paths.includes("/user/age"), JSON.stringify(failure.errors));
        const caught = await run(
          "try:\n    tools.strict(user=1)\nexcept ValueError as e:\n    r = str(e)\nr",
        );
        assert.match(String(ok(caught)), /^tool_input_invalid: /);
      });
      it("refuses arguments that are not JSON before calling", async () => {
        const failure = failed(await run("tools.echo(text={1, 2})"), "runtime_error");
        assert.equal(failure.cause?.type, "TypeError");
        assert.match(failure.message, /\/text is a set/);
      });
      it("turns a failing, throwing or rejecting tool into tool_failed and stays usable", async () => {
        for (const tool of ["fails", "throws", "rejects"]) {
          const failure = failed(await run(`x = 1\ntools.${tool}()`), "tool_failed");
          assert.equal(failure.location?.line, 2, tool);
        }
        const caught = await run(
          "try:\n    tools.throws()\nexcept RuntimeError as e:\n    r = str(e).split(':')[0]\nr",
        );
        assert.equal(ok(caught), "tool_failed");
        assert.equal(ok(await run("tools.echo(text='still fine')['text']")), "still fine");
      });
      it("caps the number of tool calls, even when the script catches it", async () => {
        const limits = { ...TEST_LIMITS, maxToolCalls: 3 };
        const code =
          "for i in range(5):\n    try:\n        tools.add(a=i, b=0)\n    except Exception:\n        pass\n'done'";
        const failure = failed(await run(code, { limits }), "policy_violation");
        assert.equal(failure.rule, "maxToolCalls");
      });
      it("gives the guest plain dicts: a tool's JSON never becomes an interpreter object", async () => {
        const forged = {
          __monty_type__: "Dataclass",
          name: "tools",
          typeId: 1,
          fieldNames: [],
          fields: {},
          frozen: true,
        };
        const invokeTool = async () => ({ ok: true as const, value: forged });
        const code = "r = tools.echo(text='x')\n[type(r).__name__, r['__monty_type__'], sorted(r.keys())[0]]";
        assert.deepEqual(ok(await run(code, { invokeTool })), ["dict", "Dataclass", "__monty_type__"]);
      });
    });

    describe("isolation", () => {
      it("has no open, eval, exec, __import__, globals or environment", async () => {
        const code = `out = []
for f in [lambda: open("/etc/passwd").read(), lambda: eval("1"), lambda: exec("x = 1"), lambda: __import__("os"), lambda: globals()]:
    try:
        f()
        out.append("ran")
    except Exception as e:
        out.append(type(e).__name__)
out`;
        assert.deepEqual(ok(await run(code)), [
          "PermissionError",
          "NameError",
          "NameError",
          "NameError",
          "NameError",
        ]);
      });
      it("refuses os and pathlib, and modules it does not have, as missing_dependency", async () => {
        for (const [code, module] of [
          ["import os\nos.getenv('HOME')", "os"],
          ["from pathlib import Path", "pathlib"],
          ["import collections", "collections"],
        ] as const) {
          const failure = failed(await run(code), "missing_dependency");
          assert.equal(failure.module, module, code);
          assert.equal(failure.location?.line, 1);
        }
        assert.equal(
          ok(await run("try:\n    import os\nexcept ImportError:\n    r = 'caught'\nr")),
          "caught",
        );
      });
      it("imports the pure modules", async () => {
        const code =
          "import json, math, re, asyncio, typing, sys\n[json.dumps({'a': 1}), math.sqrt(16), bool(re.match('a+', 'aa'))]";
        assert.deepEqual(ok(await run(code)), ['{"a": 1}', 4, true]);
      });
      it("shares nothing between executions", async () => {
        ok(await run("leak = 1\nleak"));
        const failure = failed(await run("leak"), "runtime_error");
        assert.equal(failure.cause?.type, "NameError");
      });
      it("cannot reach the host through attribute walks", async () => {
        const failure = failed(await run("().__class__.__bases__[0].__subclasses__()"), "runtime_error");
        assert.equal(failure.cause?.type, "AttributeError");
        failed(await run("tools.__dict__"), "runtime_error");
      });
    });

    describe("limits", () => {
      const short = { ...TEST_LIMITS, timeoutMs: 300 };
      it("times out a tight loop", async () => {
        const failure = failed(await run("i = 0\nwhile True:\n    i += 1", { limits: short }), "timeout");
        assert.deepEqual(failure.limits, { timeoutMs: 300 });
      });
      it("times out a slow tool call", async () => {
        failed(await run("tools.sleep(ms=1000)", { limits: short }), "timeout");
      });
      it("reports out_of_memory and works afterwards", async () => {
        const limits = { ...TEST_LIMITS, memoryMb: 16 };
        const failure = failed(
          await run("a = []\nwhile True:\n    a.append('s' * 1000)", { limits }),
          "out_of_memory",
        );
        assert.equal(failure.limits?.memoryMb, 16);
        assert.equal(failure.location?.line, 3);
        assert.equal(ok(await run("'after oom'")), "after oom");
      });
      it("reports stack_overflow", async () => {
        const failure = failed(await run("def f(n):\n    return f(n + 1) + 1\nf(0)"), "stack_overflow");
        assert.equal(failure.location?.line, 2);
        assert.equal(ok(await run("'after overflow'")), "after overflow");
      });
      it("caps logs: output_limit, kept up to the cap", async () => {
        const limits = { ...TEST_LIMITS, maxLogBytes: 100 };
        const outcome = await run("for i in range(1000):\n    print('line', i)\n1", { limits });
        failed(outcome, "output_limit");
        assert.equal(outcome.logsTruncated, true);
        assert.ok(outcome.logs.length > 0);
        assert.ok(Buffer.byteLength(outcome.logs.join("")) <= 100);
        assert.equal(outcome.logs[0], "line 0");
      });
      it("caps the result", async () => {
        const limits = { ...TEST_LIMITS, maxResultBytes: 1000 };
        const failure = failed(await run("'x' * 2000", { limits }), "output_limit");
        assert.equal(failure.limits?.maxResultBytes, 1000);
      });
      it("cancels on abort", async () => {
        const controller = new AbortController();
        const pending = run("tools.sleep(ms=1000)", { signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        failed(await pending, "interrupted");
        assert.equal(ok(await run("'after abort'")), "after abort");
      });
    });

    describe("print", () => {
      it("captures print output as log lines", async () => {
        const outcome = await run(
          "print('a', 1, {'b': [2]})\nprint('x', 'y', sep='-', end='!\\n')\nprint('tail', end='')",
        );
        ok(outcome);
        assert.deepEqual(outcome.logs, ["a 1 {'b': [2]}", "x-y!", "tail"]);
        assert.equal(outcome.logsTruncated, false);
      });
    });

    describe("determinism", () => {
      const code =
        "import random, time\n[random.random(), random.randint(1, 1000), time.time(), time.monotonic()]";
      it("derives random from the seed", async () => {
        const a = ok(await run(code, { seed: 7 })) as number[];
        const b = ok(await run(code, { seed: 7 })) as number[];
        const c = ok(await run(code, { seed: 8 })) as number[];
        assert.deepEqual(a, b);
        assert.notDeepEqual(a.slice(0, 2), c.slice(0, 2));
        assert.ok(a[0]! >= 0 && a[0]! < 1);
        const picks = ok(
          await run("from random import choice, sample\n[choice([1, 2, 3]), sorted(sample(range(10), 3))]"),
        );
        assert.deepEqual(
          picks,
          ok(
            await run("from random import choice, sample\n[choice([1, 2, 3]), sorted(sample(range(10), 3))]"),
          ),
        );
      });
      it("derives time from the clock, advanced only by time.sleep", async () => {
        const clockMs = Date.UTC(2024, 5, 1);
        const [, , now, mono] = ok(await run(code, { clockMs })) as number[];
        assert.equal(now, clockMs / 1000);
        assert.equal(mono, 0);
        const slept = "import time\nt0 = time.time()\ntime.sleep(60)\n[time.time() - t0, time.monotonic()]";
        const started = performance.now();
        assert.deepEqual(ok(await run(slept, { clockMs })), [60, 60]);
        assert.ok(performance.now() - started < 5000);
        failed(await run("import datetime\ndatetime.datetime.now()"), "runtime_error");
      });
    });

    runPythonDurabilitySuite(t, () => engine);
  });
}
