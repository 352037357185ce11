// LLM stall detection end to end: a model that sends its headers and then nothing is abandoned after
// MEND_LLM_STALL_TIMEOUT_MS (short here) and asked again at once; the retry is journaled on the LLM step.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish, stall } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

let llm: FakeLlm;
let svc: ServiceProcess;
let policies: string;

before(async () => {
  // Turn 1 stalls once (headers, then silence), then answers; turn 2 finishes.
  llm = await startFakeLlm({
    script: (_req, turn, ctx) =>
      turn === 0
        ? ctx.attempt === 0
          ? stall()
          : callTool("echo", { text: "after the stall" })
        : finish(ctx.lastToolResult?.content ?? ""),
  });
  policies = mkdtempSync(join(tmpdir(), "mend-stall-policies-"));
  writeFileSync(join(policies, "default.yaml"), 'name: default\ntools:\n  allow: ["echo"]\n');
  svc = await startService({
    MEND_POLICIES_DIR: policies,
    MEND_LLM_PROVIDER: "openai",
    MEND_LLM_BASE_URL: llm.url,
    MEND_LLM_MODEL: "fake",
    MEND_LLM_STALL_TIMEOUT_MS: "500",
    // Far longer than the stall timeout: only the stall can end the silent attempt.
    MEND_LLM_TIMEOUT_MS: "600000",
  });
});
after(async () => {
  await svc?.stop();
  await llm?.close();
  if (policies) rmSync(policies, { recursive: true, force: true });
  if (svc) rmSync(svc.dataDir, { recursive: true, force: true });
});

describe("LLM stall detection", () => {
  it("abandons a call that sends headers and then nothing, retries it at once, and journals why", async () => {
    const r = await call(svc.url, "POST", "/v1/runs", {
      mode: "hosted",
      goal: "stall: echo once then finish",
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const deadline = Date.now() + 60_000;
    let run: any;
    for (;;) {
      run = (await call(svc.url, "GET", `/v1/runs/${r.body.id}`)).body;
      if (run.status !== "running") break;
      if (Date.now() > deadline) throw new Error(`run still running: ${JSON.stringify(run)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.match(String(run.output), /after the stall/);
    const steps = (await call(svc.url, "GET", `/v1/runs/${run.id}/steps`)).body as any[];
    const first = steps.find((s) => s.key === "iter-1/llm");
    // One LLM step: the stall was healed by the provider-level retry, inside the step.
    assert.equal(steps.filter((s) => s.key.startsWith("iter-1/llm")).length, 1);
    assert.equal(first.status, "succeeded");
    assert.equal(first.usage.attempts, 2);
    assert.equal(first.usage.retries.length, 1);
    const retry = first.usage.retries[0];
    assert.deepEqual([retry.attempt, retry.stalled, retry.delayMs], [1, true, 0]);
    assert.match(retry.reason, /stalled: nothing received from the provider for 500 ms/);
    const asked = llm.seen("stall: echo once").filter((x) => x.turn === 0);
    assert.deepEqual(
      asked.map((x) => [x.attempt, x.status, x.body?.stream]),
      [
        [0, 200, true],
        [1, 200, true],
      ],
    );
  });
});
