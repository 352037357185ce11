// End to end: registered HTTP tools against real loopback endpoints, through the real service process.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startToolHttpServer, type ToolHttpServer } from "../support/tool-http-server.ts";
import { apiClient, filesContaining, openPolicyDir } from "../support/tool-test-kit.ts";

const SECRET = `sk-live-${randomBytes(12).toString("hex")}`;
let svc: ServiceProcess;
let tools: ToolHttpServer;
let api: ReturnType<typeof apiClient>;

const lookupSchema = {
  type: "object",
  properties: { id: { type: "integer", minimum: 1, description: "Customer id" } },
  required: ["id"],
  additionalProperties: false,
};

before(async () => {
  tools = await startToolHttpServer({
    "/lookup": ({ body, headers }) =>
      headers.authorization === `Bearer ${SECRET}`
        ? { status: 200, json: { id: (body as { id: number }).id, name: "Ada" } }
        : { status: 401, json: { error: "bad credentials" } },
    "/hang": () => "hang",
    "/flaky-idem": ({ n }) =>
      n === 1 ? { status: 500, json: { error: "transient" } } : { status: 200, json: { ok: true } },
    "/flaky-plain": ({ n }) =>
      n === 1 ? { status: 500, json: { error: "transient" } } : { status: 200, json: { ok: true } },
    "/price": ({ body }) => ({ status: 200, json: { sku: (body as { sku: string }).sku, cents: 1250 } }),
    "/text": () => ({ status: 200, text: "plain words" }),
  });
  svc = await startService({ MEND_POLICIES_DIR: openPolicyDir() });
  api = apiClient(svc.url);
  const reg = await api.post("/v1/tools", {
    name: "crm.lookup",
    description: "Finds a customer by id.",
    inputSchema: lookupSchema,
    endpoint: `${tools.url}/lookup`,
    headers: { Authorization: `Bearer ${SECRET}` },
    idempotent: true,
  });
  assert.equal(reg.status, 201, reg.text);
});

after(async () => {
  await svc?.stop();
  await tools?.close();
});

async function register(name: string, path: string, extra: Record<string, unknown> = {}) {
  const r = await api.post("/v1/tools", {
    name,
    description: `Test tool ${name}.`,
    inputSchema: { type: "object", properties: { sku: { type: "string" } } },
    endpoint: tools.url + path,
    ...extra,
  });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  return r;
}

async function toolStep(runId: string, key: string, tool: string, args: unknown) {
  return api.post(`/v1/runs/${runId}/steps`, { key, action: { type: "tool", tool, args } });
}

async function clientRun(): Promise<string> {
  const r = await api.post("/v1/runs", { mode: "client", goal: "tool tests" });
  assert.equal(r.status, 201, r.text);
  return r.body.id as string;
}

test("registration refuses an unusable input schema with the offending path", async () => {
  const r = await api.post("/v1/tools", {
    name: "bad.schema",
    description: "x",
    inputSchema: { type: "object", properties: { q: { type: "strin" } } },
    endpoint: `${tools.url}/x`,
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].path, "/inputSchema/properties/q/type");
});

test("registration refuses a malformed name and a name that shadows a built-in", async () => {
  const bad = await api.post("/v1/tools", {
    name: "Bad-Name",
    description: "x",
    inputSchema: { type: "object" },
    endpoint: tools.url,
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].path, "/name");
  for (const name of ["echo", "kv.custom", "http.fetch"]) {
    const r = await api.post("/v1/tools", {
      name,
      description: "x",
      inputSchema: { type: "object" },
      endpoint: tools.url,
    });
    assert.equal(r.status, 409, `${name}: ${r.text}`);
  }
});

test("a registered tool is listed, readable without its header values, replaced with 200 and deleted with 204", async () => {
  const list = await api.get("/v1/tools");
  const crm = list.body.find((t: { name: string }) => t.name === "crm.lookup");
  assert.deepEqual([crm.source, crm.allowed, crm.headerNames], ["http", true, ["authorization"]]);
  const one = await api.get("/v1/tools/crm.lookup");
  assert.equal(one.body.endpoint, `${tools.url}/lookup`);

  await register("tmp.tool", "/text");
  const again = await register("tmp.tool", "/text", { description: "Now described differently." });
  assert.equal(again.status, 200);
  assert.equal((await api.delete("/v1/tools/tmp.tool")).status, 204);
  assert.equal((await api.get("/v1/tools/tmp.tool")).status, 404);
  assert.equal((await api.delete("/v1/tools/echo")).status, 404);
});

test("arguments that break the tool's schema fail as tool_input_invalid without calling the endpoint", async () => {
  const run = await clientRun();
  const before = tools.count("/lookup");
  const r = await toolStep(run, "bad-args", "crm.lookup", { id: "seven" });
  assert.equal(r.body.status, "failed", r.text);
  assert.equal(r.body.failure.kind, "tool_input_invalid");
  assert.equal(r.body.failure.errors[0].path, "/id");
  assert.equal(tools.count("/lookup"), before);
});

test("a tool that hangs fails with a retryable tool_failed naming its timeout", async () => {
  await register("slow.tool", "/hang", { timeoutMs: 300 });
  const r = await toolStep(await clientRun(), "slow", "slow.tool", {});
  assert.equal(r.body.failure.kind, "tool_failed", r.text);
  assert.equal(r.body.failure.retryable, true);
  assert.match(r.body.failure.message, /did not answer within 300 ms/);
});

test("a 500 then 200 is retried for an idempotent tool only", async () => {
  await register("flaky.idem", "/flaky-idem", { idempotent: true });
  await register("flaky.plain", "/flaky-plain");
  const run = await clientRun();
  const idem = await toolStep(run, "idem", "flaky.idem", {});
  assert.equal(idem.body.status, "succeeded", idem.text);
  assert.equal(tools.count("/flaky-idem"), 2);
  const plain = await toolStep(run, "plain", "flaky.plain", {});
  assert.equal(plain.body.status, "failed");
  assert.deepEqual([plain.body.failure.kind, plain.body.failure.status], ["tool_failed", 500]);
  assert.match(plain.body.failure.bodyTail, /transient/);
  assert.equal(tools.count("/flaky-plain"), 1);
});

test("the Idempotency-Key is run/step/seq, and a replayed step does not call the endpoint again", async () => {
  const run = await clientRun();
  const first = await toolStep(run, "lookup-7", "crm.lookup", { id: 7 });
  assert.equal(first.body.status, "succeeded", first.text);
  assert.deepEqual(first.body.result, { id: 7, name: "Ada" });
  const call = tools.calls.filter((c) => c.path === "/lookup").at(-1)!;
  assert.equal(call.headers["idempotency-key"], `${run}/${first.body.stepSeq}/1`);
  const count = tools.count("/lookup");
  const again = await toolStep(run, "lookup-7", "crm.lookup", { id: 7 });
  assert.equal(again.body.replayed, true);
  assert.deepEqual(again.body.result, first.body.result);
  assert.equal(tools.count("/lookup"), count);
});

test("code-mode calls a registered tool by its dotted name; a non-JSON answer arrives as text", async () => {
  await register("words.plain", "/text");
  const r = await api.post("/v1/executions", {
    sandbox: "codemode",
    code: "const c = await tools.crm.lookup({ id: 3 }); const w = await tools.words.plain({}); return [c.name, w];",
  });
  assert.equal(r.body.status, "succeeded", r.text);
  assert.deepEqual(r.body.result, ["Ada", "plain words"]);
  const call = tools.calls.filter((c) => c.path === "/lookup").at(-1)!;
  assert.match(
    String(call.headers["idempotency-key"]),
    new RegExp(`^${r.body.runId}/${r.body.stepSeq ?? "\\d+"}/1$`),
  );
});

test("a cacheable tool called by two runs hits the global cache the second time", async () => {
  await register("shop.price", "/price", { cache: { ttlSeconds: 600 }, idempotent: true });
  const statsBefore = (await api.get("/v1/cache/stats")).body;
  const code = "return await tools.shop.price({ sku: 'A-1' });";
  const one = await api.post("/v1/executions", { sandbox: "codemode", code });
  const two = await api.post("/v1/executions", { sandbox: "codemode", code });
  assert.deepEqual(
    [one.body.result, two.body.result],
    [
      { sku: "A-1", cents: 1250 },
      { sku: "A-1", cents: 1250 },
    ],
    two.text,
  );
  assert.notEqual(one.body.runId, two.body.runId);
  assert.equal(tools.count("/price"), 1);
  assert.equal(two.body.toolCalls[0].cached, true);
  assert.equal((await api.get("/v1/cache/stats")).body.hits, statsBefore.hits + 1);
});

test("sandbox code cannot see stored credentials", async () => {
  const r = await api.post("/v1/executions", {
    sandbox: "codemode",
    code: "return JSON.stringify({ keys: Object.keys(tools), crm: String(tools.crm.lookup), g: Object.keys(globalThis) });",
  });
  assert.equal(r.body.status, "succeeded", r.text);
  assert.ok(!r.text.includes(SECRET));
});

test("the credential is absent from every API response, log line and file of the data dir", async () => {
  await api.get("/v1/tools");
  await api.get("/v1/tools/crm.lookup");
  await api.get("/v1/tools.d.ts");
  const run = await clientRun();
  await toolStep(run, "l", "crm.lookup", { id: 9 });
  await api.get(`/v1/runs/${run}/steps`);
  assert.ok(
    tools.calls.some((c) => c.headers.authorization === `Bearer ${SECRET}`),
    "the endpoint received the credential",
  );
  assert.deepEqual(
    api.seen.filter((t) => t.includes(SECRET)),
    [],
  );
  assert.deepEqual(
    svc.logs.filter((l) => l.includes(SECRET)),
    [],
  );
  assert.ok(
    svc.logs.some((l) => l.includes("generated a secret key")),
    "the generated key is logged (not its value)",
  );
  assert.deepEqual(filesContaining(svc.dataDir, SECRET), []);
});

test("after a crash mid-step, the re-executed call carries the same Idempotency-Key and the stored credential still opens", async () => {
  const policies = openPolicyDir();
  const crashing = await startService({ MEND_POLICIES_DIR: policies, MEND_CRASHPOINT: "before-step-end:1" });
  const first = apiClient(crashing.url);
  const reg = await first.post("/v1/tools", {
    name: "crash.lookup",
    description: "Finds a customer by id.",
    inputSchema: lookupSchema,
    endpoint: `${tools.url}/lookup`,
    headers: { Authorization: `Bearer ${SECRET}` },
  });
  assert.equal(reg.status, 201, reg.text);
  const runId = (await first.post("/v1/runs", { mode: "client" })).body.id as string;
  const before = tools.calls.length;
  await first
    .post(`/v1/runs/${runId}/steps`, {
      key: "k",
      action: { type: "tool", tool: "crash.lookup", args: { id: 5 } },
    })
    .catch(() => undefined);
  assert.notEqual((await crashing.exited).signal, null, "the crashpoint killed the service");
  const restarted = await startService({ MEND_POLICIES_DIR: policies }, crashing.dataDir);
  try {
    const again = await apiClient(restarted.url).post(`/v1/runs/${runId}/steps`, {
      key: "k",
      action: { type: "tool", tool: "crash.lookup", args: { id: 5 } },
    });
    assert.equal(again.body.status, "succeeded", again.text);
    const keys = tools.calls
      .slice(before)
      .filter((c) => c.path === "/lookup")
      .map((c) => c.headers["idempotency-key"]);
    assert.equal(keys.length, 2, JSON.stringify(keys));
    assert.equal(keys[0], keys[1]);
    assert.equal(keys[0], `${runId}/${again.body.stepSeq}/1`);
  } finally {
    await restarted.stop();
  }
});
