import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { FileBlobStore } from "../store/file-blob-store.ts";
import { BASE_POLICY } from "../policy/builtin-policy.ts";
import type { Policy } from "../policy/policy-schema.ts";
import { createKvTools } from "./kv-tools.ts";
import { createBlobTools } from "./blob-tools.ts";
import { httpFetchTool } from "./http-fetch-tool.ts";
import type { ToolDefinition } from "./tool.ts";
import { DestinationGuard } from "./destination-guard.ts";

const dir = mkdtempSync(join(tmpdir(), "mend-builtins-"));
const store = SqliteStore.open(join(dir, "mend.db"));
// The strict default (loopback refused): the http.fetch test opens its loopback server with network.allow.
const destinations = new DestinationGuard({ allowLoopback: false });
after(async () => {
  await destinations.close();
  await store.close();
});
const byName = (tools: ToolDefinition[], name: string) => tools.find((t) => t.name === name)!;
const ctx = (runId: string, tenant = "local") => ({
  tenant,
  runId,
  idempotencyKey: `${runId}/1/1`,
  destinations,
});

test("kv.set values are read back by kv.get in the same run only", async () => {
  const kv = createKvTools(store);
  assert.deepEqual(await byName(kv, "kv.set").invoke({ key: "page", value: { n: 3 } }, ctx("run_a")), {
    ok: true,
    value: { key: "page" },
  });
  assert.deepEqual(await byName(kv, "kv.get").invoke({ key: "page" }, ctx("run_a")), {
    ok: true,
    value: { key: "page", found: true, value: { n: 3 } },
  });
  assert.deepEqual(await byName(kv, "kv.get").invoke({ key: "page" }, ctx("run_b")), {
    ok: true,
    value: { key: "page", found: false, value: null },
  });
});

test("blobs.put content is returned by blobs.get to the same tenant, not to another", async () => {
  const tools = createBlobTools(store, new FileBlobStore(join(dir, "blobs")));
  const put = await byName(tools, "blobs.put").invoke({ content: "hello blob" }, ctx("run_a"));
  assert.ok(put.ok);
  const { sha256 } = put.value as { sha256: string };
  assert.deepEqual(await byName(tools, "blobs.get").invoke({ sha256 }, ctx("run_b")), {
    ok: true,
    value: { sha256, size: 10, content: "hello blob", encoding: "utf8" },
  });
  const other = await byName(tools, "blobs.get").invoke({ sha256 }, ctx("run_c", "acme"));
  assert.ok(!other.ok);
  assert.equal(other.failure.kind, "tool_failed");
});

test("http.fetch is denied for every host when the policy's allowlist is empty, naming the allowlist", async () => {
  const policy: Policy = { ...structuredClone(BASE_POLICY), name: "p", version: "1" };
  const r = await httpFetchTool.invoke({ url: "http://127.0.0.1:1/" }, { ...ctx("run_a"), policy });
  assert.ok(!r.ok);
  assert.equal(r.failure.kind, "network_denied");
  assert.match(r.failure.message, /http\.allowHosts is empty/);
});

test("http.fetch reaches an allowed host (its loopback address opened by network.allow) and is denied any other", async () => {
  const server = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/plain" }).end("pong"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const policy: Policy = {
      ...structuredClone(BASE_POLICY),
      name: "p",
      version: "1",
      http: { allowHosts: ["127.0.0.1"] },
      network: { allow: [`127.0.0.1:${port}`] },
    };
    const ok = await httpFetchTool.invoke(
      { url: `http://127.0.0.1:${port}/ping` },
      { ...ctx("run_a"), policy },
    );
    assert.ok(ok.ok);
    assert.deepEqual(
      { ...(ok.value as object), headers: undefined },
      { status: 200, headers: undefined, body: "pong", truncated: false },
    );
    const denied = await httpFetchTool.invoke(
      { url: `http://localhost:${port}/ping` },
      { ...ctx("run_a"), policy },
    );
    assert.ok(!denied.ok);
    assert.equal(denied.failure.kind, "network_denied");
    assert.match(denied.failure.message, /allowed hosts: 127\.0\.0\.1/);
  } finally {
    server.close();
  }
});
