import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { loadConfig } from "../config/config.ts";
import { createLogger } from "../log/logger.ts";
import { MCP_FIXTURE_PATH, serveMcpFixtureHttp } from "../../../test/support/mcp-fixture-server.ts";
import { ToolCatalog } from "./tool-catalog.ts";
import { FileBlobStore } from "../store/file-blob-store.ts";
import { registerToolSources } from "./register-tool-sources.ts";

const dir = mkdtempSync(join(tmpdir(), "mend-mcp-"));
const config = loadConfig({
  MEND_DATA_DIR: dir,
  // The HTTP fixture is on loopback.
  MEND_NETWORK_ALLOW_LOOPBACK: "1",
  MEND_MCP_SERVERS: JSON.stringify({
    local_fixture: {
      command: process.execPath,
      args: [MCP_FIXTURE_PATH, "--stdio"],
      env: { FIXTURE_TOKEN: "stdio-secret-value-42" },
    },
  }),
});
const log = createLogger("silent");
const store = SqliteStore.open(join(dir, "mend.db"));
const blobs = new FileBlobStore(join(dir, "blobs"));
const catalog = new ToolCatalog();
const sources = await registerToolSources(catalog, { store, config, log, blobs });
const { registry } = sources;
const dispose = () => sources.dispose();
const http = await serveMcpFixtureHttp();
after(async () => {
  await dispose();
  await http.close();
  await store.close();
});
const ctx = { tenant: "local", runId: "run_m", idempotencyKey: "run_m/1/1" };

test("the tools of an MCP server registered by URL appear as <server>.<tool> with their schemas", async () => {
  await registry.registerMcpServer("local", {
    name: "fixture",
    url: http.url,
    headers: { authorization: "Bearer mcp-token-123" },
  });
  const add = await catalog.get("local", "fixture.add");
  assert.ok(add);
  assert.equal(add.description, "Adds two numbers.");
  assert.deepEqual(Object.keys((add.inputSchema as { properties: object }).properties), ["a", "b"]);
  assert.deepEqual(add.source, { kind: "mcp", server: "fixture" });
  assert.deepEqual(await add.invoke({ a: 1, b: 2 }, ctx), { ok: true, value: { sum: 3 } });
  assert.equal(http.requests.at(-1)?.authorization, "Bearer mcp-token-123");
  assert.equal(await catalog.get("acme", "fixture.add"), undefined);
});

test("a stdio server from MEND_MCP_SERVERS serves the local tenant, with its env", async () => {
  const ok = await catalog.get("local", "local_fixture.secret_ok");
  assert.deepEqual(await ok!.invoke({}, ctx), { ok: true, value: { ok: true } });
  assert.deepEqual(await (await catalog.get("local", "local_fixture.greet"))!.invoke({ name: "ada" }, ctx), {
    ok: true,
    value: "hello ada",
  });
});

test("an isError result becomes tool_failed with the tool's text", async () => {
  const r = await (await catalog.get("local", "fixture.fail"))!.invoke({ why: "boom" }, ctx);
  assert.ok(!r.ok);
  assert.equal(r.failure.kind, "tool_failed");
  assert.match(r.failure.message, /fixture failure: boom/);
});

test("a deleted server's tools disappear", async () => {
  assert.equal(await registry.deleteMcpServer("local", "fixture"), true);
  assert.equal(await catalog.get("local", "fixture.add"), undefined);
});

test("an unreachable server hides its tools instead of failing the listing", async () => {
  await registry.registerMcpServer("local", { name: "down", url: "http://127.0.0.1:1/mcp" });
  const names = (await catalog.list("local")).map((t) => t.name);
  assert.ok(names.includes("echo"));
  assert.ok(!names.some((n) => n.startsWith("down.")));
});
