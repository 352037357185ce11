// One admission point: executions count against the tenant's concurrentExecutions whatever started them —
// POST /v1/executions, client-driven steps, MCP and the relay — and the slot is given back when one ends.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

const REPO_DEFAULT = new URL("../../policies/default.yaml", import.meta.url).pathname;

let svc: ServiceProcess;
let mcp: Client;
before(async () => {
  const policies = mkdtempSync(join(tmpdir(), "mend-admission-policies-"));
  const text = readFileSync(REPO_DEFAULT, "utf8").replace(
    /limits: \{ concurrentExecutions: \d+ \}/,
    "limits: { concurrentExecutions: 1 }",
  );
  assert.match(text, /concurrentExecutions: 1 \}/);
  writeFileSync(join(policies, "default.yaml"), text);
  svc = await startService({ MEND_POLICIES_DIR: policies });
  mcp = new Client({ name: "mend-admission", version: "1.0.0" });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`)));
});
after(async () => {
  await mcp.close();
  await svc.stop();
});

async function mcpOrchestration(code: string) {
  const r = await mcp.callTool({ name: "run_orchestration", arguments: { code } });
  return {
    isError: r.isError === true,
    data: r.structuredContent as Record<string, any>,
    text: (r.content as { text: string }[])[0]!.text,
  };
}

async function relay(code: string): Promise<{ status: number; events: Record<string, any>[] }> {
  const res = await fetch(`${svc.url}/v1/relay/executions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, tools: [] }),
  });
  const text = await res.text();
  const events = res.headers.get("content-type")?.includes("ndjson")
    ? text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, any>)
    : [JSON.parse(text) as Record<string, any>];
  return { status: res.status, events };
}

describe("a tenant at its concurrency limit of 1", () => {
  it("is refused with 429 by every door while one execution runs, and served again once it ends", async () => {
    const run = (await call(svc.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const holding = call(svc.url, "POST", `/v1/runs/${run}/steps`, {
      key: "hold",
      action: { type: "codemode", code: "await tools.sleep({ ms: 60000 }); return 1" },
    });
    // Wait until the holding step is journaled as started (it holds the tenant's only slot).
    for (;;) {
      const steps = (await call(svc.url, "GET", `/v1/runs/${run}/steps`)).body as { status: string }[];
      if (steps.some((s) => s.status === "started")) break;
      await new Promise((r) => setTimeout(r, 20));
    }

    const http = await call(svc.url, "POST", "/v1/executions", { sandbox: "codemode", code: "return 1" });
    assert.equal(http.status, 429, JSON.stringify(http.body));
    assert.equal(http.body.type, "urn:mend:problem:rate-limited");
    assert.match(http.body.detail as string, /concurrent executions/);

    const step = await call(svc.url, "POST", `/v1/runs/${run}/steps`, {
      key: "second",
      action: { type: "codemode", code: "return 2" },
    });
    assert.equal(step.status, 429);

    const viaMcp = await mcpOrchestration("return 1");
    assert.equal(viaMcp.isError, true);
    // A refusal is a tool error whose text carries the problem (no structuredContent: it would not match the output schema).
    assert.match(viaMcp.text, /^refused \(429 rate-limited\)/, viaMcp.text);

    const viaRelay = await relay("return 1");
    assert.equal(viaRelay.status, 429, JSON.stringify(viaRelay.events));
    assert.equal(viaRelay.events[0]!.type, "urn:mend:problem:rate-limited");

    // Cancelling the run aborts the holding step and gives its slot back.
    assert.equal((await call(svc.url, "POST", `/v1/runs/${run}/cancel`)).status, 200);
    const held = await holding;
    assert.equal(held.body.status, "failed");

    const again = await call(svc.url, "POST", "/v1/executions", {
      sandbox: "codemode",
      code: "return 6 * 7",
    });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.result, 42);
    const mcpAgain = await mcpOrchestration("return 7");
    assert.equal(mcpAgain.isError, false, JSON.stringify(mcpAgain.data));
    assert.equal(mcpAgain.data.result, 7);
    const relayAgain = await relay("return 8");
    assert.equal(relayAgain.status, 200);
    assert.equal(relayAgain.events.at(-1)!.type, "result");
    assert.equal(relayAgain.events.at(-1)!.execution.result, 8);
  });
});
