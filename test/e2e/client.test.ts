// @mend/client against the real service: every method that has a route, errors, and SSE with reconnection.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFaultProxy } from "../support/client-proxy.ts";
import { Mend, MendApiError, MendFailure, unwrap, type RunEvent } from "../../client/src/index.ts";

let svc: ServiceProcess;
let mend: Mend;
let toolEndpoint: Server;
before(async () => {
  svc = await startService();
  mend = new Mend({ baseUrl: svc.url, retries: { attempts: 2, baseDelayMs: 10 } });
  toolEndpoint = createServer((_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => toolEndpoint.listen(0, "127.0.0.1", resolve));
});
after(async () => {
  toolEndpoint.close();
  await svc.stop();
});

const unique = (p: string) => `${p}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

describe("mend.health and mend.execute", () => {
  it("reports health", async () => {
    const h = await mend.health();
    assert.equal(h.ok, true);
    assert.equal(h.store.kind, "sqlite");
  });

  it("reports the tenant's usage and quotas (mend.usage)", async () => {
    const before = await mend.usage();
    assert.equal(before.tenant, "local");
    await mend.execute({ sandbox: "codemode", code: "return 'usage'" });
    const after = await mend.usage();
    assert.ok(after.usage.journalBytes > before.usage.journalBytes, JSON.stringify([before, after]));
    assert.equal(typeof after.limits.journalBytes, "number");
  });

  it("returns a succeeded code-mode execution with its value and tool calls", async () => {
    const res = await mend.execute({
      sandbox: "codemode",
      code: "const r = await tools.echo({ text: 'hi' }); return r.text + '!';",
    });
    assert.equal(res.status, "succeeded");
    assert.equal(res.result, "hi!");
    assert.equal(res.toolCalls?.[0]?.tool, "echo");
    assert.equal(unwrap(res), "hi!");
  });

  it("returns a failed execution as a value, and unwrap throws MendFailure with the structured failure", async () => {
    const res = await mend.execute({ sandbox: "codemode", code: "throw new TypeError('no such page')" });
    assert.equal(res.status, "failed");
    assert.equal(res.failure?.kind, "runtime_error");
    assert.throws(
      () => unwrap(res),
      (e: unknown) =>
        e instanceof MendFailure &&
        e.failure.kind === "runtime_error" &&
        /no such page/.test(e.failure.message),
    );
  });

  it("throws MendApiError with the validation paths for a request the service refuses", async () => {
    await assert.rejects(
      mend.execute({ sandbox: "codemode", code: "" }),
      (e: unknown) =>
        e instanceof MendApiError && e.status === 400 && e.code === "validation" && e.errors.length > 0,
    );
  });
});

describe("mend.runs", () => {
  it("creates, reads, lists and cancels runs; create is idempotent by key", async () => {
    const key = unique("create");
    const a = await mend.runs.create({ mode: "client", goal: "g" }, { idempotencyKey: key });
    const b = await mend.runs.create({ mode: "client", goal: "g" }, { idempotencyKey: key });
    assert.equal(a.id, b.id);
    assert.equal((await mend.runs.get(a.id)).goal, "g");
    await mend.runs.create({ mode: "client" });
    const page = await mend.runs.list({ status: "running", limit: 100 });
    assert.ok(page.items.some((r) => r.id === a.id));
    const seen: string[] = [];
    for await (const r of mend.runs.all({ status: "running", pageSize: 1 })) {
      seen.push(r.id);
      if (seen.length >= 2) break;
    }
    assert.equal(seen.length, 2);
    assert.equal((await mend.runs.cancel(a.id)).status, "cancelled");
    await assert.rejects(
      mend.runs.get("run_nope"),
      (e: unknown) => e instanceof MendApiError && e.status === 404,
    );
  });

  it("opens a named run once, steps it with checkpoints and journaled executions, and completes it", async () => {
    const name = unique("open");
    const run = await mend.runs.open(name, { goal: "demo" });
    assert.equal((await mend.runs.open(name)).id, run.id);

    let calls = 0;
    const fn = async () => ({ n: ++calls });
    assert.deepEqual(await run.step("fetch", fn), { n: 1 });
    assert.deepEqual(await run.step("fetch", fn), { n: 1 }, "the recorded value, without calling fn");
    assert.equal(calls, 1);

    const byArgs = run.durable("add", (a: number, b: number) => a + b + calls++, { key: "args" });
    const first = await byArgs(1, 2);
    assert.equal(await byArgs(1, 2), first);
    const byCount = run.durable("tick", () => ++calls);
    const t1 = await byCount();
    const t2 = await byCount();
    assert.notEqual(t1, t2);

    const ex = await run.execute("sum", {
      type: "codemode",
      code: "return [1, 2, 3].reduce((a, b) => a + b)",
    });
    assert.equal(ex.result, 6);
    assert.equal(ex.replayed, false);
    const again = await run.execute("sum", {
      type: "codemode",
      code: "return [1, 2, 3].reduce((a, b) => a + b)",
    });
    assert.equal(again.replayed, true);
    assert.equal(again.result, 6);
    // Another action under a used key: the agent is not deterministic, and is told so.
    await assert.rejects(
      run.execute("sum", { type: "codemode", code: "return 'other work'" }),
      (e: unknown) => e instanceof MendApiError && e.status === 409 && e.type.endsWith("step_input_mismatch"),
    );
    const anyway = await run.execute(
      "sum",
      { type: "codemode", code: "return 'other work'" },
      { onInputMismatch: "replay" },
    );
    assert.equal(anyway.result, 6);
    await assert.rejects(
      run.result("boom", { type: "codemode", code: "null.x" }),
      (e: unknown) => e instanceof MendFailure,
    );

    // Checkpoints are journaled steps of kind "checkpoint", in the order they were first recorded.
    const steps = await mend.runs.steps(run.id);
    assert.deepEqual(
      steps.map((s) => [s.kind, s.status]),
      [
        ["checkpoint", "succeeded"],
        ["checkpoint", "succeeded"],
        ["checkpoint", "succeeded"],
        ["checkpoint", "succeeded"],
        ["codemode", "succeeded"],
        ["codemode", "failed"],
      ],
    );
    assert.deepEqual(
      steps.filter((s) => s.kind !== "checkpoint").map((s) => s.key),
      ["sum", "boom"],
    );
    assert.equal(steps[0]!.key, "checkpoint:fetch");
    assert.deepEqual((steps[0]!.output as { value: unknown }).value, { n: 1 });
    assert.deepEqual((await run.steps()).length, 6);
    const done = await run.complete({ answer: 6 });
    assert.equal(done.status, "succeeded");
    assert.deepEqual((await mend.runs.complete(run.id, { answer: 6 })).output, { answer: 6 });
    assert.equal((await run.get()).status, "succeeded");
  });

  it("steps a run its own open() created with one request per new key, and a reopened run reads the journal first", async () => {
    const sent: string[] = [];
    const counted = new Mend({
      baseUrl: svc.url,
      retries: { attempts: 2, baseDelayMs: 10 },
      fetch: (url, init) => {
        sent.push(`${init?.method ?? "GET"} ${new URL(url).pathname.replace(/^\/v1\/runs\/[^/]+/, "")}`);
        return fetch(url, init);
      },
    });
    const name = unique("created");
    const run = await counted.runs.open(name);
    sent.length = 0;
    let calls = 0;
    assert.equal(await run.step("a", () => ++calls), 1);
    assert.equal(await run.step("b", () => ++calls), 2);
    assert.deepEqual(sent, ["PUT /checkpoints/a", "PUT /checkpoints/b"], "no read before a new key's write");
    assert.equal(
      await run.step("a", () => ++calls),
      1,
      "a key it recorded: the journal's value, fn not called",
    );
    assert.equal(calls, 2);

    // Reopened (200, as after a restart): the handle does not know the journal, so every step reads it.
    const again = await counted.runs.open(name);
    sent.length = 0;
    assert.equal(await again.step("b", () => ++calls), 2);
    assert.equal(await again.step("c", () => ++calls), 3);
    assert.equal(calls, 3);
    assert.deepEqual(sent, ["GET /checkpoints/b", "GET /checkpoints/c", "PUT /checkpoints/c"]);
    // The write's answer is the journal's value: the key another handle recorded first keeps its value.
    sent.length = 0;
    assert.equal(await run.step("c", () => 99), 3);
  });

  it("exports trajectories as JSON Lines, and refuses input to a run that is not waiting", async () => {
    const run = await mend.runs.open(unique("export"));
    await run.execute("one", { type: "codemode", code: "return 1" });
    await run.complete(1);
    const lines = await mend.runs.export({ run: run.id });
    assert.ok(lines.length >= 1);
    assert.ok(JSON.stringify(lines).includes(run.id));
    await assert.rejects(
      mend.runs.input(run.id, "yes"),
      (e: unknown) => e instanceof MendApiError && e.status === 409,
    );
  });

  it("follows events over SSE and resumes after Last-Event-ID", async () => {
    const run = await mend.runs.open(unique("events"));
    await run.execute("one", { type: "codemode", code: "return 1" });
    await run.complete(1);
    const all: RunEvent[] = [];
    for await (const ev of run.events()) all.push(ev);
    assert.deepEqual(
      all.map((e) => e.type),
      ["step.started", "step.completed", "run.completed"],
    );
    const rest: RunEvent[] = [];
    for await (const ev of mend.runs.events(run.id, { lastEventId: all[0]!.id })) rest.push(ev);
    assert.deepEqual(rest, all.slice(1));
  });

  it("reconnects with Last-Event-ID when the stream is cut, missing and repeating nothing", async () => {
    let cut = false;
    const proxy = await startFaultProxy(svc.url, (req) => {
      if (!cut && req.url?.endsWith("/events")) {
        cut = true;
        return "cut-after-first-chunk";
      }
      return "forward";
    });
    try {
      const viaProxy = new Mend({ baseUrl: proxy.url, retries: { attempts: 3, baseDelayMs: 10 } });
      const run = await viaProxy.runs.open(unique("reconnect"));
      await run.execute("a", { type: "codemode", code: "return 1" });
      const got: RunEvent[] = [];
      for await (const ev of run.events()) {
        got.push(ev);
        if (got.length === 2) await run.execute("b", { type: "codemode", code: "return 2" });
        if (got.length === 4) await run.complete("done");
      }
      const ids = got.map((e) => e.id);
      assert.deepEqual(
        ids,
        [...new Set(ids)].sort((a, b) => a - b),
        "strictly increasing, no repeats",
      );
      assert.deepEqual(
        got.map((e) => e.type),
        ["step.started", "step.completed", "step.started", "step.completed", "run.completed"],
      );
      const eventRequests = proxy.seen.filter((s) => s.line.endsWith("/events"));
      assert.ok(eventRequests.length >= 2, "reconnected");
      assert.notEqual(eventRequests.at(-1)!.headers["last-event-id"], "0");
    } finally {
      await proxy.close();
    }
  });
});

describe("mend.tools", () => {
  it("lists, gets, registers and deletes tools, and renders their declarations", async () => {
    const names = (await mend.tools.list()).map((t) => t.name);
    assert.ok(names.includes("echo"));
    assert.equal((await mend.tools.get("echo")).name, "echo");

    const name = `weather_${Date.now().toString(36)}`;
    const { port } = toolEndpoint.address() as AddressInfo;
    const info = await mend.tools.register({
      name,
      description: "Weather for a city",
      inputSchema: { type: "object", properties: { city: { type: "string" } } },
      endpoint: `http://127.0.0.1:${port}/weather`,
      headers: { authorization: "Bearer never-returned" },
    });
    assert.equal(info.name, name);
    assert.ok(!JSON.stringify(await mend.tools.get(name)).includes("never-returned"));
    await mend.tools.delete(name);
    await assert.rejects(mend.tools.get(name), (e: unknown) => e instanceof MendApiError && e.status === 404);
  });

  it("renders the tools' TypeScript declarations", async () => {
    assert.match(await mend.tools.dts(), /echo/);
  });
});
