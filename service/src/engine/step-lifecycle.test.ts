// The step lifecycle's documented semantics, in process: a real SQLite journal in a temp dir, real engines,
// side effects counted by a registered HTTP tool on a loopback server and by tools the test holds.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { makeFailure } from "@mend/wire";
import {
  addGate,
  addTools,
  eventOf,
  startInProcess,
  type InProcess,
} from "../../../test/support/in-process.ts";
import { startToolHttpServer, type ToolHttpServer } from "../../../test/support/tool-http-server.ts";

const POLICY = 'name: default\ntools:\n  allow: ["**"]\n';
let tools: ToolHttpServer;

before(async () => {
  tools = await startToolHttpServer({
    "/charge": ({ n, body }) => ({ status: 200, json: { charged: (body as { cents: number }).cents, n } }),
    "/probe": ({ n }) => ({ status: 200, json: { n } }),
  });
});
after(async () => {
  await tools.close();
});

/** Registers an HTTP tool `name` calling `path` on the loopback tool server. */
async function registerHttpTool(svc: InProcess, name: string, path: string): Promise<void> {
  const r = await svc.api("POST", "/v1/tools", {
    name,
    description: `Counts its calls (${path}).`,
    inputSchema: { type: "object", additionalProperties: true },
    endpoint: tools.url + path,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function clientRun(svc: InProcess): Promise<string> {
  const r = await svc.api("POST", "/v1/runs", { mode: "client" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

const step = (svc: InProcess, runId: string, key: string, action: unknown) =>
  svc.api("POST", `/v1/runs/${runId}/steps`, { key, action });

describe("a finished key", () => {
  let svc: InProcess;
  before(async () => {
    svc = await startInProcess({ policies: { default: POLICY } });
    await registerHttpTool(svc, "pay.charge", "/charge");
  });
  after(async () => {
    await svc.close();
  });

  it("replays its journaled result without calling the tool again, also after a restart on the same data dir", async () => {
    const runId = await clientRun(svc);
    const action = { type: "tool", tool: "pay.charge", args: { cents: 500 } };
    const first = await step(svc, runId, "charge", action);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.replayed, false);
    assert.deepEqual(first.body.result, { charged: 500, n: 1 });
    const again = await step(svc, runId, "charge", action);
    assert.equal(again.body.replayed, true);
    assert.deepEqual(again.body.result, first.body.result);
    assert.equal(again.body.id, first.body.id);
    assert.equal(tools.count("/charge"), 1);

    await svc.close();
    svc = await startInProcess({ dataDir: svc.dataDir, policies: { default: POLICY } });
    const afterRestart = await step(svc, runId, "charge", action);
    assert.equal(afterRestart.body.replayed, true);
    assert.deepEqual(afterRestart.body.result, first.body.result);
    assert.equal(tools.count("/charge"), 1, "the charge was made once in all");
  });

  it("replays a failure as a failure: a failed step is never executed again", async () => {
    const runId = await clientRun(svc);
    const before = tools.count("/charge");
    const code = "await tools.pay.charge({ cents: 1 }); throw new Error('declined after charging')";
    const first = await step(svc, runId, "pay", { type: "codemode", code });
    assert.equal(first.body.status, "failed");
    assert.equal(first.body.failure.kind, "runtime_error");
    const again = await step(svc, runId, "pay", { type: "codemode", code });
    assert.equal(again.body.replayed, true);
    assert.equal(again.body.status, "failed");
    assert.equal(again.body.failure.message, first.body.failure.message);
    assert.equal(tools.count("/charge"), before + 1);
  });
});

describe("an unfinished step", () => {
  const cases = [
    { engine: "quickjs", markInterrupted: false },
    { engine: "v8", markInterrupted: true },
  ] as const;
  for (const { engine, markInterrupted } of cases) {
    const left = markInterrupted ? "interrupted (shutdown past its grace)" : "started (the process died)";
    it(`left ${left} is re-executed by ${engine} as attempt 2 with its journaled seed and clock, its journaled tool calls replayed`, async () => {
      const policies = { default: POLICY };
      const first = await startInProcess({ policies });
      const probe = `probe${engine}`;
      await registerHttpTool(first, probe, "/probe");
      // The held call never answers: the process dies (or its grace ends) with the call in flight.
      const held = addGate(first.services, "hold", { onAbort: "silent" });
      const runId = await clientRun(first);
      const code = `const seen = { r: Math.random(), t: Date.now() };
        await tools.${probe}(seen);
        await tools.hold({});
        return { seen, now: Date.now() };`;
      const probesBefore = tools.count("/probe");
      const cut = step(first, runId, "roll", { type: "codemode", engine, code });
      await held.called();
      await first.abandon({ markInterrupted });
      const cutReply = await cut;
      assert.equal(cutReply.body.status, "failed");
      assert.equal(cutReply.body.failure.kind, "interrupted");
      assert.equal(cutReply.body.failure.retryable, true);

      const second = await startInProcess({ dataDir: first.dataDir, policies });
      try {
        const journaled = (await second.api("GET", `/v1/runs/${runId}/steps`)).body[0];
        assert.equal(journaled.status, markInterrupted ? "interrupted" : "started");
        assert.equal(journaled.attempt, 1);
        const reopened = addGate(second.services, "hold");
        reopened.open();
        const done = await step(second, runId, "roll", { type: "codemode", engine, code });
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal(done.body.status, "succeeded", JSON.stringify(done.body));
        assert.equal(done.body.attempts, 2);
        // Math.random and Date.now gave the same values as in attempt 1, which the probe received.
        const probed = tools.calls.filter((c) => c.path === "/probe").at(-1)!.body;
        assert.deepEqual(done.body.result.seen, probed);
        assert.equal(done.body.result.seen.t, journaled.input.determinism.clockMs);
        assert.equal(tools.count("/probe"), probesBefore + 1, "the journaled probe call was replayed");
        assert.equal(done.body.toolCalls[0].replayed, true);
        assert.equal(done.body.toolCalls[1].replayed, false);
        // The re-executed call carries the idempotency key of the call it repeats.
        assert.equal(reopened.calls[0]!.idempotencyKey, held.calls[0]!.idempotencyKey);
        const steps = (await second.api("GET", `/v1/runs/${runId}/steps`)).body;
        assert.equal(steps.length, 1);
        assert.equal(steps[0].attempt, 2);
      } finally {
        await second.close();
      }
    });
  }

  it("is not executed past the policy's maxAttempts: it ends attempts_exhausted and replays so", async () => {
    const policies = { default: `${POLICY}limits: { maxAttempts: 1 }\n` };
    const first = await startInProcess({ policies });
    const held = addGate(first.services, "capped", { onAbort: "silent" });
    const runId = await clientRun(first);
    const action = { type: "codemode", code: "return await tools.capped({})" };
    const cut = step(first, runId, "once", action);
    await held.called();
    await first.abandon();
    await cut;

    const second = await startInProcess({ dataDir: first.dataDir, policies });
    try {
      const reopened = addGate(second.services, "capped");
      reopened.open();
      const refused = await step(second, runId, "once", action);
      assert.equal(refused.status, 200, JSON.stringify(refused.body));
      assert.equal(refused.body.status, "failed");
      assert.equal(refused.body.failure.kind, "attempts_exhausted");
      assert.equal(refused.body.failure.limits.maxAttempts, 1);
      assert.equal(refused.body.attempts, 2);
      assert.equal(reopened.calls.length, 0, "attempt 2 did not run");
      const again = await step(second, runId, "once", action);
      assert.equal(again.body.replayed, true);
      assert.equal(again.body.failure.kind, "attempts_exhausted");
    } finally {
      await second.close();
    }
  });

  it("calls a tool again when its call was cut short by the shutdown that left the step unfinished", async () => {
    const policies = { default: POLICY };
    /** Like sleep or an HTTP tool: an aborted call answers `interrupted`. */
    const politeWait = (open: boolean, called: () => void, cut: () => void) => ({
      name: "polite.wait",
      description: "Waits for the test; answers interrupted when its step is aborted.",
      inputSchema: { type: "object" },
      version: "1",
      async invoke(_args: unknown, ctx: { signal?: AbortSignal }) {
        if (open) return { ok: true as const, value: "waited" };
        called();
        await new Promise((resolve) => ctx.signal?.addEventListener("abort", resolve));
        setImmediate(cut);
        return {
          ok: false as const,
          failure: makeFailure("interrupted", "aborted with its step", true),
        };
      },
    });
    const first = await startInProcess({ policies });
    let calledNow!: () => void;
    let cutDone!: () => void;
    const called = new Promise<void>((resolve) => (calledNow = resolve));
    const cut = new Promise<void>((resolve) => (cutDone = resolve));
    addTools(first.services, [politeWait(false, calledNow, cutDone)]);
    const runId = await clientRun(first);
    const action = { type: "codemode", code: "return await tools.polite.wait({})" };
    const pending = step(first, runId, "w", action);
    await called;
    const drained = first.services.inflight.drain(0);
    // The aborted call has answered and everything it triggered has run before the store closes.
    await cut;
    await drained;
    assert.equal((await pending).body.failure.kind, "interrupted");
    await first.abandon({ markInterrupted: true });

    const second = await startInProcess({ dataDir: first.dataDir, policies });
    try {
      addTools(second.services, [
        politeWait(
          true,
          () => {},
          () => {},
        ),
      ]);
      const done = await step(second, runId, "w", action);
      assert.equal(done.body.attempts, 2);
      assert.equal(done.body.status, "succeeded", JSON.stringify(done.body.failure));
      assert.equal(done.body.result, "waited");
    } finally {
      await second.close();
    }
  });
});

describe("work cut short", () => {
  let svc: InProcess;
  before(async () => {
    svc = await startInProcess({ policies: { default: POLICY } });
  });
  after(async () => {
    await svc.close();
  });

  it("ends a step in progress as failed with a non-retryable interrupted when its run is cancelled", async () => {
    const held = addGate(svc.services, "cancel.hold");
    const runId = await clientRun(svc);
    const pending = step(svc, runId, "long", {
      type: "codemode",
      code: "return await tools.cancel.hold({})",
    });
    await held.called();
    const cancelled = await svc.api("POST", `/v1/runs/${runId}/cancel`);
    assert.equal(cancelled.body.status, "cancelled");
    const r = await pending;
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "interrupted");
    assert.equal(r.body.failure.retryable, false);
    const [journaled] = (await svc.api("GET", `/v1/runs/${runId}/steps`)).body;
    assert.equal(journaled.status, "failed");
    assert.equal(journaled.failure.kind, "interrupted");
    const failedEvent = await eventOf(svc.services, runId, (e) => e.type === "step.failed");
    assert.equal(failedEvent.data.failure.kind, "interrupted");
  });

  it("ends a step whose host path throws as failed with internal_error, keeps serving, and replays that end", async () => {
    let invocations = 0;
    addTools(svc.services, [
      {
        name: "flaky.host",
        description: "Throws inside the host the first time (a host fault, not a tool failure).",
        inputSchema: { type: "object" },
        version: "1",
        async invoke() {
          if (++invocations === 1) throw new Error("host bug");
          return { ok: true, value: { invocations } };
        },
      },
    ]);
    const runId = await clientRun(svc);
    const action = { type: "tool", tool: "flaky.host", args: {} };
    const faulted = await step(svc, runId, "t", action);
    assert.equal(faulted.status, 200, JSON.stringify(faulted.body));
    assert.equal(faulted.body.status, "failed");
    assert.equal(faulted.body.failure.kind, "internal_error");
    assert.equal(faulted.body.failure.retryable, false);
    assert.match(faulted.body.failure.message, /host bug/);
    const [journaled] = (await svc.api("GET", `/v1/runs/${runId}/steps`)).body;
    assert.equal(journaled.status, "failed");
    assert.equal((await step(svc, runId, "t", action)).body.replayed, true);
    // A new key executes: the process kept serving.
    const fresh = await step(svc, runId, "t2", action);
    assert.equal(fresh.body.status, "succeeded");
    assert.deepEqual(fresh.body.result, { invocations: 2 });
  });
});

describe("a step's signal", () => {
  /** What a long-lived signal holds for the composites made from it: abort listeners, dependant signals. */
  function holds(signal: AbortSignal): { listeners: number; dependants: number } {
    const sym = Object.getOwnPropertySymbols(signal).find((s) => s.description === "kDependantSignals");
    const dependants = sym ? ((signal as unknown as Record<symbol, Set<unknown>>)[sym]?.size ?? 0) : 0;
    return { listeners: getEventListeners(signal, "abort").length, dependants };
  }

  it("fires on the run's cancellation while the work runs, and leaves nothing on the run's signal once it ended", async () => {
    const svc = await startInProcess({ policies: { default: POLICY } });
    try {
      const runId = await clientRun(svc);
      const run = new AbortController();
      for (const key of ["a", "b", "c"]) {
        const outcome = await svc.services.steps.run(
          { runId, key, kind: "tool", input: {}, tenant: "default" },
          async ({ signal }) => {
            assert.equal(signal.aborted, false);
            return { status: "succeeded", output: { key } };
          },
          { signal: run.signal },
        );
        assert.equal(outcome.kind, "ended");
      }
      // AbortSignal.any would leave a weak reference per step on the run's signal until a GC.
      assert.deepEqual(holds(run.signal), { listeners: 0, dependants: 0 });
      let seen: AbortSignal | undefined;
      const cut = await svc.services.steps.run(
        { runId, key: "d", kind: "tool", input: {}, tenant: "default" },
        async ({ signal }) => {
          seen = signal;
          run.abort(new Error("run cancelled"));
          return { status: "succeeded", output: null };
        },
        { signal: run.signal },
      );
      assert.equal(seen?.aborted, true);
      assert.equal(cut.kind, "ended");
      assert.equal(cut.step.failure?.kind, "interrupted");
    } finally {
      await svc.close();
    }
  });
});

describe("the events of steps", () => {
  it("appear in journal order: each step's start, then its end with seq, attempt and failure", async () => {
    const svc = await startInProcess({ policies: { default: POLICY } });
    try {
      const runId = await clientRun(svc);
      await step(svc, runId, "ok", { type: "codemode", code: "return 1" });
      await step(svc, runId, "bad", { type: "codemode", code: "throw new Error('no')" });
      await step(svc, runId, "ok", { type: "codemode", code: "return 1" }); // a replay announces nothing
      await svc.api("POST", `/v1/runs/${runId}/complete`, { output: "done" });
      // The SSE stream replays the journal and ends once the run is finished.
      const res = await svc.request(`/v1/runs/${runId}/events`);
      assert.equal(res.headers.get("content-type")?.split(";")[0], "text/event-stream");
      const events = (await res.text())
        .split("\n\n")
        .filter((b) => b.includes("event:"))
        .map((b) => ({
          id: Number(/^id: (\d+)$/m.exec(b)![1]),
          type: /^event: (.+)$/m.exec(b)![1]!,
          data: JSON.parse(/^data: (.+)$/m.exec(b)![1]!),
        }));
      assert.deepEqual(
        events.map((e) => [e.type, e.data.key ?? e.data.status]),
        [
          ["step.started", "ok"],
          ["step.completed", "ok"],
          ["step.started", "bad"],
          ["step.failed", "bad"],
          ["run.completed", "succeeded"],
        ],
      );
      assert.deepEqual(
        events.map((e) => e.id),
        [...events.map((e) => e.id)].sort((a, b) => a - b),
      );
      assert.equal(events[0]!.data.seq, events[1]!.data.seq);
      assert.equal(events[1]!.data.attempt, 1);
      assert.equal(events[3]!.data.failure.kind, "runtime_error");
      assert.ok(events[2]!.data.seq > events[0]!.data.seq);
    } finally {
      await svc.close();
    }
  });
});
