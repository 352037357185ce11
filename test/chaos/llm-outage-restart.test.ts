// kill -9 while a hosted run backs off from a model outage: after restart the run resumes its backoff by
// itself (nothing is asked of anyone) and finishes once the provider is back, each answered turn seen once.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startOutageLlm, type OutageLlm } from "../support/outage-llm.ts";
import { call } from "../support/http-json.ts";

let svc: ServiceProcess | null = null;
let model: OutageLlm | null = null;
after(async () => {
  await svc?.stop("SIGKILL");
  await model?.close();
});

async function until(url: string, id: string, done: (run: any) => boolean): Promise<any> {
  for (;;) {
    const run = (await call(url, "GET", `/v1/runs/${id}`)).body;
    if (done(run)) return run;
    await new Promise((r) => setTimeout(r, 40));
  }
}

describe("a hosted run backing off from a model outage, killed with SIGKILL", () => {
  it("keeps backing off after the restart and finishes by itself when the provider is back", async () => {
    model = await startOutageLlm();
    const policies = mkdtempSync(join(tmpdir(), "mend-outage-kill-policies-"));
    writeFileSync(
      join(policies, "default.yaml"),
      "name: default\ntools:\n  allow: [echo]\nremediation:\n  llm_failed: { retries: 10, backoffMs: 200 }\n",
    );
    const env = {
      MEND_POLICIES_DIR: policies,
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: model.llm.url,
      MEND_LLM_MODEL: "fake",
    };
    svc = await startService(env);
    const dataDir = svc.dataDir;
    model.set("outage-kill", "down");
    const created = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal: "outage-kill" });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    const before = await until(svc.url, id, (r) => r.retryAt !== undefined && r.retrying.attempts >= 4);
    await svc.stop("SIGKILL");
    const failedBefore = before.retrying.attempts as number;

    svc = await startService(env, dataDir);
    const still = await until(
      svc.url,
      id,
      (r) => r.retryAt !== undefined && r.retrying.attempts > failedBefore,
    );
    assert.equal(still.status, "running", "after the restart the run backs off by itself, asking nobody");
    model.set("outage-kill", "up");
    const run = await until(svc.url, id, (r) => r.status !== "running");
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    // Each turn the model really answered (a chat completion, not an outage's malformed 200) was asked once.
    const answered = model.llm
      .seen("outage-kill")
      .filter((r) => r.status === 200 && r.reply !== undefined && !("raw" in r.reply))
      .map((r) => r.messageCount);
    assert.deepEqual(answered, [...new Set(answered)], "each answered turn was asked once");
    const steps = (await call(svc.url, "GET", `/v1/runs/${id}/steps`)).body as any[];
    const llm = steps.filter((s) => s.kind === "llm");
    assert.ok(llm.filter((s) => s.status === "failed").length >= 2);
    assert.equal(llm.filter((s) => s.status === "succeeded").length, 2, "two answered turns: echo, finish");
  });
});
