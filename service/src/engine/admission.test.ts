// The one admission point in process: at `concurrentExecutions` every door that can retry (HTTP, client
// steps, MCP, the relay) answers 429 while the hosted loop's steps wait for the slot; a tenant over its
// request rate gets 429 with Retry-After, and other tenants are served as before.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { addGate, eventOf, startInProcess, until, type InProcess } from "../../../test/support/in-process.ts";
import { startFakeLlm, type FakeLlm } from "../../../test/support/fake-llm.ts";
import { finish, runOrchestration } from "../../../test/support/fake-llm-turns.ts";
import { ApiKeys } from "../auth/api-keys.ts";

const POLICIES = {
  default: 'name: default\ntools:\n  allow: ["**"]\nlimits: { concurrentExecutions: 1 }\n',
  // One token per 1000 s: the fourth request of a burst of three is refused for the rest of the test.
  limited:
    "name: limited\nextends: default\nlimits: { requestsPerSecond: 0.001, burst: 3, concurrentExecutions: 1 }\n",
};

let svc: InProcess;
let llm: FakeLlm;
let env: Record<string, string>;
const auth: Record<string, Record<string, string>> = {};
before(async () => {
  llm = await startFakeLlm({
    script: (_req, turn, ctx) =>
      turn === 0 ? runOrchestration("return 6 * 7") : finish(ctx.lastToolResult!.content),
  });
  env = { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" };
  svc = await startInProcess({ policies: POLICIES, env });
  const keys = new ApiKeys(svc.services.store);
  for (const [tenant, policy] of [
    ["acme", "default"],
    ["noisy", "limited"],
    ["quiet", "limited"],
  ] as const) {
    const { token } = await keys.create({ tenant, policy });
    auth[tenant] = { authorization: `Bearer ${token}` };
  }
});
after(async () => {
  await svc.close();
  await llm.close();
});

const acme = (method: string, path: string, body?: unknown) => svc.api(method, path, body, auth.acme);

/** Holds acme's only execution slot with a step waiting on a gate; resolves once the step runs. */
async function holdSlot(gateName: string) {
  const gate = addGate(svc.services, gateName);
  const runId = (await acme("POST", "/v1/runs", { mode: "client" })).body.id as string;
  const reply = acme("POST", `/v1/runs/${runId}/steps`, {
    key: "hold",
    action: { type: "codemode", code: `return await tools.${gateName}({})` },
  });
  await gate.called();
  assert.deepEqual(svc.services.admission.snapshot().acme, { running: 1, waiting: 0 });
  return { gate, runId, reply };
}

async function mcpClient(): Promise<Client> {
  const client = new Client({ name: "mend-admission-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    requestInit: { headers: auth.acme },
    fetch: (url, init) => svc.request(String(url), init),
  });
  await client.connect(transport);
  return client;
}

describe("a tenant at its concurrency limit of 1", () => {
  it("is answered 429 with Retry-After by HTTP, client steps, MCP and the relay, and served once the slot is free", async () => {
    const held = await holdSlot("slot.a");
    const execution = await acme("POST", "/v1/executions", { sandbox: "codemode", code: "return 1" });
    assert.equal(execution.status, 429, JSON.stringify(execution.body));
    assert.equal(execution.body.type, "urn:mend:problem:rate-limited");
    assert.match(execution.body.detail, /concurrent executions/);
    assert.ok(Number(execution.headers.get("retry-after")) >= 1);
    const otherRun = (await acme("POST", "/v1/runs", { mode: "client" })).body.id as string;
    const clientStep = await acme("POST", `/v1/runs/${otherRun}/steps`, {
      key: "second",
      action: { type: "codemode", code: "return 2" },
    });
    assert.equal(clientStep.status, 429);
    const mcp = await mcpClient();
    try {
      const viaMcp = await mcp.callTool({ name: "run_orchestration", arguments: { code: "return 3" } });
      assert.equal(viaMcp.isError, true);
      // A refusal is a tool error whose text carries the problem (no structuredContent: it would not match the output schema).
      assert.match(
        (viaMcp.content as { text: string }[])[0]!.text,
        /^refused \(429 rate-limited\)/,
        JSON.stringify(viaMcp),
      );
      const relay = await acme("POST", "/v1/relay/executions", { code: "return 4", tools: [] });
      assert.equal(relay.status, 429, JSON.stringify(relay.body));
      // Nothing was journaled for the refused executions.
      assert.equal((await acme("GET", `/v1/runs/${otherRun}/steps`)).body.length, 0);

      held.gate.open();
      assert.equal((await held.reply).body.status, "succeeded");
      assert.equal(svc.services.admission.snapshot().acme, undefined, "the slot was given back");
      const again = await acme("POST", "/v1/executions", { sandbox: "codemode", code: "return 6 * 7" });
      assert.equal(again.body.result, 42);
      const mcpAgain = await mcp.callTool({ name: "run_orchestration", arguments: { code: "return 7" } });
      assert.equal((mcpAgain.structuredContent as any).result, 7, JSON.stringify(mcpAgain));
      assert.equal(svc.services.admission.snapshot().acme, undefined);
    } finally {
      await mcp.close();
    }
  });

  it("still replays a finished step without taking a slot", async () => {
    const runId = (await acme("POST", "/v1/runs", { mode: "client" })).body.id as string;
    const action = { type: "codemode", code: "return 'journaled'" };
    await acme("POST", `/v1/runs/${runId}/steps`, { key: "done", action });
    const held = await holdSlot("slot.b");
    const replay = await acme("POST", `/v1/runs/${runId}/steps`, { key: "done", action });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.replayed, true);
    held.gate.open();
    await held.reply;
  });

  it("replays a one-off execution by its Idempotency-Key without taking a slot", async () => {
    const exec = { sandbox: "codemode", code: "return 'once'" };
    const headers = { ...auth.acme, "idempotency-key": "replay-at-limit" };
    assert.equal((await svc.api("POST", "/v1/executions", exec, headers)).body.result, "once");
    const held = await holdSlot("slot.b2");
    try {
      const replay = await svc.api("POST", "/v1/executions", exec, headers);
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      assert.equal(replay.body.replayed, true);
    } finally {
      held.gate.open();
      await held.reply;
    }
  });

  it("queues the hosted loop's step for the slot, and the run finishes once the slot is free", async () => {
    const held = await holdSlot("slot.c");
    const created = await acme("POST", "/v1/runs", {
      mode: "hosted",
      goal: "multiply while the slot is taken",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id as string;
    // Queued, or (were it refused) finished without the execution: whichever comes first.
    let finished = false;
    const completed = eventOf(svc.services, runId, (e) => e.type === "run.completed").then(
      () => (finished = true),
    );
    await until(() => finished || svc.services.admission.snapshot().acme?.waiting === 1);
    assert.equal(finished, false, "the run ended without waiting for the slot");
    // The model chose its action; the execution waits unjournaled, and the run is still running.
    assert.ok(await svc.services.store.getStep(runId, "iter-1/llm"));
    assert.equal(await svc.services.store.getStep(runId, "iter-1/call-0"), null);
    assert.equal((await acme("GET", `/v1/runs/${runId}`)).body.status, "running");

    held.gate.open();
    await completed;
    const run = (await acme("GET", `/v1/runs/${runId}`)).body;
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.match(String(run.output), /42/);
    assert.equal((await held.reply).body.status, "succeeded");
    const call = await svc.services.store.getStep(runId, "iter-1/call-0");
    assert.equal(call?.status, "succeeded");
    assert.equal(call?.attempt, 1);
  });
});

describe("a tenant over its request rate", () => {
  it("is answered 429 with Retry-After, while another tenant under the same policy is served", async () => {
    const noisy = (path: string) => svc.api("GET", path, undefined, auth.noisy);
    for (let i = 0; i < 3; i++) assert.equal((await noisy("/v1/runs")).status, 200);
    const refused = await noisy("/v1/runs");
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.type, "urn:mend:problem:rate-limited");
    assert.match(refused.body.detail, /rate of 0\.001 requests per second/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter > 1 && retryAfter <= 1000, `Retry-After: ${retryAfter}`);
    // Every door is behind the same admission: an execution is refused before it runs.
    const execution = await svc.api(
      "POST",
      "/v1/executions",
      { sandbox: "codemode", code: "return 1" },
      auth.noisy,
    );
    assert.equal(execution.status, 429);
    assert.equal((await svc.api("GET", "/v1/runs", undefined, auth.quiet)).status, 200);
    assert.equal((await acme("GET", "/v1/runs")).status, 200);
  });
});

describe("a shutdown while a hosted step waits for its tenant's slot", () => {
  it("does not start the queued step after the drain, and the next instance runs it", async () => {
    const first = await startInProcess({ policies: POLICIES, env });
    const gate = addGate(first.services, "shutdown.hold");
    const holder = (await first.api("POST", "/v1/runs", { mode: "client" })).body.id as string;
    void first.api("POST", `/v1/runs/${holder}/steps`, {
      key: "hold",
      action: { type: "codemode", code: "return await tools.shutdown.hold({})" },
    });
    await gate.called();
    const created = await first.api("POST", "/v1/runs", { mode: "hosted", goal: "queued at shutdown" });
    const runId = created.body.id as string;
    await until(() => first.services.admission.snapshot().local?.waiting === 1);
    await first.abandon();

    const second = await startInProcess({ dataDir: first.dataDir, policies: POLICIES, env });
    try {
      assert.equal(await second.services.store.getStep(runId, "iter-1/call-0"), null);
      await second.services.loop.resumeAll();
      await eventOf(second.services, runId, (e) => e.type === "run.completed");
      assert.equal((await second.api("GET", `/v1/runs/${runId}`)).body.status, "succeeded");
    } finally {
      await second.close();
    }
  });
});
