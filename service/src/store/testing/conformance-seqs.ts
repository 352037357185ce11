// Store conformance: a run's steps are numbered 1, 2, 3… without gaps or repeats whichever connection claims
// them and whatever rolls back — the journal's order is its seq, and replay walks it.
import assert from "node:assert/strict";
import { newRun, rejection, type SuiteContext } from "./conformance-kit.ts";

export function seqsSuite({ t, test }: SuiteContext): void {
  t.describe("step numbering", () => {
    const seqs = async (s: Parameters<Parameters<SuiteContext["test"]>[1]>[0], runId: string) =>
      (await s.listSteps(runId)).map((x) => [x.seq, x.key]);
    const broken = () => {
      throw new Error("announce failed");
    };

    test("numbers claims taken in turn over two connections 1, 2, 3, 4", async (s, h) => {
      await newRun(s, "run_a");
      const other = await h.open();
      // Each connection's next claim follows the other's: what one remembers of the run is behind the table.
      for (const [i, store] of [s, other, s, other].entries())
        await store.claimStep({ runId: "run_a", key: `k${i}`, kind: "tool", input: null });
      assert.deepEqual(await seqs(s, "run_a"), [
        [1, "k0"],
        [2, "k1"],
        [3, "k2"],
        [4, "k3"],
      ]);
    });

    test("leaves no gap where a claim issued with others rolled back", async (s) => {
      await newRun(s, "run_a");
      // Issued in one turn: a store that batches writes runs them in one transaction, k2 in a savepoint.
      const results = await Promise.allSettled([
        s.claimStep({ runId: "run_a", key: "k1", kind: "tool", input: null }),
        s.claimStep({ runId: "run_a", key: "k2", kind: "tool", input: null, announce: broken }),
        s.claimStep({ runId: "run_a", key: "k3", kind: "tool", input: null }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      await s.claimStep({ runId: "run_a", key: "k4", kind: "tool", input: null });
      assert.deepEqual(await seqs(s, "run_a"), [
        [1, "k1"],
        [2, "k3"],
        [3, "k4"],
      ]);
    });

    test("leaves no gap where a claim alone in its transaction rolled back", async (s) => {
      await newRun(s, "run_a");
      await s.claimStep({ runId: "run_a", key: "k1", kind: "tool", input: null });
      const refused = await rejection(
        s.claimStep({ runId: "run_a", key: "k2", kind: "tool", input: null, announce: broken }),
      );
      assert.equal((refused as Error).message, "announce failed");
      await s.claimStep({ runId: "run_a", key: "k3", kind: "tool", input: null });
      assert.deepEqual(await seqs(s, "run_a"), [
        [1, "k1"],
        [2, "k3"],
      ]);
    });

    test("numbers a fork's own steps after the ones it copied", async (s) => {
      await newRun(s, "run_a");
      for (const k of ["a", "b", "c"]) {
        const c = await s.claimStep({ runId: "run_a", key: k, kind: "tool", input: null });
        await s.endStep("run_a", c.step.seq, {
          attempt: 1,
          status: "succeeded",
          output: null,
          failure: null,
          usage: null,
        });
      }
      const { run } = await s.forkRun({
        id: "run_f",
        tenant: "t1",
        mode: "client",
        goal: null,
        implicit: false,
        parentRunId: "run_a",
        atSeq: 3,
      });
      await s.claimStep({ runId: run.id, key: "d", kind: "tool", input: null });
      assert.deepEqual(await seqs(s, run.id), [
        [1, "a"],
        [2, "b"],
        [3, "d"],
      ]);
    });
  });
}
