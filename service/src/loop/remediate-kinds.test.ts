// The policy's remedy per failure kind: more memory, a bigger disk, or none (the model decides).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeFailure } from "@mend/wire";
import { BASE_POLICY } from "../policy/builtin-policy.ts";
import type { Policy } from "../policy/policy-schema.ts";
import type { ActionSpec } from "../engine/step-action.ts";
import { nextRemediation } from "./remediate.ts";

const policy = {
  ...BASE_POLICY,
  name: "t",
  version: "1",
  remediation: {
    ...BASE_POLICY.remediation,
    out_of_memory: { retries: 1, memoryMultiplier: 2 },
    disk_full: { retries: 1, diskMultiplier: 2 },
  },
} as Policy;
const job: ActionSpec = {
  type: "container",
  image: "python",
  code: "print(1)",
  limits: { diskMb: 16 },
};
const noRandom = () => 0.5;

describe("the policy's remedy for each kind", () => {
  it("answers disk_full with a bigger workspace, not the same job again", () => {
    const failure = makeFailure("disk_full", "full", true, { limits: { diskMb: 16 } });
    const r = nextRemediation(policy, job, failure, 1, 3, noRandom);
    assert.equal(r?.record.action, "increase_disk");
    assert.equal((r?.action as { limits: { diskMb: number } }).limits.diskMb, 32);
    assert.equal(r?.record.afterSeq, 3);
    assert.equal(nextRemediation(policy, job, failure, 2, 3, noRandom), null, "one retry, as the rule says");
  });

  it("answers out_of_memory with more memory", () => {
    const failure = makeFailure("out_of_memory", "oom", true, { limits: { memoryMb: 64 } });
    const r = nextRemediation(policy, job, failure, 1, 1, noRandom);
    assert.equal(r?.record.action, "increase_memory");
    assert.equal((r?.action as { limits: { memoryMb: number } }).limits.memoryMb, 128);
  });

  it("leaves a non-retryable out_of_memory to the model: more memory cannot help it", () => {
    // A code-mode heap that outgrew its worker below the script's own limit (fragmentedHeapFailure).
    const failure = makeFailure("out_of_memory", "outgrew its worker", false, { limits: { memoryMb: 33 } });
    assert.equal(
      nextRemediation(policy, { type: "codemode", code: "return 1" }, failure, 1, 1, noRandom),
      null,
    );
  });

  it("never answers pids_limit with more memory: without a rule of its own it goes to the model", () => {
    const failure = makeFailure("pids_limit", "fork bomb", false, {
      limits: { pids: 16 },
      remedy: { action: "reduce_parallelism" },
    });
    assert.equal(nextRemediation(policy, job, failure, 1, 1, noRandom), null);
  });
});
