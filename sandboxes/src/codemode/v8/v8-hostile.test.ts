// Hostile scripts against the V8 engine: escapes, bombs, runaway loops; the host must stay unaffected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { CodeModeLimits, CodeModeOutcome, CodeModeRequest, ToolInvoker } from "../engine.ts";
import { V8Engine } from "./v8-engine.ts";

const limits: CodeModeLimits = {
  memoryMb: 32,
  timeoutMs: 1000,
  stackKb: 256,
  maxToolCalls: 20,
  maxLogBytes: 4096,
  maxResultBytes: 64 * 1024,
};
const echo: ToolInvoker = async ({ args }) => ({ ok: true, value: args });

function request(code: string, overrides: Partial<CodeModeRequest> = {}): CodeModeRequest {
  return {
    code,
    language: "javascript",
    tools: [{ name: "echo", inputSchema: { type: "object" } }],
    limits,
    seed: 7,
    clockMs: 1_700_000_000_000,
    invokeTool: echo,
    ...overrides,
  };
}

function failureKind(outcome: CodeModeOutcome): string {
  return outcome.status === "failed" ? outcome.failure.kind : `succeeded: ${JSON.stringify(outcome.result)}`;
}

async function assertStillWorks(engine: V8Engine): Promise<void> {
  const outcome = await engine.execute(request("return (await tools.echo({ n: 41 })).n + 1"));
  assert.equal(outcome.status, "succeeded");
  assert.equal(outcome.status === "succeeded" && outcome.result, 42);
}

test("constructor.constructor('return this')() is the guest's global, without process or require", async () => {
  const engine = new V8Engine();
  try {
    const outcome = await engine.execute(
      request(`
        const g = constructor.constructor("return this")();
        const viaFunction = Function("return typeof process + typeof require + typeof module")();
        const viaTool = tools.echo.constructor("return typeof process")();
        return { process: typeof g.process, require: typeof g.require, viaFunction, viaTool,
          globals: Object.getOwnPropertyNames(g).filter((n) => /^[a-z_$]/.test(n)).sort() };
      `),
    );
    assert.equal(outcome.status, "succeeded", JSON.stringify(outcome));
    const result = (outcome as { result: Record<string, unknown> }).result;
    assert.equal(result.process, "undefined");
    assert.equal(result.require, "undefined");
    assert.equal(result.viaFunction, "undefinedundefinedundefined");
    assert.equal(result.viaTool, "undefined");
    const globals = result.globals as string[];
    for (const name of ["$0", "$1", "$2", "ivm", "fetch", "setInterval", "queueMicrotask", "WebAssembly"]) {
      assert.ok(!globals.includes(name), `${name} must not be a guest global`);
    }
  } finally {
    await engine.dispose();
  }
});

test("the host References stay out of reach: no $0, strict bootstrap frames, frozen transfer options", async () => {
  const engine = new V8Engine();
  try {
    const outcome = await engine.execute(
      request(`
        const found = [];
        Error.prepareStackTrace = (_e, frames) => {
          for (const f of frames) {
            if (f.getFileName() !== "script.js") found.push([typeof f.getThis(), typeof f.getFunction()]);
          }
          return "";
        };
        function toJSON() { new Error().stack; return { caller: String(toJSON.caller) }; }
        const echoed = await tools.echo({ toJSON });
        Object.defineProperty(Object.prototype, "reference", { get() { return true; }, configurable: true });
        Object.defineProperty(Object.prototype, "externalCopy", { get() { return true; }, configurable: true });
        const planted = await tools.echo({ a: 1 });
        delete Object.prototype.reference;
        delete Object.prototype.externalCopy;
        const internals = [typeof __mend_track, typeof globalThis.__mend_track, Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__"))];
        return { dollar: typeof $0, found, echoed, planted: [typeof planted, Object.getPrototypeOf(planted) === Object.prototype, planted.a], internals };
      `),
    );
    assert.equal(outcome.status, "succeeded", JSON.stringify(outcome));
    const result = (outcome as { result: Record<string, unknown> }).result;
    assert.equal(result.dollar, "undefined");
    for (const [thisType, fnType] of result.found as string[][]) {
      assert.equal(thisType, "undefined", "a bootstrap frame exposed its receiver");
      assert.equal(fnType, "undefined", "a bootstrap frame exposed its function");
    }
    assert.deepEqual(result.echoed, { caller: "null" });
    assert.deepEqual(result.planted, ["object", true, 1]);
    assert.deepEqual(result.internals, ["undefined", "undefined", []]);
  } finally {
    await engine.dispose();
  }
});

test("memory bombs end in out_of_memory and the engine still works afterwards", async () => {
  const engine = new V8Engine();
  try {
    const bombs = [
      "return new Array(1e9) + ''",
      "let s = 'x'; for (;;) s += s;",
      "const a = []; for (;;) a.push({ n: a.length, s: 'x' + a.length });",
      "const a = []; for (;;) a.push(new ArrayBuffer(1 << 20));",
      "return new Proxy({}, { ownKeys() { return new Array(1e7).fill('k'); } })",
      "await tools.echo({}); const a = []; for (;;) a.push([a.length]);",
    ];
    for (const code of bombs) {
      // A generous deadline: on a loaded machine filling memory is slow, and the memory limit is what is tested.
      const outcome = await engine.execute(request(code, { limits: { ...limits, timeoutMs: 60_000 } }));
      assert.equal(failureKind(outcome), "out_of_memory", code);
      assert.equal(outcome.status === "failed" && outcome.failure.retryable, true);
      await assertStillWorks(engine);
    }
  } finally {
    await engine.dispose();
  }
});

test("a bomb that makes V8 give up on the isolate still ends in out_of_memory, and the engine keeps serving", async () => {
  // Growing a Map of arrays reaches V8's fatal OOM handler, not isolated-vm's heap check: that
  // isolate's thread never returns, and the process can no longer exit cleanly. So it runs in a
  // child process, which is killed afterwards (as the service must recycle itself after
  // onCatastrophicError).
  const child = spawn(process.execPath, [fileURLToPath(new URL("./catastrophe-child.ts", import.meta.url))], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
      });
      child.on("exit", (code) => reject(new Error(`child exited (${code}) before reporting: ${out}`)));
      setTimeout(() => reject(new Error("no report from the child within 60 s")), 60_000).unref();
    });
    assert.deepEqual(JSON.parse(line), {
      kind: "out_of_memory",
      catastrophicErrors: 1,
      firstMessage: "Catastrophic out-of-memory error",
      after: 42,
    });
  } finally {
    child.kill("SIGKILL");
  }
});

test("runaway code ends in timeout: a tight loop, loops in promise callbacks and timers, a tool that never answers", async () => {
  const engine = new V8Engine();
  try {
    const quick = { ...limits, timeoutMs: 300 };
    const tools = [
      { name: "echo", inputSchema: { type: "object" } },
      { name: "hang", inputSchema: { type: "object" } },
    ];
    const invokeTool: ToolInvoker = (call) => (call.tool === "hang" ? new Promise(() => {}) : echo(call));
    for (const code of [
      "while (true) {}",
      "await tools.echo({}); for (;;) {}",
      "await Promise.resolve().then(() => { while (true) {} });",
      "setTimeout(() => { for (;;) {} }, 10); await new Promise((r) => setTimeout(r, 20));",
      "await tools.hang({});",
    ]) {
      const started = performance.now();
      const outcome = await engine.execute(request(code, { limits: quick, tools, invokeTool }));
      assert.equal(failureKind(outcome), "timeout", code);
      assert.ok(performance.now() - started < 5000, `${code} was not stopped promptly`);
      await assertStillWorks(engine);
    }
  } finally {
    await engine.dispose();
  }
});

test("deep recursion ends in stack_overflow with the user's line", async () => {
  const engine = new V8Engine();
  try {
    const outcome = await engine.execute(
      request("const x = 1;\nfunction f(n) { return f(n + 1) + 1; }\nreturn f(0);"),
    );
    assert.equal(failureKind(outcome), "stack_overflow");
    assert.equal(outcome.status === "failed" && outcome.failure.location?.line, 2);
    // Recursion while serialising the result is a result that is not JSON (as in QuickJS).
    const getter = await engine.execute(request("return { get a() { return this.a; } };"));
    assert.equal(failureKind(getter), "runtime_error");
    assert.match(getter.status === "failed" ? getter.failure.message : "", /not JSON-serialisable/);
    await assertStillWorks(engine);
  } finally {
    await engine.dispose();
  }
});

test("a tool whose host implementation throws or rejects is a tool failure, not a host crash", async () => {
  const engine = new V8Engine();
  try {
    const throwing: ToolInvoker = () => {
      throw new Error("host exploded");
    };
    const rejecting: ToolInvoker = () => Promise.reject(new Error("host rejected"));
    for (const invokeTool of [throwing, rejecting]) {
      const outcome = await engine.execute(request("return await tools.echo({ a: 1 })", { invokeTool }));
      assert.equal(failureKind(outcome), "tool_failed");
      const caught = await engine.execute(
        request("try { await tools.echo({}); } catch (e) { return [e.name, typeof e.message]; }", {
          invokeTool,
        }),
      );
      assert.equal(caught.status, "succeeded", JSON.stringify(caught));
    }
  } finally {
    await engine.dispose();
  }
});

test("aborting the request interrupts a running script", async () => {
  const engine = new V8Engine();
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = await engine.execute(request("while (true) {}", { signal: controller.signal }));
    assert.equal(failureKind(outcome), "interrupted");
    await assertStillWorks(engine);
  } finally {
    await engine.dispose();
  }
});

test("2,000 executions keep host RSS bounded (isolates, contexts and references are released)", async () => {
  const engine = new V8Engine();
  try {
    const code =
      "const r = await tools.echo({ s: 'x'.repeat(1000) }); const a = []; for (let i = 0; i < 1000; i++) a.push({ i }); return r.s.length + a.length;";
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const outcome = await engine.execute(request(code));
        assert.equal(outcome.status, "succeeded");
      }
    };
    await run(200);
    global.gc?.();
    const before = process.memoryUsage().rss;
    await run(1800);
    global.gc?.();
    const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.ok(growthMb < 150, `RSS grew by ${growthMb.toFixed(1)} MiB over 1,800 executions`);
  } finally {
    await engine.dispose();
  }
});
