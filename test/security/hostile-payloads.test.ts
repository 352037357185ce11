// Each hostile payload of issue 14 against the real service, as a test of its own with its structured answer:
// never a crash, a 500, a frozen event loop or a step left `started`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Mend } from "../../client/src/index.ts";
import { call } from "../support/http-json.ts";
import { startService, type ServiceProcess } from "../support/service-process.ts";

let svc: ServiceProcess;
let mend: Mend;

before(async () => {
  svc = await startService();
  mend = new Mend({ baseUrl: svc.url });
});
after(async () => {
  await svc.stop();
});

/** POST /v1/executions of a code-mode script. */
const codemode = (code: string, extra: Record<string, unknown> = {}) =>
  call(svc.url, "POST", "/v1/executions", { sandbox: "codemode", code, ...extra });

/** The service still answers /healthz and runs a trivial script. */
async function stillServing(): Promise<void> {
  assert.equal(svc.child.exitCode, null, "the service process is alive");
  assert.equal((await call(svc.url, "GET", "/healthz")).status, 200);
  const trivial = await codemode("return 6 * 7");
  assert.equal(trivial.body.result, 42);
}

const NESTED_ARGS =
  'let o = {};\nfor (let i = 0; i < 10000; i++) o = { k: o };\nawait tools.echo({ text: "x", o });';

describe("hostile payloads of issue 14, one by one", () => {
  for (const engine of ["quickjs", "v8"]) {
    it(`tool arguments nested 10,000 deep (${engine}) → failed tool_input_invalid; the process keeps serving`, async () => {
      const r = await codemode(NESTED_ARGS, { engine });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, "failed");
      assert.equal(r.body.failure.kind, "tool_input_invalid");
      assert.equal(r.body.failure.tool, "echo");
      await stillServing();
    });
  }

  it("a script returning an array nested 9,000 deep → failed runtime_error, journaled as failed", async () => {
    const r = await codemode("let a = [];\nfor (let i = 0; i < 9000; i++) a = [a];\nreturn a;");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "runtime_error");
    const steps = await call(svc.url, "GET", `/v1/runs/${r.body.runId}/steps`);
    assert.deepEqual(
      steps.body.map((s: { status: string }) => s.status),
      ["failed"],
    );
    const run = await call(svc.url, "GET", `/v1/runs/${r.body.runId}`);
    assert.equal(run.body.status, "failed");
  });

  it("POST /v1/runs with an empty Idempotency-Key header → 400 naming the header, every time", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await call(svc.url, "POST", "/v1/runs", { mode: "client" }, { "idempotency-key": "" });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.headers.get("content-type"), "application/problem+json");
      assert.match(r.body.detail, /Idempotency-Key header is empty/);
    }
    const executions = await call(
      svc.url,
      "POST",
      "/v1/executions",
      { sandbox: "codemode", code: "return 1" },
      { "idempotency-key": " " },
    );
    assert.equal(executions.status, 400);
  });

  it("a run's metadata nested 100,000 deep → 400 naming the limit", async () => {
    const body = `{"mode":"client","metadata":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`;
    const r = await call(svc.url, "POST", "/v1/runs", body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.type, "urn:mend:problem:validation");
    assert.match(r.body.detail, /nested deeper than 128 levels/);
    const shallow = await call(svc.url, "POST", "/v1/runs", { mode: "client", metadata: { a: { b: [1] } } });
    assert.equal(shallow.status, 201);
  });

  it("MCP tools/call with arguments nested 10,000 deep → 400 naming the limit", async () => {
    const args = `${'{"k":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_orchestration","arguments":${args}}}`;
    const r = await call(svc.url, "POST", "/mcp", body, { accept: "application/json, text/event-stream" });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.detail, /nested deeper than 128 levels/);
    await stillServing();
  });

  for (const pattern of ["^a*a*a*$", "^(a+){25}$"]) {
    it(`a relay client tool with pattern ${pattern} and a crafted argument → tool_input_invalid while /healthz answers`, async () => {
      const health: number[] = [];
      const value = await mend.codemode.run(
        "try { await tools.search({ q: 'a'.repeat(2000) + '!' }); } catch (e) { await tools.hold({}); return [e.kind, e.failure.errors[0].path]; }",
        {
          tools: {
            search: {
              inputSchema: {
                type: "object",
                properties: { q: { type: "string", pattern } },
                required: ["q"],
              },
              handler: () => ({ hits: [] }),
            },
            // Runs after the pattern was checked, inside the same execution: the service must still answer.
            hold: async () => {
              health.push((await call(svc.url, "GET", "/healthz")).status);
              return null;
            },
          },
        },
      );
      assert.deepEqual(value, ["tool_input_invalid", "/q"]);
      assert.deepEqual(health, [200]);
    });
  }

  it("a relay client tool whose pattern RE2 cannot run → 400 at the start, naming its path", async () => {
    const r = await call(svc.url, "POST", "/v1/relay/executions", {
      code: "return 1",
      tools: [
        {
          name: "search",
          inputSchema: { type: "object", properties: { q: { type: "string", pattern: "(a)\\1" } } },
        },
      ],
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.errors.map((e: { path: string }) => e.path),
      ["/tools/0/inputSchema/properties/q/pattern"],
    );
  });

  it("registering a tool whose pattern RE2 cannot run → 400 naming the pattern's path", async () => {
    const r = await call(svc.url, "POST", "/v1/tools", {
      name: "refused.pattern",
      description: "A tool whose schema the service refuses",
      endpoint: "http://127.0.0.1:9/never",
      inputSchema: { type: "object", properties: { q: { type: "string", pattern: "(?=lookahead)" } } },
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.ok(
      r.body.errors.some((e: { path: string }) => e.path === "/inputSchema/properties/q/pattern"),
      JSON.stringify(r.body),
    );
  });

  it("a relay answer nested 1,000 deep → 400 for the client, tool_failed for the script at once", async () => {
    const res = await fetch(`${svc.url}/v1/relay/executions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        code: "try { await tools.deep({}); } catch (e) { return [e.kind, e.message]; }",
        tools: [{ name: "deep" }],
        limits: { timeoutMs: 60_000 },
      }),
    });
    const events: Record<string, any>[] = [];
    const answers: number[] = [];
    let id = "";
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const event = JSON.parse(buffer.slice(0, nl)) as Record<string, any>;
        buffer = buffer.slice(nl + 1);
        events.push(event);
        if (event.type === "started") id = event.id as string;
        if (event.type === "tool_call") {
          const deep = `${"[".repeat(1000)}${"]".repeat(1000)}`;
          const answer = await call(
            svc.url,
            "POST",
            `/v1/relay/executions/${id}/results/${event.seq}`,
            `{"ok":true,"value":${deep}}`,
          );
          answers.push(answer.status);
        }
      }
    }
    assert.deepEqual(answers, [400]);
    const result = events.at(-1)!;
    assert.equal(result.type, "result", JSON.stringify(events));
    const [kind, message] = result.execution.result as [string, string];
    assert.equal(kind, "tool_failed");
    assert.match(message, /nested deeper than 128 levels/);
  });

  it("unbounded recursion in QuickJS → stack_overflow", async () => {
    const r = await codemode("function f(n) { return f(n + 1) + 1; }\nreturn f(0);", {
      limits: { timeoutMs: 30_000 },
    });
    assert.equal(r.body.failure.kind, "stack_overflow");
  });

  it("a QuickJS memory bomb at 16 MiB → out_of_memory, long before its time limit", async () => {
    const r = await codemode("let s = 'x'; const a = [];\nwhile (true) a.push(s.repeat(1000) + a.length);", {
      limits: { memoryMb: 16, timeoutMs: 60_000 },
    });
    assert.equal(r.body.failure.kind, "out_of_memory");
    assert.equal(r.body.failure.limits.memoryMb, 16);
  });

  it("Atomics.wait in V8 → runtime_error at once (no Atomics), not a timeout", async () => {
    const r = await codemode(
      "const sab = new SharedArrayBuffer(16);\nAtomics.wait(new Int32Array(sab), 0, 0);\nreturn 1;",
      { engine: "v8", limits: { timeoutMs: 60_000 } },
    );
    assert.equal(r.body.failure.kind, "runtime_error");
    assert.equal(r.body.failure.cause.type, "ReferenceError");
  });
});
