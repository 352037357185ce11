// /mcp driven by the official MCP SDK client over Streamable HTTP: tools, executions, structured failures.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { Mend } from "../../client/src/index.ts";

let svc: ServiceProcess;
let client: Client;
before(async () => {
  svc = await startService();
  client = new Client({ name: "mend-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`)));
});
after(async () => {
  await client.close();
  await svc.stop();
});

type Structured = Record<string, unknown>;
const call = async (name: string, args: Record<string, unknown>) => {
  const r = await client.callTool({ name, arguments: args });
  return {
    isError: r.isError === true,
    data: r.structuredContent as Structured,
    text: (r.content as { text: string }[])[0]!.text,
  };
};

describe("the MCP endpoint", () => {
  it("lists the five tools with input schemas", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      "answer_run",
      "get_run",
      "list_tools",
      "run_code",
      "run_orchestration",
    ]);
    const orch = tools.find((t) => t.name === "run_orchestration")!;
    assert.ok((orch.inputSchema.required as string[]).includes("code"));
  });

  it("runs an orchestration script that calls a tool", async () => {
    const r = await call("run_orchestration", {
      code: "const r = await tools.echo({ text: 'mcp' }); return r.text.toUpperCase();",
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.data.result, "MCP");
    assert.equal(r.data.status, "succeeded");
  });

  it("returns a script that throws as a structured tool error carrying the failure", async () => {
    const r = await call("run_orchestration", {
      code: "function f() { throw new RangeError('page 9 out of range'); }\nf();",
    });
    assert.equal(r.isError, true);
    const failure = r.data.failure as { kind: string; layer: string; message: string; retryable: boolean };
    assert.equal(failure.kind, "runtime_error");
    assert.equal(failure.layer, "code");
    assert.match(failure.message, /page 9 out of range/);
    assert.deepEqual(
      (JSON.parse(r.text) as Structured).failure,
      failure,
      "the text content is the same JSON",
    );
  });

  it("refuses invalid arguments as a tool error with the problem", async () => {
    const r = await call("run_orchestration", { code: "return 1", limits: { memoryMb: -1 } });
    assert.equal(r.isError, true);
    assert.match(String((r.data.problem as { type: string }).type), /validation/);
  });

  it("runs code in a container, or says structurally why it could not", async () => {
    const r = await call("run_code", { image: "python", code: "print(6*7)" });
    if (r.isError) assert.ok((r.data.failure as { kind?: string }).kind, r.text);
    else assert.equal(String(r.data.stdout).trim(), "42");
  });

  it("journals a script as a step of a run, and get_run shows it", async () => {
    const run = await new Mend({ baseUrl: svc.url }).runs.open(`mcp-${Date.now()}`);
    const first = await call("run_orchestration", { code: "return 40 + 2", runId: run.id, key: "answer" });
    assert.equal(first.data.result, 42);
    const again = await call("run_orchestration", { code: "return 0", runId: run.id, key: "answer" });
    assert.equal(again.data.replayed, true);
    assert.equal(again.data.result, 42);
    const got = await call("get_run", { id: run.id, steps: true });
    assert.equal((got.data.run as { id: string }).id, run.id);
    assert.deepEqual(
      (got.data.steps as { key: string }[]).map((s) => s.key),
      ["answer"],
    );
    const missing = await call("get_run", { id: "run_missing" });
    assert.equal(missing.isError, true);
    assert.equal((missing.data.problem as { status: number }).status, 404);
  });

  it("refuses to answer a run that is not waiting for input, as a tool error", async () => {
    const run = await new Mend({ baseUrl: svc.url }).runs.open(`mcp-answer-${Date.now()}`);
    const r = await call("answer_run", { id: run.id, input: "yes" });
    assert.equal(r.isError, true);
    assert.equal((r.data.problem as { status: number }).status, 409);
  });

  it("lists the caller's tools with their TypeScript declarations and Python stubs", async () => {
    const r = await call("list_tools", {});
    assert.ok((r.data.tools as { name: string }[]).some((t) => t.name === "echo"));
    assert.match(String(r.data.dts), /echo/);
    assert.match(String(r.data.pyi), /def echo\(self, \*, text: str = \.\.\./);
  });

  it("runs a Python orchestration script, and returns its failure with the failing line", async () => {
    const r = await call("run_orchestration", {
      language: "python",
      code: "r = tools.echo(text='mcp')\nr['text'].upper()",
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.data.result, "MCP");
    const bad = await call("run_orchestration", { language: "python", code: "x = 1\nx['missing']" });
    assert.equal(bad.isError, true);
    const failure = bad.data.failure as {
      kind: string;
      location?: { line: number };
      cause?: { type: string };
    };
    assert.equal(failure.kind, "runtime_error");
    assert.equal(failure.location?.line, 2);
    assert.equal(failure.cause?.type, "TypeError");
  });

  it("answers GET with 405: the endpoint is stateless", async () => {
    const res = await fetch(`${svc.url}/mcp`, { headers: { accept: "text/event-stream" } });
    assert.equal(res.status, 405);
  });
});
