// Hosted runs survive their model provider's outages: durable backoff while it fails, a human when it
// refuses or stays down past the policy, POST /v1/runs/{id}/resume for failed and waiting runs.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startOutageLlm, type OutageLlm } from "../support/outage-llm.ts";
import { call } from "../support/http-json.ts";

function policyDir(remediation: string, budgets: string): string {
  const dir = mkdtempSync(join(tmpdir(), "mend-outage-policies-"));
  writeFileSync(
    join(dir, "default.yaml"),
    `name: default\ntools:\n  allow: [echo]\nremediation:\n  llm_failed: ${remediation}\nbudgets: ${budgets}\n`,
  );
  return dir;
}

let model: OutageLlm;
let quick: ServiceProcess;
let patient: ServiceProcess;
before(async () => {
  model = await startOutageLlm();
  const llm = { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: model.llm.url, MEND_LLM_MODEL: "fake" };
  // Backs off 100 ms, 200 ms, ... and asks a human after 3 retries.
  quick = await startService({
    ...llm,
    MEND_POLICIES_DIR: policyDir(
      "{ retries: 3, backoffMs: 100 }",
      "{ outageMs: 600000, onExhausted: ask_human }",
    ),
  });
  // Backs off a minute (so only a resume calls the model sooner) and fails where others would ask.
  patient = await startService({
    ...llm,
    MEND_POLICIES_DIR: policyDir(
      "{ retries: 10, backoffMs: 60000 }",
      "{ outageMs: 600000, onExhausted: fail }",
    ),
  });
});
after(async () => {
  await Promise.all([quick?.stop(), patient?.stop()]);
  await model?.close();
});

async function hostedRun(svc: ServiceProcess, goal: string): Promise<string> {
  const r = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

/** Polls the run until `done` says so (no timing thresholds: the test runner's timeout bounds it). */
async function until(svc: ServiceProcess, id: string, done: (run: any) => boolean): Promise<any> {
  for (;;) {
    const run = (await call(svc.url, "GET", `/v1/runs/${id}`)).body;
    if (done(run)) return run;
    await new Promise((r) => setTimeout(r, 40));
  }
}
const finished = (run: any) => ["succeeded", "failed", "cancelled", "waiting_for_input"].includes(run.status);
const llmSteps = async (svc: ServiceProcess, id: string) =>
  ((await call(svc.url, "GET", `/v1/runs/${id}/steps`)).body as any[]).filter((s) => s.kind === "llm");

describe("a hosted run whose model provider fails", () => {
  it("backs off durably (running, retryAt) through 429s, 5xx and malformed answers, then finishes by itself", async () => {
    model.set("outage-recovers", "down");
    const id = await hostedRun(quick, "outage-recovers");
    const backingOff = await until(quick, id, (r) => r.retryAt !== undefined && r.retrying.attempts >= 8);
    assert.equal(backingOff.status, "running");
    assert.equal(backingOff.waitingFor, undefined, "the backoff is not a request to a human");
    assert.equal(backingOff.retrying.failure.kind, "llm_failed");
    assert.equal(backingOff.retrying.failure.retryable, true);
    model.set("outage-recovers", "up");
    const run = await until(quick, id, finished);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.output, "done after the outage");
    assert.equal(run.retryAt, undefined);
    const failed = (await llmSteps(quick, id)).filter((s) => s.status === "failed");
    assert.ok(failed.length >= 2, "each failed call is a journaled LLM step");
    for (const s of failed) {
      // Provider-level retries are on the step: one entry per retried attempt, with status and reason.
      assert.equal(s.failure.attempts, 4);
      assert.match(s.failure.message, /failed 4 calls in a row/);
      assert.equal(s.failure.retries.length, 3);
      assert.equal(s.usage.attempts, 4);
    }
    const reasons = failed.flatMap((s) => s.failure.retries.map((r: { reason: string }) => r.reason));
    assert.ok(
      reasons.includes(
        "malformed response: the provider answered with no choices (an empty `choices` array: no message to read)",
      ),
    );
    const limited = failed
      .flatMap((s) => s.failure.retries)
      .find((r: { status?: number }) => r.status === 429);
    assert.equal(limited.retryAfterMs, 0, "the provider's Retry-After is recorded");
    assert.ok(failed.some((s) => /iter-1\/llm\/retry-\d+/.test(s.key)));
  });

  it("asks a human once the policy's retries are spent, and goes on with the next call after the answer", async () => {
    model.set("outage-persists", "down");
    const id = await hostedRun(quick, "outage-persists");
    const waiting = await until(quick, id, finished);
    assert.equal(waiting.status, "waiting_for_input", JSON.stringify(waiting));
    assert.equal(waiting.waitingFor.kind, "llm_unavailable");
    // 4 steps (the first call and 3 retries), each of 4 provider calls: the message says so.
    assert.match(waiting.waitingFor.question, /16 calls in 4 steps/);
    assert.equal(waiting.waitingFor.attempts, 16);
    assert.equal((await llmSteps(quick, id)).length, 4);
    model.set("outage-persists", "up");
    assert.equal((await call(quick.url, "POST", `/v1/runs/${id}/input`, { input: "try again" })).status, 200);
    const run = await until(quick, id, (r) => r.status !== "running" && r.status !== "waiting_for_input");
    assert.equal(run.status, "succeeded", JSON.stringify(run));
  });

  it("pauses a refused request (401) in waiting_for_input after one call, and resumes it with POST /resume", async () => {
    model.set("refused-key", "refusing");
    const id = await hostedRun(quick, "refused-key");
    const waiting = await until(quick, id, finished);
    assert.equal(waiting.status, "waiting_for_input", JSON.stringify(waiting));
    assert.equal(waiting.waitingFor.kind, "llm_rejected");
    assert.match(waiting.waitingFor.question, /HTTP 401/);
    assert.match(waiting.waitingFor.question, /MEND_LLM_API_KEY/);
    assert.equal(model.llm.seen("refused-key").length, 1, "a refusal is not retried");
    const steps = await llmSteps(quick, id);
    assert.equal(steps.length, 1, "one LLM step for one call");
    assert.equal(steps[0].failure.attempts, 1);
    assert.doesNotMatch(steps[0].failure.message, /after \d+ attempt/);
    model.set("refused-key", "up");
    const resumed = await call(quick.url, "POST", `/v1/runs/${id}/resume`);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.status, "running");
    const run = await until(quick, id, (r) => r.status !== "running");
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const journal = (await call(quick.url, "GET", `/v1/runs/${id}/steps`)).body as any[];
    assert.ok(
      journal.some((s) => s.key === "resume-1" && s.kind === "human"),
      "the resume is journaled",
    );
  });

  it("calls the model at once when a run backing off is resumed, long before its retryAt", async () => {
    model.set("resume-now", "down");
    const id = await hostedRun(patient, "resume-now");
    const backingOff = await until(patient, id, (r) => r.retryAt !== undefined);
    const retryAt = Date.parse(backingOff.retryAt);
    const page = await (await fetch(`${patient.url}/ui/runs/${id}`)).text();
    assert.match(page, /id="run-retrying"/, "the inspector shows the backoff");
    assert.match(page, /data-api="resume"[\s\S]*Retry the model now/);
    model.set("resume-now", "up");
    assert.equal((await call(patient.url, "POST", `/v1/runs/${id}/resume`)).status, 200);
    const run = await until(patient, id, (r) => r.status !== "running");
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.ok(Date.parse(run.updatedAt) < retryAt, "finished before the backoff would have ended");
  });

  it("fails a refused run under onExhausted: fail, and POST /resume continues it from there", async () => {
    model.set("refused-then-fixed", "refusing");
    const id = await hostedRun(patient, "refused-then-fixed");
    const failed = await until(patient, id, (r) => r.status !== "running");
    assert.equal(failed.status, "failed", JSON.stringify(failed));
    assert.equal(failed.failure.kind, "llm_failed");
    assert.match(failed.failure.message, /refused the request/);
    assert.match(
      await (await fetch(`${patient.url}/ui/runs/${id}`)).text(),
      /data-api="resume"[\s\S]*Resume run/,
    );
    model.set("refused-then-fixed", "up");
    const resumed = await call(patient.url, "POST", `/v1/runs/${id}/resume`);
    assert.equal(resumed.body.status, "running");
    const run = await until(patient, id, (r) => r.status !== "running");
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.failure, undefined);
    const again = await call(patient.url, "POST", `/v1/runs/${id}/resume`);
    assert.equal(again.status, 409, "a succeeded run does not resume");
  });
});
