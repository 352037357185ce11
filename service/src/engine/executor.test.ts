// The executor in process: one execution per key however many requests race for it, the journal of a
// script's tool calls, large values in the blob store, implicit runs of one-off executions.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { addGate, startInProcess, type InProcess } from "../../../test/support/in-process.ts";

let svc: InProcess;
before(async () => {
  svc = await startInProcess({ policies: { default: 'name: default\ntools:\n  allow: ["**"]\n' } });
});
after(async () => {
  await svc.close();
});

async function clientRun(): Promise<string> {
  const r = await svc.api("POST", "/v1/runs", { mode: "client" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

describe("concurrent requests with one key", () => {
  it("execute a client step once and answer every request with its result", async () => {
    const gate = addGate(svc.services, "race.step");
    const runId = await clientRun();
    const action = { type: "codemode", code: "return await tools.race.step({})" };
    const replies = Promise.all(
      [1, 2, 3].map(() => svc.api("POST", `/v1/runs/${runId}/steps`, { key: "once", action })),
    );
    await gate.called();
    gate.open();
    const [a, b, c] = await replies;
    for (const r of [a, b, c]) {
      assert.equal(r!.status, 200, JSON.stringify(r!.body));
      assert.deepEqual(r!.body.result, { n: 1 });
      assert.equal(r!.body.id, a!.body.id);
    }
    assert.equal(gate.calls.length, 1);
    const steps = (await svc.api("GET", `/v1/runs/${runId}/steps`)).body;
    assert.equal(steps.length, 1);
    assert.equal(steps[0].attempt, 1);
  });

  it("execute a one-off execution once per Idempotency-Key, under one implicit run", async () => {
    const gate = addGate(svc.services, "race.execution");
    const body = { sandbox: "codemode", code: "return await tools.race.execution({})" };
    const headers = { "idempotency-key": "race-1" };
    const replies = Promise.all([1, 2].map(() => svc.api("POST", "/v1/executions", body, headers)));
    await gate.called();
    gate.open();
    const [a, b] = await replies;
    assert.equal(a!.status, 200, JSON.stringify(a!.body));
    assert.deepEqual(a!.body.result, { n: 1 });
    assert.deepEqual(b!.body.result, { n: 1 });
    assert.equal(a!.body.runId, b!.body.runId);
    assert.equal(gate.calls.length, 1);
    const later = await svc.api("POST", "/v1/executions", body, headers);
    assert.equal(later.body.replayed, true);
    assert.deepEqual(later.body.result, { n: 1 });
    assert.equal(gate.calls.length, 1);
    // The implicit run ended with its only step.
    const run = await svc.services.store.getRunById(a!.body.runId as string);
    assert.equal(run?.status, "succeeded");
    assert.deepEqual(run?.output, { n: 1 });
  });
});

describe("a code-mode step's tool calls", () => {
  it("are journaled with the step, each with the idempotency key run/step/seq", async () => {
    const gate = addGate(svc.services, "journal.me");
    gate.open();
    const runId = await clientRun();
    const code =
      "const a = await tools.journal.me({ i: 1 }); const b = await tools.journal.me({ i: 2 }); return [a.n, b.n]";
    const r = await svc.api("POST", `/v1/runs/${runId}/steps`, {
      key: "two",
      action: { type: "codemode", code },
    });
    assert.deepEqual(r.body.result, [1, 2]);
    assert.deepEqual(
      gate.calls.map((c) => c.idempotencyKey),
      [`${runId}/${r.body.stepSeq}/1`, `${runId}/${r.body.stepSeq}/2`],
    );
    const journaled = await svc.services.store.listToolCalls(runId, r.body.stepSeq as number);
    assert.deepEqual(
      journaled.map((c) => [c.seq, c.tool, c.status, c.output]),
      [
        [1, "journal.me", "succeeded", { n: 1 }],
        [2, "journal.me", "succeeded", { n: 2 }],
      ],
    );
  });
});

describe("large values", () => {
  it("move an execution's result to the blob store and come back whole on replay", async () => {
    const body = { sandbox: "codemode", code: "return { text: 'y'.repeat(20000), n: 7 }" };
    const headers = { "idempotency-key": "big-result" };
    const first = await svc.api("POST", "/v1/executions", body, headers);
    assert.equal(first.body.result.text.length, 20000);
    const [journaled] = await svc.services.store.listSteps(first.body.runId as string);
    const ref = (journaled!.output as { result: { $blob: string; size: number } }).result;
    assert.match(ref.$blob, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(journaled!.output).includes("yyyy"), "the journal keeps a reference only");
    const blob = await svc.request(`/v1/blobs/${ref.$blob}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(JSON.parse(await blob.text()), first.body.result);
    const replay = await svc.api("POST", "/v1/executions", body, headers);
    assert.equal(replay.body.replayed, true);
    assert.deepEqual(replay.body.result, first.body.result);
  });

  it("move a tool step's large result to the blob store and replay it from there", async () => {
    const runId = await clientRun();
    const action = { type: "tool", tool: "echo", args: { text: "z".repeat(9000) } };
    const first = await svc.api("POST", `/v1/runs/${runId}/steps`, { key: "echo", action });
    assert.equal(first.body.result.text.length, 9000);
    const [journaled] = (await svc.api("GET", `/v1/runs/${runId}/steps`)).body;
    assert.ok(journaled.output.$externalized.includes("result"));
    const replay = await svc.api("POST", `/v1/runs/${runId}/steps`, { key: "echo", action });
    assert.equal(replay.body.replayed, true);
    assert.deepEqual(replay.body.result, first.body.result);
  });

  it("keep small values inline in the journal", async () => {
    const runId = await clientRun();
    await svc.api("POST", `/v1/runs/${runId}/steps`, {
      key: "small",
      action: { type: "codemode", code: "return 'x'.repeat(100)" },
    });
    const [journaled] = (await svc.api("GET", `/v1/runs/${runId}/steps`)).body;
    assert.equal(journaled.output.result, "x".repeat(100));
    assert.equal(journaled.output.$externalized, undefined);
  });
});

describe("a failing script", () => {
  it("is a journaled value with the policy's resolved limits in the audit, never a thrown error", async () => {
    const runId = await clientRun();
    const r = await svc.api("POST", `/v1/runs/${runId}/steps`, {
      key: "loop",
      action: { type: "codemode", code: "for (;;) {}", limits: { timeoutMs: 50 } },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "timeout");
    assert.equal(r.body.failure.retryable, true);
    const [journaled] = (await svc.api("GET", `/v1/runs/${runId}/steps`)).body;
    assert.equal(journaled.status, "failed");
    assert.equal(journaled.audit.resolved.limits.timeoutMs, 50);
    assert.equal(journaled.audit.tenant, "local");
  });
});

describe("a one-off execution without an Idempotency-Key", () => {
  it("ends its implicit run in the transaction of its step's end (none after it)", async () => {
    const ok = await svc.api("POST", "/v1/executions", { sandbox: "codemode", code: "return 6 * 7" });
    const failing = await svc.api("POST", "/v1/executions", {
      sandbox: "codemode",
      code: "throw new Error('no')",
    });
    assert.equal(ok.body.status, "succeeded", JSON.stringify(ok.body));
    assert.equal(failing.body.status, "failed", JSON.stringify(failing.body));
    const done = await svc.services.store.getRunById(ok.body.runId as string);
    assert.equal(done?.status, "succeeded");
    assert.equal(done?.output, 42);
    const failed = await svc.services.store.getRunById(failing.body.runId as string);
    assert.equal(failed?.status, "failed");
    assert.equal(failed?.failure?.kind, failing.body.failure.kind);
    // The run's update rode in the end's commit: one transaction for the claim, one for the end, and no
    // separate update of the run afterwards (which an `ended` flag left false would write).
    await svc.api("POST", "/v1/executions", { sandbox: "codemode", code: "return 1" }); // warm
    const before = svc.services.store.counters().transactions;
    const again = await svc.api("POST", "/v1/executions", { sandbox: "codemode", code: "return 2" });
    assert.equal(again.body.result, 2);
    assert.equal(svc.services.store.counters().transactions - before, 2);
  });
});
