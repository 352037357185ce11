// Forking runs end to end: the real service, a scripted model over HTTP, two tenants' API keys.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKey, startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm, type Script } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";
import { Mend } from "../../client/src/index.ts";

const POLICY = `name: default
tools:
  allow: ["echo"]
budgets: { iterations: 40, consecutiveFailures: 3, wallMs: 600000, tokens: 10000000, onExhausted: ask_human }
`;

const scripts = new Map<string, Script>();
let llm: FakeLlm;
let svc: ServiceProcess;
let tokenA: string;
let tokenB: string;
const dirs: string[] = [];

before(async () => {
  llm = await startFakeLlm({
    script: (req, turn, ctx) => {
      for (const [goal, script] of scripts)
        if (ctx.conversation.includes(goal)) return script(req, turn, ctx);
      throw new Error(`no script for ${ctx.conversation}`);
    },
  });
  const policies = mkdtempSync(join(tmpdir(), "mend-fork-policies-"));
  const data = mkdtempSync(join(tmpdir(), "mend-fork-data-"));
  dirs.push(policies, data);
  writeFileSync(join(policies, "default.yaml"), POLICY);
  const env = { MEND_POLICIES_DIR: policies, MEND_DATA_DIR: data };
  tokenA = await createKey(env, "tenant-a", "default");
  tokenB = await createKey(env, "tenant-b", "default");
  svc = await startService(
    { ...env, MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" },
    data,
  );
});
after(async () => {
  await svc?.stop();
  await llm?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const as =
  (token: string) =>
  (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(svc.url, method, path, body, { authorization: `Bearer ${token}`, ...headers });
const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  as(tokenA)(method, path, body, headers);

/** Polls the run until it is in one of `statuses` (60 s deadline: the machine may be loaded). */
async function until(id: string, statuses: string[]): Promise<any> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await api("GET", `/v1/runs/${id}`);
    if (statuses.includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`run ${id} is ${r.body.status}, not ${statuses.join("/")}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** echo(1), echo(2), finish: steps iter-1/llm, iter-1/call-0, iter-2/llm, iter-2/call-0, iter-3/llm. */
const threeTurns =
  (answer: (model: string, last: string) => string): Script =>
  (req, turn, ctx) =>
    turn < 2
      ? callTool("echo", { text: `${req.model} step ${turn + 1}` })
      : finish(answer(req.model, ctx.lastToolResult?.content ?? ""));

async function finishedHostedRun(goal: string): Promise<{ id: string; steps: any[] }> {
  scripts.set(
    goal,
    threeTurns((model, last) => `${model}: ${last}`),
  );
  const r = await api("POST", "/v1/runs", { mode: "hosted", goal });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const run = await until(r.body.id, ["succeeded", "failed", "waiting_for_input"]);
  assert.equal(run.status, "succeeded", JSON.stringify(run));
  const steps = (await api("GET", `/v1/runs/${run.id}/steps`)).body as any[];
  return { id: run.id, steps };
}

describe("forking runs", () => {
  it("forks a hosted run at step k with another model: earlier steps replayed, the model not asked for them", async () => {
    const goal = "fork-hosted: echo twice then finish";
    const parent = await finishedHostedRun(goal);
    assert.deepEqual(
      parent.steps.map((s) => s.key),
      ["iter-1/llm", "iter-1/call-0", "iter-2/llm", "iter-2/call-0", "iter-3/llm"],
    );
    const parentRun = (await api("GET", `/v1/runs/${parent.id}`)).body;
    const asked = llm.seen(goal).length;
    const atSeq = parent.steps.find((s) => s.key === "iter-2/llm").seq;

    const f = await api("POST", `/v1/runs/${parent.id}/fork`, { atSeq, model: { name: "other-model" } });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    assert.deepEqual([f.body.parentRunId, f.body.forkedAtSeq, f.body.mode], [parent.id, atSeq, "hosted"]);
    const child = await until(f.body.id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(child.status, "succeeded", JSON.stringify(child));
    assert.match(String(child.output), /^other-model: .*other-model step 2/);

    const steps = (await api("GET", `/v1/runs/${child.id}/steps`)).body as any[];
    const before = steps.filter((s) => s.seq < atSeq);
    assert.deepEqual(
      before.map((s) => [s.key, s.replayed, s.replayedFrom]),
      parent.steps.filter((s) => s.seq < atSeq).map((s) => [s.key, true, { runId: parent.id, seq: s.seq }]),
    );
    for (const s of before) {
      const p = parent.steps.find((x) => x.seq === s.seq);
      assert.deepEqual([s.input, s.output, s.startedAt], [p.input, p.output, p.startedAt]);
    }
    assert.ok(steps.filter((s) => s.seq >= atSeq).every((s) => s.replayed === false));
    // The model was asked for turns 2 and 3 only, by the new name; turn 1 came from the journal.
    const childAsks = llm.seen(goal).slice(asked);
    assert.deepEqual(
      childAsks.map((r) => [r.turn, r.body?.model]),
      [
        [1, "other-model"],
        [2, "other-model"],
      ],
    );
    // The parent is unchanged.
    assert.deepEqual((await api("GET", `/v1/runs/${parent.id}/steps`)).body, parent.steps);
    assert.deepEqual((await api("GET", `/v1/runs/${parent.id}`)).body, parentRun);
    // The fork's first event says where it came from.
    const events = await fetch(`${svc.url}/v1/runs/${child.id}/events`, {
      headers: { authorization: `Bearer ${tokenA}` },
    }).then((r) => r.text());
    assert.match(
      events,
      /event: run\.forked\ndata: \{"parentRunId":"run_[^"]+","forkedAtSeq":3,"copiedSteps":2\}/,
    );
    // GET /v1/runs?parentRunId lists it.
    const forks = await api("GET", `/v1/runs?parentRunId=${parent.id}`);
    assert.deepEqual(
      forks.body.items.map((r: any) => r.id),
      [child.id],
    );
  });

  it("is 404 for another tenant, who sees neither the parent nor its forks", async () => {
    const parent = await finishedHostedRun("fork-tenants: echo twice then finish");
    const b = as(tokenB);
    const f = await b("POST", `/v1/runs/${parent.id}/fork`, { atSeq: 2 });
    assert.equal(f.status, 404, JSON.stringify(f.body));
    assert.equal(f.headers.get("content-type"), "application/problem+json");
    const mine = await api("POST", `/v1/runs/${parent.id}/fork`, { atSeq: 2 });
    assert.equal(mine.status, 201);
    assert.deepEqual((await b("GET", `/v1/runs?parentRunId=${parent.id}`)).body.items, []);
    assert.equal((await b("GET", `/v1/runs/${mine.body.id}`)).status, 404);
    await until(mine.body.id, ["succeeded"]);
  });

  it("refuses a fork point past the journal, another policy and an edit that is not the fork point", async () => {
    const parent = await finishedHostedRun("fork-refusals: echo twice then finish");
    const bad = [
      { atSeq: 99 },
      { atSeq: 0 },
      { atSeq: 2, policy: "other" },
      { atSeq: 3, replace: { seq: 2, input: { type: "tool", tool: "echo", args: { text: "x" } } } },
      { atSeq: 3, replace: { seq: 3, input: { type: "tool", tool: "echo", args: { text: "x" } } } },
      { atSeq: 2, extra: true },
      { atSeq: "2" },
      { atSeq: 1e20 },
      { atSeq: 2.5 },
      {},
      { atSeq: 2, model: { name: 7 } },
      { atSeq: 2, replace: { seq: 2, input: { type: "rm -rf" } } },
      "not json",
    ];
    for (const body of bad) {
      const r = await api("POST", `/v1/runs/${parent.id}/fork`, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    }
    assert.equal((await api("POST", "/v1/runs/run_nope/fork", { atSeq: 1 })).status, 404);
    assert.deepEqual((await api("GET", `/v1/runs?parentRunId=${parent.id}`)).body.items, []);
  });

  it("runs an edited step with its new input, and answers a repeated Idempotency-Key with the same fork", async () => {
    const goal = "fork-edit: echo twice then finish";
    const parent = await finishedHostedRun(goal);
    const edited = parent.steps.find((s) => s.key === "iter-1/call-0");
    const body = {
      atSeq: edited.seq,
      replace: { seq: edited.seq, input: { type: "tool", tool: "echo", args: { text: "edited by hand" } } },
    };
    const f = await api("POST", `/v1/runs/${parent.id}/fork`, body, { "idempotency-key": "edit-1" });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    const again = await api("POST", `/v1/runs/${parent.id}/fork`, body, { "idempotency-key": "edit-1" });
    assert.deepEqual([again.status, again.body.id], [200, f.body.id]);
    const child = await until(f.body.id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(child.status, "succeeded", JSON.stringify(child));
    const steps = (await api("GET", `/v1/runs/${child.id}/steps`)).body as any[];
    const step = steps.find((s) => s.key === "iter-1/call-0");
    assert.equal(step.replayed, false);
    assert.match(JSON.stringify(step.output), /edited by hand/);
    // The model saw the edited result in the next turn.
    const turn2 = llm
      .seen(goal)
      .filter((r) => r.turn === 1)
      .at(-1)!;
    assert.match(JSON.stringify(turn2.body?.messages.at(-1)), /edited by hand/);
    assert.equal((await api("GET", `/v1/runs?parentRunId=${parent.id}`)).body.items.length, 1);
  });

  it("forks a client-driven run: copied keys replay, new steps run; forks of forks keep their lineage", async () => {
    const r = await api("POST", "/v1/runs", { mode: "client" });
    const id = r.body.id as string;
    const echo = (text: string) => ({ type: "tool", tool: "echo", args: { text } });
    for (const k of ["a", "b", "c"]) {
      const s = await api("POST", `/v1/runs/${id}/steps`, { key: k, action: echo(k) });
      assert.equal(s.body.status, "succeeded", JSON.stringify(s.body));
    }
    const f = await api("POST", `/v1/runs/${id}/fork`, { atSeq: 3, goal: "try c differently" });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    assert.deepEqual([f.body.mode, f.body.status, f.body.goal], ["client", "running", "try c differently"]);
    const fork = f.body.id as string;
    // The caller re-runs its code from the top: a and b replay from the copies, c runs anew.
    const a = await api("POST", `/v1/runs/${fork}/steps`, { key: "a", action: echo("a") });
    assert.deepEqual([a.body.replayed, a.body.stepSeq], [true, 1]);
    const mismatch = await api("POST", `/v1/runs/${fork}/steps`, { key: "b", action: echo("B") });
    assert.equal(mismatch.status, 409);
    const c = await api("POST", `/v1/runs/${fork}/steps`, { key: "c", action: echo("c, take 2") });
    assert.deepEqual([c.body.replayed, c.body.stepSeq, c.body.status], [false, 3, "succeeded"]);
    const d = await api("POST", `/v1/runs/${fork}/steps`, { key: "d", action: echo("d") });
    assert.equal(d.body.stepSeq, 4);
    assert.equal((await api("POST", `/v1/runs/${fork}/complete`, { output: "ok" })).body.status, "succeeded");
    // An edit of a client-driven fork is the caller's own step: refused here.
    const edit = await api("POST", `/v1/runs/${id}/fork`, {
      atSeq: 3,
      replace: { seq: 3, input: echo("x") },
    });
    assert.equal(edit.status, 400);

    // A fork of the fork: lineage runs back through both, replayed steps name where they were executed.
    const g = await api("POST", `/v1/runs/${fork}/fork`, { atSeq: 5 });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    assert.deepEqual([g.body.parentRunId, g.body.forkedAtSeq], [fork, 5]);
    const steps = (await api("GET", `/v1/runs/${g.body.id}/steps`)).body as any[];
    assert.deepEqual(
      steps.map((s) => [s.key, s.replayedFrom.runId, s.replayedFrom.seq]),
      [
        ["a", id, 1],
        ["b", id, 2],
        ["c", fork, 3],
        ["d", fork, 4],
      ],
    );
    assert.deepEqual(
      (await api("GET", `/v1/runs?parentRunId=${fork}`)).body.items.map((x: any) => x.id),
      [g.body.id],
    );
    // The JSONL export keeps the lineage.
    const line = await fetch(`${svc.url}/v1/runs/export?run=${g.body.id}&format=jsonl`, {
      headers: { authorization: `Bearer ${tokenA}` },
    }).then((x) => x.text());
    const exported = JSON.parse(line.trim());
    assert.deepEqual(exported.lineage, [fork, id]);
    assert.deepEqual([exported.run.parentRunId, exported.run.forkedAtSeq], [fork, 5]);
    assert.deepEqual(exported.steps[0].replayedFrom, { runId: id, seq: 1 });
    // The parent still has its own three steps, none replayed.
    const original = (await api("GET", `/v1/runs/${id}/steps`)).body as any[];
    assert.deepEqual(
      original.map((s) => [s.key, s.replayed]),
      [
        ["a", false],
        ["b", false],
        ["c", false],
      ],
    );
  });

  it("forks from the client: mend.runs.fork and mend.runs.forks", async () => {
    const mend = new Mend({ baseUrl: svc.url, apiKey: tokenA });
    const run = await mend.runs.open(`client-fork-${Date.now()}`);
    await run.step("one", () => 1);
    await run.step("two", () => 2);
    const a = await mend.runs.fork(run.id, { atSeq: 2 }, { idempotencyKey: "client-fork-a" });
    const again = await mend.runs.fork(run.id, { atSeq: 2 }, { idempotencyKey: "client-fork-a" });
    const b = await mend.runs.fork(run.id, { atSeq: 3, goal: "both" });
    assert.equal(again.id, a.id);
    assert.deepEqual([a.parentRunId, a.forkedAtSeq, b.forkedAtSeq], [run.id, 2, 3]);
    const forks: string[] = [];
    for await (const f of mend.runs.forks(run.id, { pageSize: 1 })) forks.push(f.id);
    assert.deepEqual(forks.sort(), [a.id, b.id].sort());
    assert.deepEqual(
      (await mend.runs.steps(b.id)).map((s) => [s.key, s.replayed]),
      [
        ["checkpoint:one", true],
        ["checkpoint:two", true],
      ],
    );
    // The fork resumes like any durable run: its first step replays from the copy, the next one runs.
    const resumed = await mend.runs.attach(a.id);
    let ran = 0;
    assert.equal(await resumed.step("one", () => ++ran), 1);
    assert.equal(await resumed.step("two", () => (++ran, 22)), 22);
    assert.equal(ran, 1);
  });
});
