// Store conformance, part 7: claims that end the step too (NewStep.end, a checkpoint's value): one write
// for the claim, the end and both events; a finished key untouched; a re-claimed key ended as attempt + 1;
// a quota refusal that writes nothing.
import assert from "node:assert/strict";
import type { NewStep } from "../store.ts";
import { QuotaExceededError } from "../store-errors.ts";
import { newRun, rejection, type SuiteContext } from "./conformance-kit.ts";

const STARTED = (s: { seq: number; attempt: number }) => ({
  type: "step.started",
  data: { seq: s.seq, attempt: s.attempt },
});

/** A claim of `key` that ends it with `value` (as a checkpoint is journaled). */
function recorded(runId: string, key: string, value: unknown): NewStep {
  return {
    runId,
    key,
    kind: "checkpoint",
    input: { key },
    audit: { tenant: "t1" },
    announce: STARTED,
    end: {
      status: "succeeded",
      output: { value },
      failure: null,
      usage: null,
      announce: (s) => ({ type: "step.completed", data: { seq: s.seq, status: s.status } }),
    },
  };
}

export function stepEndSuite({ t, test }: SuiteContext): void {
  t.describe("claims that end the step", () => {
    test("claim a new key ended, with its started and completed events in order", async (s) => {
      await newRun(s, "run_a");
      await s.claimStep({ runId: "run_a", key: "first", kind: "tool", input: null });
      const before = Date.now();
      const c = await s.claimStep(recorded("run_a", "cp", 42));
      assert.equal(c.kind, "claimed");
      if (c.kind !== "claimed") return;
      assert.equal(c.previousAttempt, null);
      const st = c.step;
      assert.deepEqual(
        [st.seq, st.key, st.kind, st.status, st.attempt, st.output, st.failure],
        [2, "cp", "checkpoint", "succeeded", 1, { value: 42 }, null],
      );
      assert.ok(st.endedAt !== null && st.endedAt >= before && st.startedAt >= before);
      assert.deepEqual(st.audit, { tenant: "t1" });
      assert.deepEqual(await s.getStep("run_a", "cp"), st);
      const events = await s.listEvents("run_a", 0);
      assert.deepEqual(
        events.map((e) => [e.type, e.data]),
        [
          ["step.started", { seq: 2, attempt: 1 }],
          ["step.completed", { seq: 2, status: "succeeded" }],
        ],
      );
      assert.deepEqual([c.announced?.id, c.endAnnounced?.id], [events[0]!.id, events[1]!.id]);
    });

    test("leave a finished key as it was: the journaled value wins", async (s) => {
      await newRun(s, "run_a");
      await s.claimStep(recorded("run_a", "cp", 1));
      const again = await s.claimStep(recorded("run_a", "cp", 2));
      assert.equal(again.kind, "finished");
      assert.deepEqual(again.step.output, { value: 1 });
      assert.equal((await s.listEvents("run_a", 0)).length, 2, "no event for the replay");
    });

    test("end an unfinished key as its next attempt", async (s) => {
      await newRun(s, "run_a");
      const first = await s.claimStep({
        runId: "run_a",
        key: "cp",
        kind: "checkpoint",
        input: { key: "cp" },
      });
      const c = await s.claimStep(recorded("run_a", "cp", 7));
      assert.equal(c.kind, "claimed");
      if (c.kind !== "claimed") return;
      assert.equal(c.previousAttempt?.attempt, 1);
      assert.deepEqual(
        [c.step.seq, c.step.attempt, c.step.status, c.step.output],
        [first.step.seq, 2, "succeeded", { value: 7 }],
      );
      assert.deepEqual(await s.getStep("run_a", "cp"), c.step);
      assert.deepEqual(
        (await s.listEvents("run_a", 0)).map((e) => e.type),
        ["step.started", "step.completed"],
      );
    });

    test("refuse an end past the journal quota, writing nothing", async (s) => {
      await newRun(s, "run_a");
      await s.setQuota("t1", { journalBytes: 200, blobBytes: null });
      const e = await rejection(s.claimStep(recorded("run_a", "cp", "x".repeat(300))));
      assert.ok(e instanceof QuotaExceededError, `expected QuotaExceededError, got ${String(e)}`);
      assert.equal(await s.getStep("run_a", "cp"), null, "no step");
      assert.deepEqual(await s.listEvents("run_a", 0), [], "no event");
      assert.equal((await s.usage("t1")).journalBytes, 0, "nothing counted");
    });
  });
}
