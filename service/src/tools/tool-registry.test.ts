import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { createLogger } from "../log/logger.ts";
import { Rejection } from "../core/rejection.ts";
import { BUILTIN_TOOL_NAMES } from "./builtin-tools.ts";
import { SecretBox } from "./secret-box.ts";
import { ToolRegistry } from "./tool-registry.ts";
import { DestinationGuard } from "./destination-guard.ts";

const dir = mkdtempSync(join(tmpdir(), "mend-registry-"));
const store = SqliteStore.open(join(dir, "mend.db"));
after(() => store.close());
const registry = new ToolRegistry({
  store,
  secrets: new SecretBox({ dataDir: dir, log: createLogger("silent") }),
  builtinNames: BUILTIN_TOOL_NAMES,
  configServers: [],
  allowStdio: false,
  // Registration only: the endpoints below are loopback, opened as the operator's local-development setting does.
  destinations: new DestinationGuard({ allowLoopback: true }),
});
const tool = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  description: "d",
  inputSchema: { type: "object" },
  endpoint: "http://127.0.0.1:9/x",
  ...extra,
});
const rejects = (p: Promise<unknown>, reason: string, message: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof Rejection && e.reason === reason && message.test(e.message));

test("header values are sealed in the store and opened only for a call", async () => {
  const { info, created } = await registry.registerHttpTool(
    "local",
    tool("crm.find", { headers: { "X-Api-Key": "key-abcdef-123" } }),
  );
  assert.equal(created, true);
  assert.deepEqual(info.headerNames, ["x-api-key"]);
  const stored = await store.getTool("local", "crm.find");
  assert.doesNotMatch(JSON.stringify(stored), /key-abcdef-123/);
  assert.deepEqual(await registry.headersOf(stored!), { "x-api-key": "key-abcdef-123" });
});

test("a re-registration replaces the tool and keeps its creation time", async () => {
  const first = await registry.registerHttpTool("local", tool("re.reg"));
  const second = await registry.registerHttpTool("local", tool("re.reg", { description: "changed" }));
  assert.deepEqual([first.created, second.created], [true, false]);
  assert.equal(second.info.createdAt, first.info.createdAt);
});

test("names in built-in namespaces, reserved headers and credentials in URLs are refused", async () => {
  await rejects(
    registry.registerHttpTool("local", tool("blobs.mine")),
    "conflict",
    /shadow the built-in tools under "blobs"/,
  );
  await rejects(
    registry.registerHttpTool("local", tool("x.y", { headers: { "Idempotency-Key": "k" } })),
    "invalid",
    /cannot be overridden/,
  );
  await rejects(
    registry.registerHttpTool("local", tool("x.y", { endpoint: "http://u:p@127.0.0.1/" })),
    "invalid",
    /put them in headers/,
  );
});

test("an MCP server and an HTTP tool cannot share a namespace", async () => {
  await registry.registerMcpServer("local", { name: "weather", url: "http://127.0.0.1:9/mcp" });
  await rejects(
    registry.registerHttpTool("local", tool("weather.today")),
    "conflict",
    /MCP server "weather"/,
  );
  await rejects(
    registry.registerMcpServer("local", { name: "crm", url: "http://127.0.0.1:9/mcp" }),
    "conflict",
    /crm\.find/,
  );
});

test("stdio servers are refused unless the operator enabled them", async () => {
  await rejects(
    registry.registerMcpServer("local", { name: "local_cmd", command: "/bin/true" }),
    "not_configured",
    /MEND_MCP_ALLOW_STDIO/,
  );
});

test("the tenant's tools are listed from memory until they change, here or through another connection", async () => {
  const names = async () => (await registry.httpTools("cached")).map((t) => t.name);
  await registry.registerHttpTool("cached", tool("c.one"));
  assert.deepEqual(await names(), ["c.one"]);
  const reads = () => store.counters().statements;
  const before = reads();
  assert.deepEqual(await names(), ["c.one"]);
  // One statement (the version) instead of the listing: the records came from memory.
  assert.equal(reads() - before, 1);
  await registry.registerHttpTool("cached", tool("c.two"));
  assert.deepEqual(await names(), ["c.one", "c.two"]);
  assert.equal(await registry.deleteHttpTool("cached", "c.one"), true);
  assert.deepEqual(await names(), ["c.two"]);
  // Another process on the same file (the CLI re-sealing credentials) writes without this registry.
  const other = SqliteStore.open(join(dir, "mend.db"));
  try {
    const record = await other.getTool("cached", "c.two");
    await other.putTool({ ...record!, name: "c.three" });
  } finally {
    await other.close();
  }
  assert.deepEqual(await names(), ["c.three", "c.two"]);
});
