// The repository's default policy lets a tenant use the tools it registered (HTTP and MCP) out of the box,
// and a policy can still narrow them (`registered`, `deny`).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startToolHttpServer, type ToolHttpServer } from "../support/tool-http-server.ts";
import { serveMcpFixtureHttp, type McpFixtureHttp } from "../support/mcp-fixture-server.ts";
import { apiClient } from "../support/tool-test-kit.ts";

const REPO_POLICIES = fileURLToPath(new URL("../../policies", import.meta.url));

let endpoints: ToolHttpServer;
let fixture: McpFixtureHttp;
before(async () => {
  endpoints = await startToolHttpServer({
    "/price": ({ body }) => ({ status: 200, json: { sku: (body as { sku: string }).sku, cents: 1250 } }),
  });
  fixture = await serveMcpFixtureHttp();
});
after(async () => {
  await endpoints?.close();
  await fixture?.close();
});

/** A service on `policiesDir` with the tenant's HTTP tool `shop.price` and MCP server `fixture`. */
async function serviceWithOwnTools(policiesDir: string): Promise<{
  svc: ServiceProcess;
  api: ReturnType<typeof apiClient>;
}> {
  const svc = await startService({ MEND_POLICIES_DIR: policiesDir });
  const api = apiClient(svc.url);
  const tool = await api.post("/v1/tools", {
    name: "shop.price",
    description: "Price of a SKU.",
    inputSchema: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] },
    endpoint: `${endpoints.url}/price`,
  });
  assert.equal(tool.status, 201, tool.text);
  const server = await api.post("/v1/tools/mcp-servers", { name: "fixture", url: fixture.url });
  assert.equal(server.status, 201, server.text);
  return { svc, api };
}

const script =
  "const p = await tools.shop.price({ sku: 'A-1' }); const s = await tools.fixture.add({ a: 2, b: 3 }); return [p.cents, s.sum];";

describe("the repository's default policy", () => {
  it("lets a tenant call the HTTP tool and the MCP tools it registered, with no policy edit", async () => {
    const { svc, api } = await serviceWithOwnTools(REPO_POLICIES);
    try {
      const listed = (await api.get("/v1/tools")).body as { name: string; allowed: boolean }[];
      assert.equal(listed.find((t) => t.name === "shop.price")?.allowed, true);
      assert.equal(listed.find((t) => t.name === "fixture.add")?.allowed, true);
      const r = await api.post("/v1/executions", { sandbox: "codemode", code: script });
      assert.equal(r.body.status, "succeeded", r.text);
      assert.deepEqual(r.body.result, [1250, 5]);
      assert.match((await api.get("/v1/tools.d.ts")).text, /price/);
    } finally {
      await svc.stop();
    }
  });
});

describe("a policy that narrows the tenant's own tools", () => {
  it("refuses the MCP tools with registered: [http], and a denied HTTP tool, as tool_not_allowed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-narrow-policies-"));
    writeFileSync(
      join(dir, "default.yaml"),
      'name: default\ntools:\n  allow: [echo]\n  registered: [http]\n  deny: ["shop.secret*"]\n',
    );
    const { svc, api } = await serviceWithOwnTools(dir);
    try {
      const ok = await api.post("/v1/executions", {
        sandbox: "codemode",
        code: "return (await tools.shop.price({ sku: 'B' })).cents",
      });
      assert.equal(ok.body.result, 1250, ok.text);
      const run = await api.post("/v1/runs", { mode: "client" });
      const mcp = await api.post(`/v1/runs/${run.body.id}/steps`, {
        key: "add",
        action: { type: "tool", tool: "fixture.add", args: { a: 2, b: 3 } },
      });
      assert.equal(mcp.body.status, "failed", mcp.text);
      assert.equal(mcp.body.failure.kind, "tool_not_allowed");
      const denied = await api.post("/v1/tools", {
        name: "shop.secrets",
        description: "Denied by the policy.",
        inputSchema: { type: "object" },
        endpoint: `${endpoints.url}/price`,
      });
      assert.equal(denied.body.allowed, false, denied.text);
      const listed = (await api.get("/v1/tools")).body as { name: string; allowed: boolean }[];
      assert.equal(listed.find((t) => t.name === "shop.secrets")?.allowed, false);
      assert.equal(
        listed.some((t) => t.name === "fixture.add"),
        false,
      );
    } finally {
      await svc.stop();
    }
  });
});
