// The hosted loop in process: a scripted model over real HTTP on loopback, real code-mode engines, a real
// SQLite journal — runs finish, ask a human, spend budgets, get cancelled, and resume in a new instance.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { addGate, eventOf, startInProcess, until, type InProcess } from "../../../test/support/in-process.ts";
import { startFakeLlm, type FakeLlm, type Script } from "../../../test/support/fake-llm.ts";
import { askHuman, callTool, finish, hang, runOrchestration } from "../../../test/support/fake-llm-turns.ts";
import { rebuildRequest, type KeptRequest } from "./kept-request.ts";

const POLICY = `name: default
tools:
  allow: ["**"]
budgets: { iterations: 4, consecutiveFailures: 3, onExhausted: ask_human }
`;

/** One fake model for the file: each test's goal picks its script. */
const scripts = new Map<string, Script>();
let llm: FakeLlm;
let env: Record<string, string>;
let svc: InProcess;

before(async () => {
  llm = await startFakeLlm({
    script: (req, turn, ctx) => {
      for (const [goal, script] of scripts)
        if (ctx.conversation.includes(goal)) return script(req, turn, ctx);
      throw new Error(`no script for ${ctx.conversation}`);
    },
  });
  env = { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" };
  svc = await startInProcess({ policies: { default: POLICY }, env });
});
after(async () => {
  await svc.close();
  await llm.close();
});

async function hostedRun(on: InProcess, goal: string, script: Script): Promise<string> {
  scripts.set(goal, script);
  const r = await on.api("POST", "/v1/runs", { mode: "hosted", goal });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

const lastResult = (ctx: { lastToolResult?: { content: string } }) =>
  JSON.parse(ctx.lastToolResult?.content ?? "{}");
const ended = (on: InProcess, runId: string) =>
  eventOf(on.services, runId, (e) => e.type === "run.completed");
const journal = async (on: InProcess, runId: string) => (await on.api("GET", `/v1/runs/${runId}/steps`)).body;

describe("a hosted run", () => {
  it("runs the model's calls as journaled steps and finishes with its answer", async () => {
    const goal = "add one to a stored number";
    const runId = await hostedRun(svc, goal, (_req, turn, ctx) => {
      if (turn === 0) return callTool("kv.set", { key: "x", value: 41 });
      if (turn === 1)
        return runOrchestration("const v = await tools.kv.get({ key: 'x' }); return v.value + 1");
      return finish(String(lastResult(ctx).result));
    });
    assert.equal((await ended(svc, runId)).data.status, "succeeded");
    const run = (await svc.api("GET", `/v1/runs/${runId}`)).body;
    assert.equal(run.output, "42");
    assert.equal(run.iterations, 3);
    assert.deepEqual(
      (await journal(svc, runId)).map((s: any) => [s.key, s.kind, s.status]),
      [
        ["iter-1/llm", "llm", "succeeded"],
        ["iter-1/call-0", "tool", "succeeded"],
        ["iter-2/llm", "llm", "succeeded"],
        ["iter-2/call-0", "codemode", "succeeded"],
        ["iter-3/llm", "llm", "succeeded"],
      ],
    );
    // Each model turn was asked once, with an idempotency key naming its journaled step.
    assert.deepEqual(
      llm.seen(goal).map((r) => r.idempotencyKey),
      [1, 2, 3].map((i) => `${runId}/iter-${i}/llm`),
    );
  });

  it("asks a human, waits in waiting_for_input with no driver in memory, and resumes with the answer", async () => {
    const goal = "deploy somewhere a human picks";
    const runId = await hostedRun(svc, goal, (_req, turn, ctx) =>
      turn === 0 ? askHuman("Which region?") : finish(`deploying to ${lastResult(ctx).answer}`),
    );
    await eventOf(svc.services, runId, (e) => e.type === "run.waiting_for_input");
    const waiting = (await svc.api("GET", `/v1/runs/${runId}`)).body;
    assert.equal(waiting.status, "waiting_for_input");
    assert.equal(waiting.waitingFor.question, "Which region?");
    assert.equal(waiting.waitingFor.stepKey, "iter-1/call-0");
    await until(() => svc.services.loop.activeRuns === 0);
    assert.equal(llm.seen(goal).length, 1);

    const answered = await svc.api("POST", `/v1/runs/${runId}/input`, { input: "eu-west" });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal(answered.body.status, "running");
    await ended(svc, runId);
    assert.equal((await svc.api("GET", `/v1/runs/${runId}`)).body.output, "deploying to eu-west");
    const human = (await journal(svc, runId)).find((s: any) => s.key === "iter-1/call-0");
    assert.equal(human.kind, "human");
    assert.deepEqual(human.output, { answer: "eu-west" });
    assert.equal((await svc.api("POST", `/v1/runs/${runId}/input`, { input: "again" })).status, 409);
  });

  it("spends its iteration budget, asks a human what to do, and goes on with a fresh budget", async () => {
    const goal = "echo until told to stop";
    const runId = await hostedRun(svc, goal, (_req, turn, ctx) =>
      ctx.lastUserMessage?.includes("A human answered")
        ? finish("stopped as told")
        : callTool("echo", { text: `turn ${turn}` }),
    );
    await eventOf(svc.services, runId, (e) => e.type === "run.waiting_for_input");
    const waiting = (await svc.api("GET", `/v1/runs/${runId}`)).body;
    assert.equal(waiting.waitingFor.kind, "budget_exhausted");
    assert.equal(waiting.waitingFor.budget, "iterations");
    assert.deepEqual(waiting.waitingFor.tried, ["echo"]);
    assert.equal(llm.seen(goal).length, 4, "the policy's 4 iterations, no more");

    await svc.api("POST", `/v1/runs/${runId}/input`, { input: "stop now" });
    await ended(svc, runId);
    const run = (await svc.api("GET", `/v1/runs/${runId}`)).body;
    assert.equal(run.status, "succeeded");
    assert.equal(run.output, "stopped as told");
    const budgetStep = (await journal(svc, runId)).find((s: any) => s.key === "iter-5/budget");
    assert.equal(budgetStep.kind, "human");
    assert.deepEqual(budgetStep.output, { answer: "stop now" });
  });

  it("stops when cancelled: its running step ends interrupted and the model is asked nothing more", async () => {
    const goal = "wait on a gate until cancelled";
    const gate = addGate(svc.services, "hosted.hold");
    const runId = await hostedRun(svc, goal, () => callTool("hosted.hold", {}));
    await gate.called();
    assert.equal((await svc.api("POST", `/v1/runs/${runId}/cancel`)).body.status, "cancelled");
    await until(() => svc.services.loop.activeRuns === 0);
    const step = (await journal(svc, runId)).find((s: any) => s.key === "iter-1/call-0");
    assert.equal(step.status, "failed");
    assert.equal(step.failure.kind, "interrupted");
    assert.equal(llm.seen(goal).length, 1);
    assert.equal((await svc.api("GET", `/v1/runs/${runId}`)).body.status, "cancelled");
  });
});

describe("a hosted run left running by a previous services instance", () => {
  it("is resumed by resumeAll() of a new one on the same data dir, its large model answer read back from the blob store", async () => {
    const goal = "survive a restart with a long answer";
    const thoughts = "I considered many options. ".repeat(400);
    const first = await startInProcess({ policies: { default: POLICY }, env });
    const held = addGate(first.services, "resume.hold");
    const runId = await hostedRun(first, goal, (_req, turn) =>
      turn === 0
        ? { content: thoughts, toolCalls: [{ name: "resume.hold", arguments: {} }] }
        : finish("resumed"),
    );
    await held.called();
    await first.abandon();

    const second = await startInProcess({ dataDir: first.dataDir, policies: { default: POLICY }, env });
    try {
      assert.equal((await second.api("GET", `/v1/runs/${runId}`)).body.status, "running");
      const reopened = addGate(second.services, "resume.hold");
      reopened.open();
      assert.ok((await second.services.loop.resumeAll()) >= 1);
      assert.equal((await ended(second, runId)).data.status, "succeeded");
      assert.equal((await second.api("GET", `/v1/runs/${runId}`)).body.output, "resumed");
      const steps = await journal(second, runId);
      const turn = steps.find((s: any) => s.key === "iter-1/llm");
      assert.match(turn.output.content.$blob, /^[0-9a-f]{64}$/);
      const call = steps.find((s: any) => s.key === "iter-1/call-0");
      assert.equal(call.attempt, 2);
      assert.equal(reopened.calls[0]!.idempotencyKey, held.calls[0]!.idempotencyKey);
      // The first turn was replayed from the journal; the next one saw its answer whole.
      const asked = llm.seen(goal);
      assert.deepEqual(
        asked.map((r) => r.turn),
        [0, 1],
      );
      const replayed = asked[1]!.body!.messages.find((m) => m.role === "assistant");
      assert.equal(replayed?.content, thoughts);
    } finally {
      await second.close();
    }
  });

  it("asks a model turn cut short by the shutdown again, as attempt 2", async () => {
    const goal = "a turn cut by a shutdown";
    const first = await startInProcess({ policies: { default: POLICY }, env });
    const runId = await hostedRun(first, goal, (_req, _turn, ctx) =>
      ctx.attempt === 0 ? hang() : finish("asked twice"),
    );
    await until(() => llm.seen(goal).length === 1);
    await first.abandon();

    const second = await startInProcess({ dataDir: first.dataDir, policies: { default: POLICY }, env });
    try {
      const [unfinished] = await journal(second, runId);
      assert.equal(unfinished.key, "iter-1/llm");
      assert.equal(unfinished.status, "started");
      await second.services.loop.resumeAll();
      await ended(second, runId);
      assert.equal((await second.api("GET", `/v1/runs/${runId}`)).body.output, "asked twice");
      const [turn] = await journal(second, runId);
      assert.equal(turn.status, "succeeded");
      assert.equal(turn.attempt, 2);
      assert.equal(llm.seen(goal).length, 2);
    } finally {
      await second.close();
    }
  });

  it("keeps every turn's whole request for the inspector, each a delta of the turn before, across the restart", async () => {
    const goal = "keep every request across a restart";
    const first = await startInProcess({ policies: { default: POLICY }, env });
    const runId = await hostedRun(first, goal, (_req, turn, ctx) =>
      turn < 2
        ? runOrchestration(`return ${turn}`)
        : turn === 2 && ctx.attempt === 0
          ? hang()
          : turn === 2
            ? runOrchestration("return 2")
            : finish("kept"),
    );
    await until(() => llm.seen(goal).some((r) => r.turn === 2));
    await first.abandon();

    const second = await startInProcess({ dataDir: first.dataDir, policies: { default: POLICY }, env });
    try {
      await second.services.loop.resumeAll();
      assert.equal((await ended(second, runId)).data.status, "succeeded");
      const steps = await second.services.store.listSteps(runId);
      const byKey = new Map(steps.map((st) => [st.key, st]));
      const turns = steps.filter((st) => st.kind === "llm");
      assert.deepEqual(
        turns.map((st) => [st.key, st.attempt]),
        [
          ["iter-1/llm", 1],
          ["iter-2/llm", 1],
          ["iter-3/llm", 2],
          ["iter-4/llm", 1],
        ],
      );
      // The first driver's second turn builds on its first; the second driver starts afresh at its first call.
      const kept = turns.map((st) => st.audit?.request as KeptRequest);
      assert.deepEqual(
        kept.map((k) => k.base ?? null),
        [null, "iter-1/llm", null, "iter-3/llm"],
      );
      const asked = llm.seen(goal);
      for (const [t, st] of turns.entries()) {
        const rebuilt = await rebuildRequest(
          kept[t]!,
          (key) => byKey.get(key)?.audit?.request,
          (sha) => second.services.blobs.get(sha),
        );
        // What the model was sent at that turn (its last ask): the system message, then the same messages.
        const sent = asked.filter((r) => r.turn === t).at(-1)!.body!;
        assert.ok(rebuilt, st.key);
        assert.equal(rebuilt.system, sent.messages[0]!.content, st.key);
        assert.equal(rebuilt.tools?.length, sent.tools?.length, st.key);
        assert.deepEqual(
          rebuilt.messages.map((m) => [m.role, m.role === "assistant" ? null : m.content]),
          sent.messages.slice(1).map((m) => [m.role, m.role === "assistant" ? null : m.content]),
          st.key,
        );
      }
    } finally {
      await second.close();
    }
  });
});

describe("a policy that heals and budgets", () => {
  const HEALING = `name: default
tools:
  allow: ["**"]
codemode:
  defaults: { timeoutMs: 300 }
  max: { timeoutMs: 60000 }
remediation:
  timeout: { retries: 1, timeoutMultiplier: 100 }
budgets: { iterations: 2, onExhausted: fail }
`;
  let healing: InProcess;
  before(async () => {
    healing = await startInProcess({ policies: { default: HEALING }, env });
  });
  after(async () => {
    await healing.close();
  });

  it("heals a code-mode timeout with increase_timeout, journaled as its own attempt with its remediation", async () => {
    let calls = 0;
    healing.services.catalog.addSource({
      list: async () => [
        {
          name: "slow.first",
          description: "Never answers its first call; answers every later one at once.",
          inputSchema: { type: "object" },
          version: "1",
          async invoke() {
            if (++calls === 1) await new Promise(() => {});
            return { ok: true, value: { calls } };
          },
        },
      ],
    });
    const goal = "call a slow tool";
    const runId = await hostedRun(healing, goal, (_req, turn, ctx) =>
      turn === 0
        ? runOrchestration("return await tools.slow.first({})")
        : finish(ctx.lastToolResult!.content),
    );
    assert.equal((await ended(healing, runId)).data.status, "succeeded");
    const steps = await journal(healing, runId);
    const failed = steps.find((s: any) => s.key === "iter-1/call-0");
    const retry = steps.find((s: any) => s.key === "iter-1/call-0/retry-1");
    assert.equal(failed.status, "failed");
    assert.equal(failed.failure.kind, "timeout");
    assert.equal(failed.failure.limits.timeoutMs, 300);
    assert.equal(retry.status, "succeeded");
    assert.equal(retry.input.limits.timeoutMs, 30_000);
    assert.deepEqual(retry.remediation, {
      afterSeq: failed.seq,
      kind: "timeout",
      attempt: 1,
      action: "increase_timeout",
      timeoutMs: 30_000,
    });
    const events = await healing.services.store.listEvents(runId, 0);
    const order = events.map((e) => `${e.type}:${(e.data as { key?: string }).key ?? ""}`);
    const at = (name: string) => order.indexOf(name);
    assert.ok(at("step.failed:iter-1/call-0") < at("remediation:iter-1/call-0"));
    assert.ok(at("remediation:iter-1/call-0") < at("step.started:iter-1/call-0/retry-1"));
    const told = JSON.parse((await healing.api("GET", `/v1/runs/${runId}`)).body.output as string);
    assert.deepEqual(told.result, { calls: 2 });
    assert.equal(told.healedAfter[0].kind, "timeout");
  });

  it("fails the run with budget_exhausted when its budget is spent and the policy says fail", async () => {
    const goal = "echo forever under a failing budget";
    const runId = await hostedRun(healing, goal, () => callTool("echo", { text: "again" }));
    assert.equal((await ended(healing, runId)).data.status, "failed");
    const run = (await healing.api("GET", `/v1/runs/${runId}`)).body;
    assert.equal(run.failure.kind, "budget_exhausted");
    assert.match(run.failure.message, /iterations budget \(2\)/);
    assert.equal(llm.seen(goal).length, 2);
  });
});
