// Store conformance, part 2: the step journal (claim, re-claim, end, fencing, ownership), tool calls,
// checkpoints and events.
import assert from "node:assert/strict";
import type { StepEnd } from "../store.ts";
import { FencedError, NotFoundError, RunFinishedError } from "../store-errors.ts";
import { newRun, rejection, type SuiteContext } from "./conformance-kit.ts";

const OK: StepEnd = { status: "succeeded", output: { ok: 1 }, failure: null, usage: { wallMs: 2 } };
const AUDIT = { tenant: "t1", keyId: null, policy: "default" };

export function stepsSuite({ t, test }: SuiteContext): void {
  t.describe("step journal", () => {
    test("claims a new key as attempt 1 of a started step", async (s) => {
      await newRun(s, "run_a");
      const before = Date.now();
      const c = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "codemode",
        input: { code: "return 1", seed: 7 },
        remediation: { of: 1 },
        audit: AUDIT,
      });
      assert.equal(c.kind, "claimed");
      if (c.kind !== "claimed") return;
      assert.equal(c.previousAttempt, null);
      const st = c.step;
      assert.deepEqual(
        [st.runId, st.seq, st.key, st.kind, st.status, st.attempt],
        ["run_a", 1, "k", "codemode", "started", 1],
      );
      assert.deepEqual(st.input, { code: "return 1", seed: 7 });
      assert.deepEqual([st.remediation, st.audit], [{ of: 1 }, AUDIT]);
      assert.deepEqual(
        [st.output, st.failure, st.endedAt, st.usage, st.cached],
        [null, null, null, null, false],
      );
      assert.ok(st.startedAt >= before);
      assert.deepEqual(await s.getStep("run_a", "k"), st);
    });

    test("a claim guarded by activeRunOf writes only to the tenant's unfinished run", async (s) => {
      await newRun(s, "run_a");
      const cp = (key: string, tenant: string) =>
        s.claimStep({
          runId: "run_a",
          key,
          kind: "checkpoint",
          input: { key },
          activeRunOf: tenant,
          end: { status: "succeeded", output: { value: 1 }, failure: null, usage: null },
        });
      assert.equal((await cp("a", "t1")).kind, "claimed");
      assert.ok((await rejection(cp("b", "t2"))) instanceof NotFoundError, "another tenant's run");
      const missing = s.claimStep({
        runId: "run_none",
        key: "a",
        kind: "tool",
        input: null,
        activeRunOf: "t1",
      });
      assert.ok((await rejection(missing)) instanceof NotFoundError);
      await s.updateRun("run_a", { status: "cancelled" });
      const late = await rejection(cp("c", "t1"));
      assert.ok(late instanceof RunFinishedError);
      assert.equal(late.status, "cancelled");
      assert.ok((await rejection(cp("a", "t1"))) instanceof RunFinishedError, "even a journaled key");
      assert.deepEqual(
        (await s.listSteps("run_a")).map((x) => x.key),
        ["a"],
        "nothing else was written",
      );
    });

    test("numbers the steps of each run 1, 2, 3 in claim order", async (s) => {
      await newRun(s, "run_a");
      await newRun(s, "run_b");
      for (const k of ["a", "b", "c"])
        await s.claimStep({ runId: "run_a", key: k, kind: "tool", input: null });
      await s.claimStep({ runId: "run_b", key: "x", kind: "tool", input: null });
      assert.deepEqual(
        (await s.listSteps("run_a")).map((x) => [x.seq, x.key]),
        [
          [1, "a"],
          [2, "b"],
          [3, "c"],
        ],
      );
      assert.deepEqual(
        (await s.listSteps("run_b")).map((x) => x.seq),
        [1],
      );
      assert.deepEqual(await s.listSteps("run_none"), []);
      assert.equal(await s.getStep("run_a", "nope"), null);
    });

    test("re-claims an unfinished step as attempt + 1, keeping its first input and seq", async (s) => {
      await newRun(s, "run_a");
      const first = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: { n: 1 },
        audit: { a: 1 },
      });
      const again = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: { n: 2 },
        audit: { a: 2 },
      });
      assert.equal(again.kind, "claimed");
      if (again.kind !== "claimed") return;
      assert.equal(again.step.attempt, 2);
      assert.equal(again.step.seq, first.step.seq);
      assert.deepEqual(again.step.input, { n: 1 }, "the journaled seed and clock stay");
      assert.deepEqual(again.step.audit, { a: 2 });
      assert.deepEqual(again.previousAttempt, first.step);
      assert.equal((await s.listSteps("run_a")).length, 1);
    });

    test("re-claims an interrupted step and clears its previous outcome", async (s) => {
      await newRun(s, "run_a");
      const c = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
      const cut = await s.endStep("run_a", c.step.seq, {
        status: "interrupted",
        output: { partial: true },
        failure: { kind: "interrupted", layer: "infrastructure", message: "cut", retryable: true },
        usage: { wallMs: 1 },
      });
      assert.equal(cut.status, "interrupted");
      const again = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
      assert.equal(again.kind, "claimed");
      assert.deepEqual(
        [
          again.step.status,
          again.step.attempt,
          again.step.output,
          again.step.failure,
          again.step.endedAt,
          again.step.usage,
        ],
        ["started", 2, null, null, null, null],
      );
    });

    test("returns a finished step as is, whatever the claim says", async (s) => {
      await newRun(s, "run_a");
      for (const status of ["succeeded", "failed"] as const) {
        const c = await s.claimStep({ runId: "run_a", key: status, kind: "tool", input: { v: 1 } });
        const failure =
          status === "failed"
            ? { kind: "tool_failed" as const, layer: "tool" as const, message: "no", retryable: false }
            : null;
        const ended = await s.endStep("run_a", c.step.seq, { ...OK, status, failure, cached: true });
        const done = await s.claimStep({
          runId: "run_a",
          key: status,
          kind: "tool",
          input: { v: 2 },
          owner: "X",
        });
        assert.deepEqual(done, { kind: "finished", step: ended });
        assert.equal(ended.attempt, 1);
        assert.equal(ended.cached, true);
      }
    });

    test("rejects a claim for a run that does not exist with NotFoundError", async (s) => {
      assert.ok(
        (await rejection(s.claimStep({ runId: "run_x", key: "k", kind: "tool", input: null }))) instanceof
          NotFoundError,
      );
    });

    test("ends a step with its outcome and replaces the audit only when given", async (s) => {
      await newRun(s, "run_a");
      const c = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null, audit: AUDIT });
      const before = Date.now();
      const kept = await s.endStep("run_a", c.step.seq, OK);
      assert.deepEqual(
        [kept.status, kept.output, kept.usage, kept.audit],
        ["succeeded", { ok: 1 }, { wallMs: 2 }, AUDIT],
      );
      assert.ok(kept.endedAt! >= before);
      const c2 = await s.claimStep({ runId: "run_a", key: "k2", kind: "tool", input: null, audit: AUDIT });
      const merged = await s.endStep("run_a", c2.step.seq, {
        ...OK,
        audit: { ...AUDIT, resolved: { memoryMb: 64 } },
      });
      assert.deepEqual(merged.audit, { ...AUDIT, resolved: { memoryMb: 64 } });
      assert.deepEqual(await s.getStep("run_a", "k2"), merged);
    });

    test("rejects an end of a missing step with NotFoundError", async (s) => {
      await newRun(s, "run_a");
      assert.ok((await rejection(s.endStep("run_a", 9, OK))) instanceof NotFoundError);
      assert.ok((await rejection(s.endStep("run_x", 1, OK))) instanceof NotFoundError);
    });

    test("fences the end of a superseded attempt: FencedError, nothing written", async (s) => {
      await newRun(s, "run_a");
      const a1 = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
      const a2 = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
      assert.ok(
        (await rejection(s.endStep("run_a", a1.step.seq, { ...OK, attempt: 1 }))) instanceof FencedError,
      );
      assert.equal((await s.getStep("run_a", "k"))!.status, "started");
      const ended = await s.endStep("run_a", a2.step.seq, { ...OK, attempt: 2 });
      assert.equal(ended.status, "succeeded");
      assert.ok(
        (await rejection(s.endStep("run_a", a2.step.seq, { ...OK, attempt: 2 }))) instanceof FencedError,
        "ended once",
      );
      const c = await s.claimStep({ runId: "run_a", key: "cut", kind: "tool", input: null });
      await s.interruptStartedSteps();
      assert.ok(
        (await rejection(s.endStep("run_a", c.step.seq, { ...OK, attempt: 1 }))) instanceof FencedError,
      );
      assert.equal((await s.getStep("run_a", "cut"))!.status, "interrupted");
    });

    test("marks started steps interrupted on shutdown, only the owner's when named", async (s) => {
      await newRun(s, "run_a");
      await s.claimStep({ runId: "run_a", key: "a", kind: "tool", input: null, owner: "A" });
      await s.claimStep({ runId: "run_a", key: "b", kind: "tool", input: null, owner: "B" });
      const done = await s.claimStep({ runId: "run_a", key: "c", kind: "tool", input: null });
      await s.endStep("run_a", done.step.seq, OK);
      assert.equal(await s.interruptStartedSteps("A"), 1);
      assert.equal((await s.getStep("run_a", "a"))!.status, "interrupted");
      assert.equal((await s.getStep("run_a", "b"))!.status, "started");
      assert.equal(await s.interruptStartedSteps(), 1);
      const b = (await s.getStep("run_a", "b"))!;
      assert.equal(b.failure?.kind, "interrupted");
      assert.equal(b.failure?.retryable, true);
      assert.ok(b.endedAt !== null);
      assert.equal((await s.getStep("run_a", "c"))!.status, "succeeded");
      assert.equal(await s.interruptStartedSteps(), 0);
    });

    test("does not claim a step another live owner runs, and takes it over once its heartbeat lapses", async (s) => {
      await newRun(s, "run_a");
      const a = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: null,
        owner: "A",
        ownerTtlMs: 60_000,
      });
      assert.deepEqual([a.step.owner, typeof a.step.heartbeatAt], ["A", "number"]);
      const b = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: null,
        owner: "B",
        ownerTtlMs: 60_000,
      });
      assert.equal(b.kind, "owned");
      assert.equal(b.step.attempt, 1);
      const mine = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: null,
        owner: "A",
        ownerTtlMs: 60_000,
      });
      assert.deepEqual([mine.kind, mine.step.attempt], ["claimed", 2], "the owner itself re-claims");
      const lapsed = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: null,
        owner: "B",
        ownerTtlMs: -1,
      });
      assert.deepEqual([lapsed.kind, lapsed.step.attempt, lapsed.step.owner], ["claimed", 3, "B"]);
      const anon = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
      assert.deepEqual(
        [anon.kind, anon.step.attempt, anon.step.owner],
        ["claimed", 4, null],
        "no owner named: re-claimed",
      );
    });

    test("renews the heartbeat of its owner's started steps only", async (s) => {
      await newRun(s, "run_a");
      const a = await s.claimStep({ runId: "run_a", key: "a", kind: "tool", input: null, owner: "A" });
      await s.claimStep({ runId: "run_a", key: "b", kind: "tool", input: null, owner: "B" });
      const ended = await s.claimStep({ runId: "run_a", key: "c", kind: "tool", input: null, owner: "A" });
      await s.endStep("run_a", ended.step.seq, OK);
      const t0 = a.step.heartbeatAt!;
      while (Date.now() <= t0) await new Promise((r) => setTimeout(r, 1));
      assert.equal(await s.heartbeatSteps("A"), 1);
      assert.ok((await s.getStep("run_a", "a"))!.heartbeatAt! > t0);
      assert.equal(await s.heartbeatSteps("nobody"), 0);
    });

    test("claims one key sent concurrently over two connections into one row with distinct attempts", async (s, h) => {
      await newRun(s, "run_a");
      const other = await h.open();
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : s).claimStep({ runId: "run_a", key: "k", kind: "tool", input: { i } }),
        ),
      );
      assert.ok(claims.every((c) => c.kind === "claimed"));
      assert.deepEqual(
        claims.map((c) => c.step.attempt).sort((x, y) => x - y),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.equal(new Set(claims.map((c) => c.step.seq)).size, 1);
      const first = claims.find((c) => c.step.attempt === 1)!;
      assert.deepEqual((await s.getStep("run_a", "k"))!.input, first.step.input, "the first input stays");
    });

    test("lets exactly one of several live owners claim a key sent to them at once", async (s, h) => {
      await newRun(s, "run_a");
      const other = await h.open();
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : s).claimStep({
            runId: "run_a",
            key: "k",
            kind: "tool",
            input: null,
            owner: `R${i}`,
            ownerTtlMs: 60_000,
          }),
        ),
      );
      assert.equal(claims.filter((c) => c.kind === "claimed").length, 1);
      assert.equal(claims.filter((c) => c.kind === "owned").length, 7);
      assert.equal((await s.getStep("run_a", "k"))!.attempt, 1);
    });

    test("numbers concurrent claims of different keys without gaps or duplicates", async (s, h) => {
      await newRun(s, "run_a");
      const other = await h.open();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : s).claimStep({ runId: "run_a", key: `k${i}`, kind: "tool", input: null }),
        ),
      );
      assert.deepEqual(
        (await s.listSteps("run_a")).map((x) => x.seq),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });
  });

  t.describe("tool calls, checkpoints and events", () => {
    const call = (seq: number, extra: Record<string, unknown> = {}) => ({
      runId: "run_a",
      stepSeq: 1,
      seq,
      tool: "echo",
      argsJson: JSON.stringify({ text: `t${seq}` }),
      occurrence: 1,
      status: "succeeded" as const,
      output: { text: `t${seq}` },
      failure: null,
      ms: 1.5,
      cached: false,
      ...extra,
    });

    test("journals the tool calls of a step in order, one row per call", async (s) => {
      await newRun(s, "run_a");
      await s.recordToolCall(call(2));
      await s.recordToolCall(call(1, { cached: true }));
      await s.recordToolCall(call(1, { stepSeq: 2 }));
      const rows = await s.listToolCalls("run_a", 1);
      assert.deepEqual(rows, [call(1, { cached: true }), call(2)]);
      assert.equal((await s.listToolCalls("run_a", 2)).length, 1);
      assert.deepEqual(await s.listToolCalls("run_a", 3), []);
    });

    test("replaces the row of a tool call recorded again (same args and occurrence)", async (s) => {
      await newRun(s, "run_a");
      const failure = { kind: "tool_failed" as const, layer: "tool" as const, message: "x", retryable: true };
      await s.recordToolCall(call(1, { status: "failed", output: null, failure }));
      await s.recordToolCall(call(1));
      assert.deepEqual(await s.listToolCalls("run_a", 1), [call(1)]);
      const big = JSON.stringify({ text: "y".repeat(100_000) });
      await s.recordToolCall(call(2, { argsJson: big }));
      assert.equal((await s.listToolCalls("run_a", 1))[1]!.argsJson, big, "large arguments are kept exactly");
    });

    test("keeps the last checkpoint value per key", async (s) => {
      await newRun(s, "run_a");
      assert.equal(await s.getCheckpoint("run_a", "c"), null);
      await s.putCheckpoint("run_a", "c", { rows: [1, 2] });
      await s.putCheckpoint("run_a", "c", { rows: [3] });
      await s.putCheckpoint("run_a", "n", null);
      assert.deepEqual((await s.getCheckpoint("run_a", "c"))?.value, { rows: [3] });
      assert.deepEqual((await s.getCheckpoint("run_a", "n"))?.value, null);
      assert.equal(typeof (await s.getCheckpoint("run_a", "c"))?.createdAt, "number");
      assert.equal(await s.getCheckpoint("run_b", "c"), null);
    });

    test("appends events with increasing ids and lists those after an id, per run", async (s, h) => {
      await newRun(s, "run_a");
      const other = await h.open();
      const appended = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? other : s).appendEvent(i % 3 ? "run_a" : "run_b", "step.started", { i }),
        ),
      );
      const a = await s.listEvents("run_a", 0);
      assert.equal(a.length, 20);
      for (let i = 1; i < a.length; i++) assert.ok(a[i]!.id > a[i - 1]!.id, "ordered by id");
      assert.ok(a.every((e) => e.runId === "run_a" && e.type === "step.started"));
      assert.deepEqual(
        a.map((e) => e.id),
        appended
          .filter((e) => e.runId === "run_a")
          .map((e) => e.id)
          .sort((x, y) => x - y),
      );
      const mid = a[9]!.id;
      assert.deepEqual(
        (await s.listEvents("run_a", mid)).map((e) => e.id),
        a.slice(10).map((e) => e.id),
      );
      assert.deepEqual(await s.listEvents("run_a", a.at(-1)!.id), []);
      const ev = await s.appendEvent("run_a", "run.completed", { nested: { ok: true }, list: [1, "x"] });
      assert.deepEqual((await s.listEvents("run_a", a.at(-1)!.id))[0], ev);
      assert.equal((await s.listEvents("run_b", 0)).length, 10);
    });
  });
}
