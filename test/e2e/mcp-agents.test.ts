// /mcp as third-party agent stacks meet it: the official MCP conformance suite's applicable server scenarios,
// and the OpenAI Agents SDK converting every tool to strict mode and calling it as a strict model would.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { MCPServerStreamableHttp, RunContext, mcpToFunctionTool } from "@openai/agents-core";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { strictSchemaProblems } from "../../service/src/llm/strict-schema.ts";

const conformancePkg = createRequire(import.meta.url).resolve(
  "@modelcontextprotocol/conformance/package.json",
);
const CONFORMANCE = join(dirname(conformancePkg), "dist/index.js");

/**
 * The suite's server scenarios that apply to Mend's endpoint. The other tools-call-* scenarios call the
 * suite's fixture tools (test_simple_text, ...), resources-*, prompts-* and logging need capabilities a
 * tool server does not offer, and server-sse-* need sessions (the endpoint is stateless).
 */
const SCENARIOS = ["server-initialize", "ping", "tools-list", "tools-call-error", "dns-rebinding-protection"];

let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc.stop();
});

describe("the MCP conformance suite (@modelcontextprotocol/conformance) against /mcp", () => {
  for (const scenario of SCENARIOS) {
    it(`passes ${scenario}`, async () => {
      const out = mkdtempSync(join(tmpdir(), "mend-conformance-"));
      await promisify(execFile)(
        process.execPath,
        [CONFORMANCE, "server", "--url", `${svc.url}/mcp`, "--scenario", scenario, "-o", out],
        { timeout: 120_000 },
      );
      const dir = readdirSync(out).find((d) => d.startsWith(`server-${scenario}`))!;
      const checks = JSON.parse(readFileSync(join(out, dir, "checks.json"), "utf8")) as {
        id: string;
        status: string;
        errorMessage?: string;
      }[];
      assert.ok(checks.length > 0, "the scenario ran checks");
      const bad = checks.filter((c) => c.status !== "SUCCESS" && c.status !== "INFO");
      assert.deepEqual(bad, [], JSON.stringify(bad));
    });
  }
});

/** What the SDK hands the model: one text content (or a string). */
const textOf = (out: unknown): string =>
  typeof out === "string" ? out : ((out as { text?: string }).text ?? JSON.stringify(out));

describe("the OpenAI Agents SDK (@openai/agents-core) with convertSchemasToStrict", () => {
  let server: MCPServerStreamableHttp;
  let tools: ReturnType<typeof mcpToFunctionTool>[];
  before(async () => {
    server = new MCPServerStreamableHttp({ url: `${svc.url}/mcp`, name: "mend" });
    await server.connect();
    tools = (await server.listTools()).map((t) => mcpToFunctionTool(t, server, true));
  });
  after(async () => server.close());

  it("converts every tool to strict mode, with all fields required and closed objects", () => {
    assert.equal(tools.length, 7);
    for (const t of tools) {
      assert.equal(t.strict, true, `${t.name} converts to strict mode`);
      assert.deepEqual(strictSchemaProblems(t.parameters, { allRequired: true }), [], t.name);
    }
  });

  it("calls run_orchestration as a strict model does (every optional field null) and gets the result", async () => {
    const orchestration = tools.find((t) => t.name === "run_orchestration")!;
    const fields = Object.keys((orchestration.parameters as { properties: object }).properties);
    const args = Object.fromEntries(fields.map((f) => [f, null]));
    const out = await orchestration.invoke(
      new RunContext(),
      JSON.stringify({ ...args, code: "return [1, 2, 3].map((n) => n * 2)", limits: null }),
    );
    const text = textOf(out);
    assert.match(text, /succeeded in \d+ ms/);
    assert.match(text, /result: \[2,4,6\]/);
  });

  it("gives a strict model a failure it can act on in the text it reads", async () => {
    const orchestration = tools.find((t) => t.name === "run_orchestration")!;
    const out = await orchestration.invoke(
      new RunContext(),
      JSON.stringify({ code: "while (true) {}", limits: { timeoutMs: 200 } }),
    );
    const text = textOf(out);
    assert.match(text, /failed: timeout \(infrastructure, retryable\)/);
    assert.match(text, /remedy: \{"action":"increase_timeout"/);
  });
});
