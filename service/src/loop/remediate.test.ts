// The remediation schedule for engine loss: a short first retry, later ones spanning the outage window.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeFailure } from "@mend/wire";
import { BASE_POLICY } from "../policy/builtin-policy.ts";
import type { Policy } from "../policy/policy-schema.ts";
import type { ActionSpec } from "../engine/step-action.ts";
import { nextRemediation, outageDelayMs } from "./remediate.ts";

const policy = { ...BASE_POLICY, name: "t", version: 1 } as unknown as Policy;
const action = { type: "container", image: "python", code: "print(1)" } as unknown as ActionSpec;

void describe("outageMs", () => {
  it("first retry short, later ones growing to cover the window", () => {
    const delays = [1, 2, 3].map((a) => outageDelayMs(200, 3, 10_000, a));
    assert.equal(delays[0], 200);
    assert.ok(delays[1]! > delays[0] * 2 && delays[2]! > delays[1]!, String(delays));
    const total = delays.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 10_000) <= 3, `sum ${total}`);
  });

  it("never grows slower than doubling when the window is short", () => {
    assert.deepEqual(
      [1, 2, 3].map((a) => outageDelayMs(200, 3, 500, a)),
      [200, 400, 800],
    );
  });

  it("the built-in policy retries container_lost and sandbox_unavailable on that schedule", () => {
    for (const kind of ["container_lost", "sandbox_unavailable"] as const) {
      const failure = makeFailure(kind, "lost", true);
      const d = [1, 2, 3].map((a) => nextRemediation(policy, action, failure, a, 5)!.delayMs);
      assert.equal(d[0], 200);
      assert.ok(d.reduce((a, b) => a + b, 0) >= 9_990, String(d));
      assert.equal(nextRemediation(policy, action, failure, 4, 5), null);
    }
  });
});
