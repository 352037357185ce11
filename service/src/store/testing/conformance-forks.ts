// Store conformance, part 4: forks (forkRun) — the parent's finished steps before the fork point copied in
// one transaction as replayed entries, lineage, idempotency, tenant scoping, listing a run's forks.
import assert from "node:assert/strict";
import type { NewFork, Store } from "../store.ts";
import { NotFoundError } from "../store-errors.ts";
import { newRun, rejection, type SuiteContext } from "./conformance-kit.ts";

/** A parent run_p of tenant t1 with steps a (succeeded), b (failed), c (started, never ended), d, e. */
async function parentWithSteps(s: Store): Promise<void> {
  await newRun(s, "run_p", { mode: "hosted", goal: "g", model: { name: "m1" } });
  for (const key of ["a", "b", "c", "d", "e"]) {
    const c = await s.claimStep({ runId: "run_p", key, kind: "codemode", input: { key } });
    if (c.kind !== "claimed" || key === "c") continue;
    await s.endStep("run_p", c.step.seq, {
      status: key === "b" ? "failed" : "succeeded",
      output: { out: key, blob: { $blob: "sha256-of-" + key } },
      failure: key === "b" ? { kind: "timeout", layer: "code", message: "slow", retryable: true } : null,
      usage: { wallMs: 1 },
    });
  }
  await s.recordToolCall({
    runId: "run_p",
    stepSeq: 1,
    seq: 1,
    tool: "echo",
    argsJson: "{}",
    occurrence: 0,
    status: "succeeded",
    output: { x: 1 },
    failure: null,
    ms: 1,
    cached: false,
  });
  await s.recordToolCall({
    runId: "run_p",
    stepSeq: 4,
    seq: 1,
    tool: "echo",
    argsJson: "{}",
    occurrence: 0,
    status: "succeeded",
    output: { x: 4 },
    failure: null,
    ms: 1,
    cached: false,
  });
}

const fork = (extra: Partial<NewFork> = {}): NewFork => ({
  id: "run_f",
  tenant: "t1",
  mode: "hosted",
  goal: "another goal",
  implicit: false,
  model: { name: "m2" },
  parentRunId: "run_p",
  atSeq: 4,
  ...extra,
});

export function forksSuite({ t, test }: SuiteContext): void {
  t.describe("forks", () => {
    test("copies the finished steps before atSeq as replayed entries; the parent is unchanged", async (s) => {
      await parentWithSteps(s);
      const parentBefore = await s.listSteps("run_p");
      const { run, created, copied } = await s.forkRun(fork());
      assert.equal(created, true);
      assert.equal(copied, 2, "a and b: c never finished, d is the fork point");
      assert.deepEqual(
        [run.id, run.status, run.parentRunId, run.forkedAtSeq, run.goal, run.model],
        ["run_f", "running", "run_p", 4, "another goal", { name: "m2" }],
      );
      const steps = await s.listSteps("run_f");
      assert.deepEqual(
        steps.map((x) => [x.seq, x.key, x.status, x.replayedFrom]),
        [
          [1, "a", "succeeded", { runId: "run_p", seq: 1 }],
          [2, "b", "failed", { runId: "run_p", seq: 2 }],
        ],
      );
      for (const [i, st] of steps.entries()) {
        const p = parentBefore[i]!;
        assert.deepEqual(
          [st.input, st.output, st.failure, st.usage, st.attempt, st.startedAt, st.endedAt],
          [p.input, p.output, p.failure, p.usage, p.attempt, p.startedAt, p.endedAt],
        );
        assert.equal(st.runId, "run_f");
      }
      assert.deepEqual(await s.listSteps("run_p"), parentBefore, "the parent's journal is not touched");
      assert.ok(parentBefore.every((x) => x.replayedFrom === null));
      assert.equal((await s.getRunById("run_p"))!.parentRunId, null);
      // The copied code-mode step keeps its tool calls; a step at or after the fork point's are not copied.
      assert.deepEqual(
        (await s.listToolCalls("run_f", 1)).map((c) => [c.tool, c.output]),
        [["echo", { x: 1 }]],
      );
      assert.deepEqual(await s.listToolCalls("run_f", 4), []);
      const events = await s.listEvents("run_f", 0);
      assert.deepEqual(
        events.map((e) => [e.type, e.data]),
        [["run.forked", { parentRunId: "run_p", forkedAtSeq: 4, copiedSteps: 2 }]],
      );
      // A new step of the fork follows the copies; a copied key replays as finished.
      const next = await s.claimStep({ runId: "run_f", key: "d", kind: "codemode", input: { key: "d2" } });
      assert.equal(next.kind, "claimed");
      assert.equal(next.step.seq, 3);
      assert.equal(next.step.replayedFrom, null);
      const again = await s.claimStep({ runId: "run_f", key: "a", kind: "codemode", input: null });
      assert.equal(again.kind, "finished");
    });

    test("a fork of a fork keeps its lineage: replayed steps name the run that executed them", async (s) => {
      await parentWithSteps(s);
      await s.forkRun(fork());
      const c = await s.claimStep({ runId: "run_f", key: "d", kind: "codemode", input: null });
      await s.endStep("run_f", c.step.seq, { status: "succeeded", output: 1, failure: null, usage: null });
      const { run, copied } = await s.forkRun(fork({ id: "run_g", parentRunId: "run_f", atSeq: 10 }));
      assert.equal(copied, 3);
      assert.deepEqual([run.parentRunId, run.forkedAtSeq], ["run_f", 10]);
      assert.deepEqual(
        (await s.listSteps("run_g")).map((x) => [x.seq, x.key, x.replayedFrom]),
        [
          [1, "a", { runId: "run_p", seq: 1 }],
          [2, "b", { runId: "run_p", seq: 2 }],
          [3, "d", { runId: "run_f", seq: 3 }],
        ],
      );
    });

    test("keeps the edited step; atSeq 1 copies nothing", async (s) => {
      await parentWithSteps(s);
      const replace = { seq: 1, key: "a", input: { type: "tool", tool: "echo", args: { n: 2 } } };
      const { run, copied } = await s.forkRun(fork({ atSeq: 1, replace, mode: "client" }));
      assert.equal(copied, 0);
      assert.deepEqual([run.mode, run.forkReplace], ["client", replace]);
      assert.deepEqual(await s.listSteps("run_f"), []);
      assert.deepEqual((await s.getRunById("run_f"))!.forkReplace, replace);
    });

    test("an idempotency key returns the first fork and copies nothing again", async (s) => {
      await parentWithSteps(s);
      const first = await s.forkRun(fork({ idempotencyKey: "k" }));
      const second = await s.forkRun(fork({ id: "run_other", idempotencyKey: "k", atSeq: 2 }));
      assert.equal(second.created, false);
      assert.deepEqual(second.run, first.run);
      assert.equal(await s.getRunById("run_other"), null);
      assert.equal((await s.listSteps("run_f")).length, 2);
      assert.equal((await s.listEvents("run_f", 0)).length, 1);
    });

    test("refuses a parent of another tenant or none, writing nothing", async (s) => {
      await parentWithSteps(s);
      assert.ok((await rejection(s.forkRun(fork({ tenant: "t2" })))) instanceof NotFoundError);
      assert.ok((await rejection(s.forkRun(fork({ parentRunId: "run_none" })))) instanceof NotFoundError);
      assert.equal(await s.getRunById("run_f"), null);
      assert.deepEqual(await s.listSteps("run_f"), []);
      assert.deepEqual(await s.listEvents("run_f", 0), []);
    });

    test("listRuns with parentRunId lists a run's forks, of the tenant only", async (s) => {
      await parentWithSteps(s);
      await newRun(s, "run_x");
      await s.forkRun(fork({ id: "run_f1" }));
      await s.forkRun(fork({ id: "run_f2", atSeq: 2 }));
      await s.forkRun(fork({ id: "run_g", parentRunId: "run_f1" }));
      const forks = await s.listRuns("t1", { limit: 10, parentRunId: "run_p" });
      assert.deepEqual(forks.items.map((r) => r.id).sort(), ["run_f1", "run_f2"]);
      const page = await s.listRuns("t1", { limit: 1, parentRunId: "run_p" });
      assert.equal(page.items.length, 1);
      const rest = await s.listRuns("t1", { limit: 1, parentRunId: "run_p", cursor: page.nextCursor! });
      assert.deepEqual([...page.items, ...rest.items].map((r) => r.id).sort(), ["run_f1", "run_f2"]);
      assert.deepEqual((await s.listRuns("t2", { limit: 10, parentRunId: "run_p" })).items, []);
      assert.equal((await s.listRuns("t1", { limit: 10 })).items.length, 5);
    });
  });
}
