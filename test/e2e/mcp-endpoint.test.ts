// /mcp driven by the official MCP SDK client over Streamable HTTP: tools, output schemas, executions as
// results, journaled steps, refusals as tool errors.
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
  // listTools caches each tool's output schema: every callTool below is checked against it by the SDK.
  await client.listTools();
});
after(async () => {
  await client.close();
  await svc.stop();
});

type Structured = Record<string, any>;
const call = async (name: string, args: Record<string, unknown>) => {
  const r = await client.callTool({ name, arguments: args });
  return {
    isError: r.isError === true,
    data: r.structuredContent as Structured,
    text: (r.content as { text: string }[])[0]!.text,
  };
};
const openRun = async (name: string) => new Mend({ baseUrl: svc.url }).runs.open(`${name}-${Date.now()}`);

describe("the MCP endpoint", () => {
  it("lists seven tools, each with an input schema and an output schema", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      "answer_run",
      "fork_run",
      "get_run",
      "list_tools",
      "resume_run",
      "run_code",
      "run_orchestration",
    ]);
    for (const t of tools) {
      assert.equal(t.outputSchema?.type, "object", `${t.name} has an output schema`);
      assert.equal(t.inputSchema.additionalProperties, false, `${t.name} takes a closed object`);
    }
    const code = tools.find((t) => t.name === "run_code")!;
    assert.deepEqual((code.inputSchema.properties as Structured).image.enum, ["python", "node", "shell"]);
    const limits = (code.inputSchema.properties as Structured).limits.anyOf[0];
    assert.equal(limits.additionalProperties, false, "limits is an object of known fields, not a record");
    assert.ok("memoryMb" in limits.properties && "timeoutMs" in limits.properties);
  });

  it("forks a client-driven run with fork_run: the copies replay, the answer validates against the output schema", async () => {
    const run = await openRun("mcp-fork");
    for (const key of ["a", "b"]) {
      const r = await call("run_orchestration", { code: `return "${key}"`, runId: run.id, key });
      assert.equal(r.data.status, "succeeded", r.text);
    }
    const f = await call("fork_run", {
      id: run.id,
      atSeq: 2,
      goal: "b again",
      model: null,
      tools: null,
      replaceInput: null,
    });
    assert.equal(f.isError, false, f.text);
    assert.deepEqual(
      [f.data.run.parentRunId, f.data.run.forkedAtSeq, f.data.run.goal],
      [run.id, 2, "b again"],
    );
    assert.match(f.text, new RegExp(`forked from ${run.id} at step 2`));
    const got = await call("get_run", { id: f.data.run.id, steps: true });
    assert.deepEqual(
      got.data.steps.map((s: Structured) => [s.key, s.replayed]),
      [["a", true]],
    );
    const missing = await call("fork_run", { id: "run_missing", atSeq: 1 });
    assert.equal(missing.isError, true);
    const bad = await call("fork_run", { id: run.id, atSeq: 1, replaceInput: "{not json" });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /replaceInput/);
  });

  it("runs an orchestration script; its structured content validates against the output schema", async () => {
    const r = await call("run_orchestration", {
      code: "const r = await tools.echo({ text: 'mcp' }); return r.text.toUpperCase();",
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.data.result, "MCP");
    assert.equal(r.data.status, "succeeded");
    assert.match(r.text, /^succeeded in \d+ ms \[run run_[^\]]+\]\nresult: "MCP"/);
    // Its run is listed, as a run of origin "mcp".
    const mcpRuns = await new Mend({ baseUrl: svc.url }).runs.list({ origin: "mcp" });
    assert.ok(mcpRuns.items.some((run) => run.id === r.data.runId && run.origin === "mcp"));
  });

  it("returns a failed script as a result (not a protocol error) with the failure once and a short summary", async () => {
    const r = await call("run_orchestration", {
      code: "function f() { throw new RangeError('page 9 out of range'); }\nf();",
    });
    assert.equal(r.isError, false, "a failed execution is a result, as over HTTP");
    assert.equal(r.data.status, "failed");
    const failure = r.data.failure as { kind: string; layer: string; message: string };
    assert.equal(failure.kind, "runtime_error");
    assert.equal(failure.layer, "code");
    const json = JSON.stringify(r.data);
    assert.equal(json.split('"kind":"runtime_error"').length - 1, 1, `the failure once: ${json}`);
    assert.ok(!("execution" in r.data), "no second copy of the execution");
    assert.match(
      r.text,
      /^failed: runtime_error \(code, not retryable\) \[run [^\]]+\] — .*page 9 out of range/,
    );
    assert.ok(r.text.length < 600, `summary of ${r.text.length} chars: ${r.text}`);
  });

  it("refuses invalid arguments and unknown fields as a tool error naming the field", async () => {
    const bad = await call("run_orchestration", { code: "return 1", limits: { memoryMb: -1 } });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /^refused \(400 validation\)/);
    assert.match(bad.text, /\/limits\/memoryMb/);
    const unknown = await call("run_orchestration", { code: "return 1", limits: { memory: 64 } });
    assert.equal(unknown.isError, true);
    assert.match(unknown.text, /\/limits\/memory: Unexpected property/);
    const extra = await call("run_code", { image: "python", code: "print(1)", resources: { memoryMb: 64 } });
    assert.equal(extra.isError, true);
    assert.match(extra.text, /\/resources: Unexpected property/);
  });

  it("treats null as absent, as a strict-mode client sends every optional field", async () => {
    const fields = [
      "language",
      "engine",
      "tools",
      "limits",
      "seed",
      "cache",
      "runId",
      "key",
      "onInputMismatch",
    ];
    const r = await call("run_orchestration", {
      code: "return 6 * 7",
      ...Object.fromEntries(fields.map((f) => [f, null])),
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.data.result, 42);
  });

  it("runs code in a container, or says structurally why it could not", async () => {
    const r = await call("run_code", { image: "python", code: "print(6*7)" });
    assert.equal(r.isError, false, r.text);
    if (r.data.status === "failed") assert.ok(r.data.failure.kind, r.text);
    else assert.equal(String(r.data.stdout).trim(), "42");
  });

  it("journals run_orchestration and run_code as steps of a run with runId and key; get_run shows them", async () => {
    const run = await openRun("mcp");
    const first = await call("run_orchestration", { code: "return 40 + 2", runId: run.id, key: "answer" });
    assert.equal(first.data.result, 42);
    const again = await call("run_orchestration", { code: "return 40 + 2", runId: run.id, key: "answer" });
    assert.equal(again.data.replayed, true);
    assert.match(again.text, /replayed from the journal/);
    const code = await call("run_code", { image: "shell", code: "echo hi", runId: run.id, key: "shell" });
    assert.equal(code.isError, false, code.text);
    assert.equal(code.data.key, "shell");
    const got = await call("get_run", { id: run.id, steps: true });
    assert.equal(got.data.run.id, run.id);
    assert.deepEqual(
      (got.data.steps as { key: string }[]).map((s) => s.key),
      ["answer", "shell"],
    );
  });

  it("refuses an unknown run, a key without runId, and a reused key with another input", async () => {
    const missing = await call("run_orchestration", { code: "return 1", runId: "run_nope", key: "k" });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /^refused \(404 not-found\): run run_nope does not exist/);
    const code = await call("run_code", { image: "python", code: "print(1)", runId: "run_nope", key: "k" });
    assert.match(code.text, /^refused \(404 not-found\)/);
    const half = await call("run_orchestration", { code: "return 1", key: "k" });
    assert.match(half.text, /^refused \(400 validation\).*runId and key go together/);
    const run = await openRun("mcp-mismatch");
    await call("run_orchestration", { code: "return 1", runId: run.id, key: "k" });
    const other = await call("run_orchestration", { code: "return 2", runId: run.id, key: "k" });
    assert.equal(other.isError, true);
    assert.match(other.text, /^refused \(409 step_input_mismatch\)/);
    const anyway = await call("run_orchestration", {
      code: "return 2",
      runId: run.id,
      key: "k",
      onInputMismatch: "replay",
    });
    assert.equal(anyway.data.result, 1);
  });

  it("refuses to answer a run that is not waiting for input, as a tool error", async () => {
    const run = await openRun("mcp-answer");
    const r = await call("answer_run", { id: run.id, input: "yes" });
    assert.equal(r.isError, true);
    assert.match(r.text, /^refused \(409 conflict\)/);
    const missing = await call("get_run", { id: "run_missing" });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /"status":404/);
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
    assert.equal(bad.isError, false, "a failed execution is a result");
    assert.equal(bad.data.status, "failed");
    const failure = bad.data.failure as {
      kind: string;
      location?: { line: number };
      cause?: { type: string };
    };
    assert.equal(failure.kind, "runtime_error");
    assert.equal(failure.location?.line, 2);
    assert.equal(failure.cause?.type, "TypeError");
  });

  it("answers an unknown tool with a tool error naming the tools", async () => {
    const r = await call("launch_rockets", {});
    assert.equal(r.isError, true);
    assert.match(r.text, /no tool "launch_rockets"; tools: run_code, run_orchestration/);
  });

  it("answers GET with 405: the endpoint is stateless", async () => {
    const res = await fetch(`${svc.url}/mcp`, { headers: { accept: "text/event-stream" } });
    assert.equal(res.status, 405);
  });
});
