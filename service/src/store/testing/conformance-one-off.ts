// Store conformance, part 8: a one-off execution in two writes: its run created by its step's claim
// (NewStep.run), and the run's update and the deferred tool calls committed with the step's end
// (StepEnd.run, StepEnd.toolCalls) — all or nothing.
import assert from "node:assert/strict";
import type { NewRun } from "../store.ts";
import type { ToolCallRow } from "../records.ts";
import { FencedError } from "../store-errors.ts";
import { rejection, type SuiteContext } from "./conformance-kit.ts";

const RUN: NewRun = {
  id: "run_o",
  tenant: "t1",
  mode: "client",
  goal: null,
  implicit: true,
  origin: "one-off",
};

const call = (seq: number, text: string): ToolCallRow => ({
  runId: "run_o",
  stepSeq: 1,
  seq,
  tool: "echo",
  argsJson: JSON.stringify({ text }),
  occurrence: 1,
  status: "succeeded",
  output: { text },
  failure: null,
  ms: 1,
  cached: false,
});

export function oneOffSuite({ t, test }: SuiteContext): void {
  t.describe("one-off executions in two writes", () => {
    test("create the run with its step's claim; claimed again, the run is kept", async (s) => {
      const c = await s.claimStep({ runId: "run_o", key: "execution", kind: "codemode", input: 1, run: RUN });
      assert.equal(c.kind, "claimed");
      const run = await s.getRun("t1", "run_o");
      assert.deepEqual([run?.status, run?.implicit, run?.origin], ["running", true, "one-off"]);
      // A claim made again (its end was fenced out) finds the run and re-claims the step.
      const again = await s.claimStep({
        runId: "run_o",
        key: "execution",
        kind: "codemode",
        input: 1,
        run: RUN,
      });
      assert.equal(again.kind, "claimed");
      assert.equal(again.step.attempt, 2);
      assert.equal((await s.listRuns("t1", { limit: 10, includeImplicit: true })).items.length, 1);
    });

    test("end the step with its run's update and its deferred tool calls in one write", async (s) => {
      const c = await s.claimStep({ runId: "run_o", key: "execution", kind: "codemode", input: 1, run: RUN });
      assert.equal(c.kind, "claimed");
      await s.recordToolCall(call(1, "a")); // a call written as it settled, before the deferred ones
      const ended = await s.endStep("run_o", c.step.seq, {
        attempt: c.step.attempt,
        status: "succeeded",
        output: { result: "abc" },
        failure: null,
        usage: null,
        toolCalls: [call(2, "ab"), call(3, "abc")],
        run: { status: "succeeded", output: "abc" },
      });
      assert.equal(ended.status, "succeeded");
      const run = await s.getRun("t1", "run_o");
      assert.deepEqual([run?.status, run?.output], ["succeeded", "abc"]);
      const calls = await s.listToolCalls("run_o", c.step.seq);
      assert.deepEqual(
        calls.map((r) => [r.seq, r.output]),
        [
          [1, { text: "a" }],
          [2, { text: "ab" }],
          [3, { text: "abc" }],
        ],
      );
    });

    test("write nothing of a fenced end: no tool call, no run update", async (s) => {
      const c = await s.claimStep({ runId: "run_o", key: "execution", kind: "codemode", input: 1, run: RUN });
      assert.equal(c.kind, "claimed");
      await s.claimStep({ runId: "run_o", key: "execution", kind: "codemode", input: 1 }); // attempt 2
      const refused = await rejection(
        s.endStep("run_o", c.step.seq, {
          attempt: c.step.attempt,
          status: "succeeded",
          output: { result: 1 },
          failure: null,
          usage: null,
          toolCalls: [call(1, "a")],
          run: { status: "succeeded", output: 1 },
        }),
      );
      assert.ok(refused instanceof FencedError, String(refused));
      assert.equal((await s.getRun("t1", "run_o"))?.status, "running");
      assert.deepEqual(await s.listToolCalls("run_o", c.step.seq), []);
    });
  });
}
