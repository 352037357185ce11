// Unit tests of what the inspector derives from a journal: counts, remediation links, text matching.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunRecord, StepRecord } from "../../store/records.ts";
import { matchesText, remediationSource, summarizeRun } from "./run-summary.ts";
import { usageRows } from "./usage-limits.ts";

const run: RunRecord = {
  id: "run_1",
  tenant: "local",
  mode: "hosted",
  status: "failed",
  goal: "Plot the CSV",
  policy: "default",
  policyVersion: null,
  metadata: { team: "finance" },
  tools: null,
  model: null,
  output: null,
  failure: { kind: "out_of_memory", layer: "infrastructure", message: "oom", retryable: true },
  waitingFor: null,
  iterations: 2,
  implicit: false,
  origin: "hosted",
  idempotencyKey: null,
  createdAt: 1_000,
  updatedAt: 4_000,
  leaseOwner: null,
  leaseExpiresAt: null,
  parentRunId: null,
  forkedAtSeq: null,
  forkReplace: null,
};

function step(seq: number, extra: Partial<StepRecord> = {}): StepRecord {
  return {
    runId: "run_1",
    seq,
    key: `k${seq}`,
    kind: "container",
    status: "succeeded",
    attempt: 1,
    input: null,
    output: null,
    failure: null,
    cached: false,
    startedAt: 1_000,
    endedAt: 1_100,
    usage: null,
    remediation: null,
    audit: null,
    owner: null,
    heartbeatAt: null,
    replayedFrom: null,
    ...extra,
  };
}

describe("run summary", () => {
  it("counts steps, failures and remediations, and times a finished run to its last update", () => {
    const steps = [step(1, { status: "failed" }), step(2, { remediation: { afterSeq: 1 } })];
    assert.deepEqual(summarizeRun(run, steps, 99_000), {
      steps: 2,
      failures: 1,
      remediations: 1,
      durationMs: 3_000,
      finished: true,
      lastActivityAt: 4_000,
      abandoned: false,
      tokens: { input: 0, output: 0 },
      costUsd: null,
    });
    assert.equal(summarizeRun({ ...run, status: "running" }, steps, 9_000).durationMs, 8_000);
  });

  it("marks a client-driven run idle past the deadline abandoned, and sums model tokens and cost", () => {
    const client = { ...run, mode: "client" as const, origin: "client" as const, status: "running" as const };
    const ended = [step(1), step(2, { endedAt: 5_000 })];
    const last = Math.max(client.updatedAt, 5_000);
    assert.equal(summarizeRun(client, ended, last + 1_000, 60_000).abandoned, false);
    assert.equal(summarizeRun(client, ended, last + 61_000, 60_000).abandoned, true);
    // A step still running is not idleness, and a hosted run is never abandoned.
    const open = [...ended, step(9, { status: "started", endedAt: null })];
    assert.equal(summarizeRun(client, open, last + 61_000, 60_000).abandoned, false);
    assert.equal(summarizeRun({ ...client, mode: "hosted" }, ended, last + 61_000, 60_000).abandoned, false);
    const llm = [
      step(1, { kind: "llm", usage: { inputTokens: 100, outputTokens: 20, costUsd: 0.01 } }),
      step(8, { kind: "llm", usage: { inputTokens: 50, outputTokens: 5 } }),
    ];
    const sum = summarizeRun(client, llm, last, 60_000);
    assert.deepEqual(sum.tokens, { input: 150, output: 25 });
    assert.equal(sum.costUsd, 0.01);
  });

  it("links a remediation only to an earlier step", () => {
    assert.equal(remediationSource(step(3, { remediation: { afterSeq: 2 } })), 2);
    assert.equal(remediationSource(step(3, { remediation: { fromSeq: 1 } })), 1);
    assert.equal(remediationSource(step(3, { remediation: { afterSeq: 5 } })), null);
    assert.equal(remediationSource(step(3)), null);
  });

  it("matches text in the goal, id, failure kind and metadata, ignoring case", () => {
    assert.ok(matchesText(run, "plot"));
    assert.ok(matchesText(run, "OUT_OF_MEMORY"));
    assert.ok(matchesText(run, "finance"));
    assert.ok(!matchesText(run, "billing"));
  });

  it("pairs usage with the limit the policy resolved, else the requested one", () => {
    const s = step(1, {
      usage: { memoryPeakMb: 120, wallMs: 50 },
      input: { limits: { memoryMb: 64, timeoutMs: 1000 } },
      audit: { resolved: { memoryMb: 128 } },
    });
    const rows = usageRows(s);
    assert.deepEqual(
      rows.find((r) => r.label === "Memory peak"),
      {
        label: "Memory peak",
        used: 120,
        limit: 128,
        unit: "MiB",
        limitSource: "policy",
      },
    );
    assert.equal(rows.find((r) => r.label === "Wall time")?.limitSource, "request");
  });
});
