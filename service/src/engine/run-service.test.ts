// Run-level rules in process: checkpoints as journaled steps, finished runs, and tenant scoping (another
// tenant's run is "not found" through every route), with API keys on a real SQLite store.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startInProcess, type InProcess } from "../../../test/support/in-process.ts";
import { ApiKeys } from "../auth/api-keys.ts";

let svc: InProcess;
const auth: Record<string, Record<string, string>> = {};
before(async () => {
  svc = await startInProcess({ policies: { default: 'name: default\ntools:\n  allow: ["**"]\n' } });
  const keys = new ApiKeys(svc.services.store);
  for (const tenant of ["acme", "globex"]) {
    const { token } = await keys.create({ tenant, policy: "default" });
    auth[tenant] = { authorization: `Bearer ${token}` };
  }
});
after(async () => {
  await svc.close();
});

const as = (tenant: string) => (method: string, path: string, body?: unknown) =>
  svc.api(method, path, body, auth[tenant]);
const acme = as("acme");
const globex = as("globex");

async function clientRun(): Promise<string> {
  const r = await acme("POST", "/v1/runs", { mode: "client" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

describe("checkpoints", () => {
  it("are journaled steps: the first value written wins and every later write answers it", async () => {
    const runId = await clientRun();
    const first = await acme("PUT", `/v1/runs/${runId}/checkpoints/plan`, { value: { step: 1 } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { key: "plan", value: { step: 1 } });
    const second = await acme("PUT", `/v1/runs/${runId}/checkpoints/plan`, { value: { step: 2 } });
    assert.deepEqual(second.body.value, { step: 1 });
    assert.deepEqual((await acme("GET", `/v1/runs/${runId}/checkpoints/plan`)).body.value, { step: 1 });
    const steps = (await acme("GET", `/v1/runs/${runId}/steps`)).body;
    assert.deepEqual(
      steps.map((s: any) => [s.key, s.kind, s.status, s.attempt]),
      [["checkpoint:plan", "checkpoint", "succeeded", 1]],
    );
  });

  it("keep a large value in the blob store and answer it whole when written again", async () => {
    const runId = await clientRun();
    const value = { notes: "n".repeat(10_000) };
    await acme("PUT", `/v1/runs/${runId}/checkpoints/big`, { value });
    const [journaled] = (await acme("GET", `/v1/runs/${runId}/steps`)).body;
    assert.match(journaled.output.value.$blob, /^[0-9a-f]{64}$/);
    const again = await acme("PUT", `/v1/runs/${runId}/checkpoints/big`, { value: "other" });
    assert.deepEqual(again.body.value, value);
  });

  it("refuse a key whose step is of another kind with 409", async () => {
    const runId = await clientRun();
    await acme("POST", `/v1/runs/${runId}/steps`, {
      key: "checkpoint:taken",
      action: { type: "codemode", code: "return 1" },
    });
    const r = await acme("PUT", `/v1/runs/${runId}/checkpoints/taken`, { value: 1 });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(r.body.detail, /codemode step/);
  });

  it("refuse a write on a finished run with 409", async () => {
    const runId = await clientRun();
    await acme("POST", `/v1/runs/${runId}/complete`, { output: "done" });
    assert.equal((await acme("PUT", `/v1/runs/${runId}/checkpoints/late`, { value: 1 })).status, 409);
  });
});

describe("a finished run", () => {
  it("still answers a retried key from its journal, and refuses new keys with 409", async () => {
    const runId = await clientRun();
    const action = { type: "codemode", code: "return Math.random()" };
    const done = await acme("POST", `/v1/runs/${runId}/steps`, { key: "roll", action });
    await acme("POST", `/v1/runs/${runId}/complete`, { output: done.body.result });
    const retried = await acme("POST", `/v1/runs/${runId}/steps`, { key: "roll", action });
    assert.equal(retried.status, 200);
    assert.equal(retried.body.replayed, true);
    assert.equal(retried.body.result, done.body.result);
    const fresh = await acme("POST", `/v1/runs/${runId}/steps`, { key: "new", action });
    assert.equal(fresh.status, 409);
    assert.equal(fresh.headers.get("content-type"), "application/problem+json");
  });

  it("completes idempotently, but a cancelled run cannot be completed", async () => {
    const runId = await clientRun();
    assert.equal((await acme("POST", `/v1/runs/${runId}/complete`, { output: 1 })).status, 200);
    const again = await acme("POST", `/v1/runs/${runId}/complete`, { output: 2 });
    assert.equal(again.status, 200);
    assert.equal(again.body.output, 1);
    const other = await clientRun();
    assert.equal((await acme("POST", `/v1/runs/${other}/cancel`)).body.status, "cancelled");
    assert.equal((await acme("POST", `/v1/runs/${other}/complete`, { output: 1 })).status, 409);
  });

  it("answers input with 409 when it is not waiting for one", async () => {
    const runId = await clientRun();
    const r = await acme("POST", `/v1/runs/${runId}/input`, { input: "hello" });
    assert.equal(r.status, 409);
    assert.match(r.body.detail, /not waiting_for_input/);
  });
});

describe("another tenant's run", () => {
  it("is not found through any route, and nothing of it changes", async () => {
    const runId = await clientRun();
    await acme("POST", `/v1/runs/${runId}/steps`, {
      key: "s",
      action: { type: "codemode", code: "return 1" },
    });
    await acme("PUT", `/v1/runs/${runId}/checkpoints/c`, { value: "secret" });
    const attempts: [string, string, unknown?][] = [
      ["GET", `/v1/runs/${runId}`],
      ["GET", `/v1/runs/${runId}/steps`],
      ["POST", `/v1/runs/${runId}/steps`, { key: "s", action: { type: "codemode", code: "return 2" } }],
      ["POST", `/v1/runs/${runId}/steps`, { key: "x", action: { type: "codemode", code: "return 2" } }],
      ["GET", `/v1/runs/${runId}/checkpoints/c`],
      ["PUT", `/v1/runs/${runId}/checkpoints/d`, { value: 1 }],
      ["POST", `/v1/runs/${runId}/complete`, { output: "hijacked" }],
      ["POST", `/v1/runs/${runId}/input`, { input: "hijacked" }],
      ["POST", `/v1/runs/${runId}/cancel`],
      ["GET", `/v1/runs/${runId}/events`],
    ];
    for (const [method, path, body] of attempts) {
      const r = await globex(method, path, body);
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.ok(!JSON.stringify(r.body).includes("secret"));
    }
    const listed = (await globex("GET", "/v1/runs")).body.items.map((r: any) => r.id);
    assert.ok(!listed.includes(runId));
    const mine = (await acme("GET", `/v1/runs/${runId}`)).body;
    assert.equal(mine.status, "running");
    assert.equal((await acme("GET", `/v1/runs/${runId}/steps`)).body.length, 2);
  });

  it("keeps its blobs from other tenants", async () => {
    const r = await acme("POST", "/v1/executions", {
      sandbox: "codemode",
      code: "return 'private '.repeat(2000)",
    });
    const [journaled] = await svc.services.store.listSteps(r.body.runId as string);
    const sha = (journaled!.output as { result: { $blob: string } }).result.$blob;
    assert.equal((await svc.request(`/v1/blobs/${sha}`, { headers: auth.acme })).status, 200);
    assert.equal((await svc.request(`/v1/blobs/${sha}`, { headers: auth.globex })).status, 404);
  });
});
