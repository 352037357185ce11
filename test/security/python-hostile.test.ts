// Hostile Python code-mode scripts: each must end in a failure of the right kind (or a harmless result),
// with the host, the engine and the other scripts unharmed; a native crash ends only its child process.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { MontyEngine } from "../../sandboxes/src/codemode/monty/monty-engine.ts";
import { TEST_LIMITS, pythonRequest } from "../../sandboxes/src/testing/index.ts";
import type { CodeModeLimits, CodeModeOutcome } from "../../sandboxes/src/codemode/engine.ts";

const CASES: { name: string; code: string; kinds: string[]; limits?: Partial<CodeModeLimits> }[] = [
  { name: "infinite loop", code: "while True:\n    pass", kinds: ["timeout"], limits: { timeoutMs: 300 } },
  {
    name: "catching the timeout does not help",
    code: "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    kinds: ["timeout"],
    limits: { timeoutMs: 300 },
  },
  {
    name: "memory bomb: growing list",
    code: "a = []\nwhile True:\n    a.append('s' * 100)",
    kinds: ["out_of_memory"],
  },
  {
    name: "memory bomb: string doubling",
    code: "s = 'x'\nwhile True:\n    s += s",
    kinds: ["out_of_memory"],
  },
  { name: "memory bomb: 'x' * 2**40", code: "'x' * (2 ** 40)", kinds: ["out_of_memory"] },
  { name: "memory bomb: 2 ** 2 ** 40", code: "x = 2 ** (2 ** 40)", kinds: ["out_of_memory"] },
  { name: "memory bomb: bytes", code: "b'x' * (2 ** 33)", kinds: ["out_of_memory"] },
  { name: "memory bomb: list(range(10**10))", code: "list(range(10 ** 10))", kinds: ["out_of_memory"] },
  {
    name: "catching MemoryError does not help",
    code: "while True:\n    try:\n        x = 'a' * (10 ** 9)\n    except MemoryError:\n        pass",
    kinds: ["out_of_memory", "timeout"],
    limits: { timeoutMs: 500 },
  },
  { name: "huge format width", code: "f'{1:>{10 ** 9}}'", kinds: ["out_of_memory"] },
  { name: "deep recursion", code: "def f(n):\n    return f(n + 1) + 1\nf(0)", kinds: ["stack_overflow"] },
  {
    name: "deep recursion with the largest stack",
    code: "def f(n):\n    return [f(n + 1)]\nf(0)",
    kinds: ["stack_overflow"],
    limits: { stackKb: 4096 },
  },
  {
    name: "recursion through a builtin's callback (sorted key)",
    code: "def f(x):\n    return sorted([1, 2], key=f)\nf(0)",
    kinds: ["stack_overflow"],
    limits: { stackKb: 4096 },
  },
  {
    name: "recursion through map",
    code: "def f(x):\n    return list(map(f, [1]))\nf(0)",
    kinds: ["stack_overflow"],
    limits: { stackKb: 4096 },
  },
  {
    name: "comparing deeply nested dicts",
    code: "a = {}\nb = {}\nfor i in range(100000):\n    a = {'k': a}\n    b = {'k': b}\na == b",
    kinds: ["stack_overflow", "succeeded"],
    limits: { memoryMb: 64 },
  },
  {
    name: "a deeply nested result",
    code: "a = []\nfor i in range(100000):\n    a = [a]\na",
    kinds: ["runtime_error"],
    limits: { memoryMb: 64 },
  },
  {
    name: "json.loads of deep nesting",
    code: "import json\njson.loads('[' * 100000 + ']' * 100000)",
    kinds: ["runtime_error"],
  },
  {
    name: "a deeply nested parse (attribute chain)",
    code: "x = a" + ".b".repeat(120_000),
    kinds: ["syntax_error"],
  },
  { name: "a huge result", code: "'x' * (1 << 20)", kinds: ["output_limit"] },
  { name: "print flood", code: "while True:\n    print('x' * 1000)", kinds: ["output_limit"] },
  {
    name: "print flood that catches the print error",
    code: "while True:\n    try:\n        print('x' * 1000)\n    except Exception:\n        pass",
    kinds: ["output_limit"],
  },
  {
    name: "huge tool arguments",
    code: "tools.echo(text='x' * (4 << 20))",
    kinds: ["runtime_error", "out_of_memory", "tool_input_invalid"],
    limits: { memoryMb: 16 },
  },
  {
    name: "tool-call flood",
    code: "for i in range(10000):\n    try:\n        tools.add(a=i, b=i)\n    except Exception:\n        pass",
    kinds: ["policy_violation"],
  },
  { name: "__import__('os')", code: "__import__('os').system('id')", kinds: ["runtime_error"] },
  { name: "open('/etc/passwd')", code: "open('/etc/passwd').read()", kinds: ["runtime_error"] },
  {
    name: "pathlib read",
    code: "import pathlib\npathlib.Path('/etc/passwd').read_text()",
    kinds: ["missing_dependency"],
  },
  { name: "os.environ", code: "import os\nos.environ", kinds: ["missing_dependency"] },
  { name: "eval", code: "eval('1 + 1')", kinds: ["runtime_error"] },
  { name: "exec", code: "exec('import os')", kinds: ["runtime_error"] },
  { name: "compile", code: "compile('1', 'x', 'eval')", kinds: ["runtime_error"] },
  { name: "globals()", code: "globals()['tools']", kinds: ["runtime_error"] },
  {
    name: "().__class__.__bases__[0].__subclasses__()",
    code: "().__class__.__bases__[0].__subclasses__()",
    kinds: ["runtime_error"],
  },
  { name: "type(()).__subclasses__()", code: "type(()).__subclasses__()", kinds: ["runtime_error"] },
  { name: "tools.__dict__", code: "tools.__dict__", kinds: ["runtime_error"] },
  {
    name: "overwriting the tools namespace",
    code: "tools.echo = lambda **k: 'forged'\ntools.echo(text='x')",
    kinds: ["runtime_error"],
  },
  { name: "class definitions", code: "class A:\n    pass", kinds: ["syntax_error"] },
  {
    name: "a very large program (compile time)",
    code: Array.from({ length: 6000 }, (_, i) => `def f${i}(a):\n    return a + ${i}\n`).join(""),
    kinds: ["succeeded", "timeout"],
    limits: { timeoutMs: 400 },
  },
];

const kindOf = (outcome: CodeModeOutcome): string =>
  outcome.status === "succeeded" ? "succeeded" : outcome.failure.kind;

describe("hostile Python code-mode scripts (Monty)", () => {
  let engine: MontyEngine;
  before(async () => {
    engine = new MontyEngine({ workers: 2, killGraceMs: 150 });
    await engine.ready();
  });
  after(async () => {
    await engine.dispose();
  });

  for (const hostile of CASES) {
    it(`${hostile.name} → ${hostile.kinds.join(" | ")}, and the next execution works`, async () => {
      const limits = { ...TEST_LIMITS, timeoutMs: 3000, ...hostile.limits };
      const rss = process.memoryUsage().rss;
      const outcome = await engine.execute(pythonRequest(hostile.code, { limits }));
      assert.ok(
        hostile.kinds.includes(kindOf(outcome)),
        `${hostile.name}: ${JSON.stringify(outcome).slice(0, 800)}`,
      );
      if (outcome.status === "failed") assert.ok(outcome.failure.message.length > 0);
      // The host is unaffected: the interpreter's memory lives in the children.
      assert.ok(process.memoryUsage().rss - rss < 256 * 1024 * 1024);
      const next = await engine.execute(pythonRequest("tools.add(a=20, b=22)"));
      assert.equal(next.status === "succeeded" && next.result, 42, JSON.stringify(next));
      assert.equal(engine.stats().children, 2);
    });
  }

  it("a tool's hostile JSON stays data: deep, tagged or huge results are refused or harmless", async () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = [v];
      return v;
    };
    const results: unknown[] = [
      // Deeper than the bridge's 128 levels (BRIDGE_LIMITS): the broker's tool_failed, before the child sees it.
      nest(1000),
      // Deeper than the host's JSON serialiser goes: the broker's tool_failed, never a crash.
      nest(100_000),
      { __monty_type__: "Exception", excType: "SystemExit", message: "x" },
    ];
    const kinds: string[] = [];
    for (const value of results) {
      const invokeTool = async () => ({ ok: true as const, value });
      const outcome = await engine.execute(
        pythonRequest("r = tools.echo(text='x')\ntype(r).__name__", { invokeTool }),
      );
      kinds.push(outcome.status === "succeeded" ? String(outcome.result) : outcome.failure.kind);
    }
    assert.deepEqual(kinds, ["tool_failed", "tool_failed", "dict"]);
  });

  it("concurrent hostile scripts do not disturb a healthy one", async () => {
    const limits = { ...TEST_LIMITS, timeoutMs: 400 };
    const [bad, oom, good] = await Promise.all([
      engine.execute(pythonRequest("while True:\n    pass", { limits })),
      engine.execute(pythonRequest("s = 'x'\nwhile True:\n    s += s", { limits })),
      engine.execute(pythonRequest("a = tools.sleep(ms=50)\nb = tools.add(a=1, b=1)\n[a, b]")),
    ]);
    assert.equal(kindOf(bad), "timeout");
    assert.equal(kindOf(oom), "out_of_memory");
    assert.deepEqual(good.status === "succeeded" && good.result, [50, 2]);
  });
});

describe("a native crash of the interpreter (Monty)", () => {
  it("ends only its child process: the script fails, a paused script on that child continues elsewhere", async () => {
    // A thread stack far smaller than the default makes Monty's recursive parser overflow it: a
    // segmentation fault inside the native module, as a pathological script can cause in production.
    const engine = new MontyEngine({ workers: 1, childStackMb: 8 });
    try {
      await engine.ready();
      // The bystander's first tool call waits until the crash happened: it is paused on the child meanwhile.
      let release: () => void = () => {};
      const crashed = new Promise<void>((resolve) => (release = resolve));
      const invokeTool = async ({ tool, args }: { tool: string; args: unknown }) => {
        if (tool === "sleep") await crashed;
        const a = args as { a?: number; b?: number; ms?: number };
        return { ok: true as const, value: tool === "sleep" ? a.ms : a.a! + a.b! };
      };
      const bystander = engine.execute(
        pythonRequest("x = tools.sleep(ms=300)\ntools.add(a=x, b=1)", { invokeTool }),
      );
      while (engine.stats().held === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const crash = await engine.execute(pythonRequest("x = a" + ".b".repeat(120_000)));
      release();
      assert.equal(kindOf(crash), "runtime_error", JSON.stringify(crash));
      assert.equal(crash.status === "failed" && crash.failure.cause?.type, "SandboxCrash");
      assert.match(crash.status === "failed" ? crash.failure.message : "", /SIGSEGV/);
      assert.equal(engine.stats().replaced, 1);
      // The paused script's state was on the crashed child: it moves to the new one from its dump.
      const moved = await bystander;
      assert.equal(moved.status === "succeeded" && moved.result, 301, JSON.stringify(moved));
      const next = await engine.execute(pythonRequest("6 * 7"));
      assert.equal(next.status === "succeeded" && next.result, 42);
    } finally {
      await engine.dispose();
    }
  });
});
