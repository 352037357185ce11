// Client-driven runs over HTTP: journaled steps, replays, checkpoints, the global cache, events and export.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc.stop();
});

const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  call(svc.url, method, path, body, headers);

async function clientRun(): Promise<string> {
  const r = await api("POST", "/v1/runs", { mode: "client", goal: "test" });
  assert.equal(r.status, 201);
  return r.body.id as string;
}

const codemode = (code: string, extra: Record<string, unknown> = {}) => ({
  type: "codemode",
  code,
  ...extra,
});

describe("client-driven runs", () => {
  it("creates a run once per Idempotency-Key", async () => {
    const a = await api("POST", "/v1/runs", { mode: "client" }, { "idempotency-key": "create-once" });
    const b = await api("POST", "/v1/runs", { mode: "client" }, { "idempotency-key": "create-once" });
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(a.body.id, b.body.id);
  });

  it("executes a step key once and replays the journaled result afterwards", async () => {
    const id = await clientRun();
    const action = codemode("return Math.random();");
    const first = await api("POST", `/v1/runs/${id}/steps`, { key: "roll", action });
    assert.equal(first.status, 200);
    assert.equal(first.body.status, "succeeded");
    assert.equal(first.body.replayed, false);
    const again = await api("POST", `/v1/runs/${id}/steps`, { key: "roll", action });
    assert.equal(again.body.replayed, true);
    assert.equal(again.body.result, first.body.result);
    assert.equal(again.body.id, first.body.id);
    const steps = await api("GET", `/v1/runs/${id}/steps`);
    assert.equal(steps.body.length, 1);
    assert.equal(steps.body[0].status, "succeeded");
  });

  it("runs two concurrent requests with one key once, and both get the result", async () => {
    const id = await clientRun();
    const action = codemode("await tools.sleep({ ms: 300 }); return Math.random();");
    const [a, b] = await Promise.all([
      api("POST", `/v1/runs/${id}/steps`, { key: "k", action }),
      api("POST", `/v1/runs/${id}/steps`, { key: "k", action }),
    ]);
    assert.equal(a.body.result, b.body.result);
    const steps = await api("GET", `/v1/runs/${id}/steps`);
    assert.equal(steps.body.length, 1);
    assert.equal(steps.body[0].attempt, 1);
  });

  it("answers a reused key with a different input with 409 step_input_mismatch showing both hashes", async () => {
    const id = await clientRun();
    const first = await api("POST", `/v1/runs/${id}/steps`, { key: "sum", action: codemode("return 1 + 1") });
    assert.equal(first.body.result, 2);
    const same = await api("POST", `/v1/runs/${id}/steps`, { key: "sum", action: codemode("return 1 + 1") });
    assert.equal(same.body.replayed, true, "the same input replays");
    const other = await api("POST", `/v1/runs/${id}/steps`, { key: "sum", action: codemode("return 2 + 2") });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.headers.get("content-type"), "application/problem+json");
    assert.equal(other.body.type, "urn:mend:problem:step_input_mismatch");
    assert.match(other.body.journaledInputHash, /^[0-9a-f]{64}$/);
    assert.match(other.body.requestInputHash, /^[0-9a-f]{64}$/);
    assert.notEqual(other.body.journaledInputHash, other.body.requestInputHash);
    const journal = (await api("GET", `/v1/runs/${id}/steps`)).body;
    assert.equal(journal[0].input.inputHash, other.body.journaledInputHash);
    const anyway = await api("POST", `/v1/runs/${id}/steps`, {
      key: "sum",
      action: codemode("return 2 + 2"),
      onInputMismatch: "replay",
    });
    assert.equal(anyway.status, 200);
    assert.equal(anyway.body.replayed, true);
    assert.equal(anyway.body.result, 2, "the journaled result, not a new execution");
    assert.equal((await api("GET", `/v1/runs/${id}/steps`)).body.length, 1);
  });

  it("refuses a one-off execution whose Idempotency-Key was used for another request", async () => {
    const headers = { "idempotency-key": `idem-${Date.now()}` };
    const first = await api("POST", "/v1/executions", { sandbox: "codemode", code: "return 'a'" }, headers);
    assert.equal(first.body.result, "a");
    const same = await api("POST", "/v1/executions", { sandbox: "codemode", code: "return 'a'" }, headers);
    assert.equal(same.body.replayed, true);
    const other = await api("POST", "/v1/executions", { sandbox: "codemode", code: "return 'b'" }, headers);
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.type, "urn:mend:problem:step_input_mismatch");
  });

  it("refuses a concurrent request with the same key and another input while the first runs", async () => {
    const id = await clientRun();
    const slow = api("POST", `/v1/runs/${id}/steps`, {
      key: "k",
      action: codemode("await tools.sleep({ ms: 400 }); return 'first';"),
    });
    // Wait until the first claim is journaled, then send another input under the same key.
    for (;;) {
      const steps = (await api("GET", `/v1/runs/${id}/steps`)).body as unknown[];
      if (steps.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const other = await api("POST", `/v1/runs/${id}/steps`, {
      key: "k",
      action: codemode("return 'second'"),
    });
    assert.equal(other.status, 409);
    assert.equal(other.body.type, "urn:mend:problem:step_input_mismatch");
    assert.equal((await slow).body.result, "first");
  });

  it("journals a failed step as a result and replays the failure", async () => {
    const id = await clientRun();
    const first = await api("POST", `/v1/runs/${id}/steps`, {
      key: "bad",
      action: codemode("throw new TypeError('nope')"),
    });
    assert.equal(first.status, 200);
    assert.equal(first.body.status, "failed");
    assert.equal(first.body.failure.kind, "runtime_error");
    const again = await api("POST", `/v1/runs/${id}/steps`, {
      key: "bad",
      action: codemode("throw new TypeError('nope')"),
    });
    assert.equal(again.body.replayed, true);
    assert.equal(again.body.failure.kind, "runtime_error");
  });

  it("runs a structured tool step", async () => {
    const id = await clientRun();
    const r = await api("POST", `/v1/runs/${id}/steps`, {
      key: "t",
      action: { type: "tool", tool: "echo", args: { text: "hi" } },
    });
    assert.equal(r.body.status, "succeeded");
    assert.deepEqual(r.body.result, { text: "hi" });
  });

  it("refuses steps on a finished or cancelled run with 409", async () => {
    const done = await clientRun();
    assert.equal(
      (await api("POST", `/v1/runs/${done}/complete`, { output: { ok: true } })).body.status,
      "succeeded",
    );
    const r1 = await api("POST", `/v1/runs/${done}/steps`, { key: "late", action: codemode("return 1") });
    assert.equal(r1.status, 409);
    assert.equal(r1.headers.get("content-type"), "application/problem+json");
    assert.deepEqual((await api("GET", `/v1/runs/${done}`)).body.output, { ok: true });
    const cancelled = await clientRun();
    await api("POST", `/v1/runs/${cancelled}/cancel`);
    assert.equal(
      (await api("POST", `/v1/runs/${cancelled}/steps`, { key: "late", action: codemode("return 1") }))
        .status,
      409,
    );
  });

  it("aborts a step in progress when its run is cancelled, and journals it as interrupted", async () => {
    const id = await clientRun();
    const pending = api("POST", `/v1/runs/${id}/steps`, {
      key: "long",
      action: { type: "tool", tool: "sleep", args: { ms: 20000 } },
    });
    // Cancel only once the step is journaled as started (else the step would be refused, not aborted).
    while ((await api("GET", `/v1/runs/${id}/steps`)).body.length === 0)
      await new Promise((r) => setTimeout(r, 20));
    await api("POST", `/v1/runs/${id}/cancel`);
    const r = await pending;
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "interrupted");
    assert.ok(r.body.usage.wallMs < 20000);
    const steps = (await api("GET", `/v1/runs/${id}/steps`)).body;
    assert.equal(steps[0].failure.kind, "interrupted");
  });

  it("answers 404 for an unknown run and 400 for bad step keys", async () => {
    assert.equal((await api("GET", "/v1/runs/run_doesnotexist")).status, 404);
    assert.equal(
      (await api("POST", "/v1/runs/run_doesnotexist/steps", { key: "k", action: codemode("return 1") }))
        .status,
      404,
    );
    const id = await clientRun();
    const long = await api("POST", `/v1/runs/${id}/steps`, {
      key: "k".repeat(257),
      action: codemode("return 1"),
    });
    assert.equal(long.status, 400);
    assert.ok(long.body.errors.some((e: { path: string }) => e.path === "/key"));
    assert.equal(
      (await api("POST", `/v1/runs/${id}/steps`, { key: "a\u0001b", action: codemode("return 1") })).status,
      400,
    );
  });

  it("answers malformed JSON with 400 and the position", async () => {
    const id = await clientRun();
    const r = await api("POST", `/v1/runs/${id}/steps`, '{"key": "k", "action": {');
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /position|column|JSON/);
  });

  it("stores checkpoints and refuses values over the cap with 413", async () => {
    const id = await clientRun();
    const put = await api("PUT", `/v1/runs/${id}/checkpoints/plan`, { value: { steps: [1, 2, 3] } });
    assert.equal(put.status, 200);
    const got = await api("GET", `/v1/runs/${id}/checkpoints/plan`);
    assert.deepEqual(got.body.value, { steps: [1, 2, 3] });
    assert.equal((await api("GET", `/v1/runs/${id}/checkpoints/missing`)).status, 404);
    const big = await api("PUT", `/v1/runs/${id}/checkpoints/big`, { value: "x".repeat(1024 * 1024 + 10) });
    assert.equal(big.status, 413);
  });

  it("lists runs by status with cursor paging", async () => {
    const ids = [await clientRun(), await clientRun(), await clientRun()];
    for (const id of ids) await api("POST", `/v1/runs/${id}/complete`, { output: id });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api("GET", `/v1/runs?status=succeeded&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(page.status, 200);
      seen.push(
        ...page.body.items.map(
          (r: { id: string; status: string }) => (assert.equal(r.status, "succeeded"), r.id),
        ),
      );
      cursor = page.body.nextCursor;
    } while (cursor);
    for (const id of ids) assert.ok(seen.includes(id));
    assert.equal((await api("GET", "/v1/runs?limit=0")).status, 400);
    assert.equal((await api("GET", "/v1/runs?cursor=bogus")).status, 400);
  });

  it("keeps large outputs in the blob store and serves them by sha256", async () => {
    const id = await clientRun();
    const r = await api("POST", `/v1/runs/${id}/steps`, {
      key: "big",
      action: codemode("return 'y'.repeat(20000);"),
    });
    assert.equal(r.body.result.length, 20000);
    const steps = await api("GET", `/v1/runs/${id}/steps`);
    const ref = steps.body[0].output.result;
    assert.match(ref.$blob, /^[0-9a-f]{64}$/);
    const blob = await fetch(`${svc.url}/v1/blobs/${ref.$blob}`);
    assert.equal(blob.status, 200);
    assert.equal(JSON.parse(await blob.text()).length, 20000);
    const replay = await api("POST", `/v1/runs/${id}/steps`, {
      key: "big",
      action: codemode("return 'y'.repeat(20000);"),
    });
    assert.equal(replay.body.result.length, 20000);
  });
});

describe("journal values that look like blob references", () => {
  it("replays a result shaped like a blob reference exactly as it was returned", async () => {
    const id = await clientRun();
    await api("POST", `/v1/runs/${id}/steps`, { key: "big", action: codemode("return 'z'.repeat(9000);") });
    const sha = (await api("GET", `/v1/runs/${id}/steps`)).body[0].output.result.$blob as string;
    const lookalike = `return { $blob: ${JSON.stringify(sha)}, size: 1, json: true };`;
    const live = await api("POST", `/v1/runs/${id}/steps`, { key: "fake", action: codemode(lookalike) });
    const replay = await api("POST", `/v1/runs/${id}/steps`, { key: "fake", action: codemode(lookalike) });
    assert.deepEqual(live.body.result, { $blob: sha, size: 1, json: true });
    assert.equal(replay.body.replayed, true);
    assert.deepEqual(replay.body.result, live.body.result);
  });
});

describe("the global cache", () => {
  it("serves a cacheable tool from the cache in a second run, and can be bypassed and cleared", async () => {
    await api("DELETE", "/v1/cache?tool=echo");
    const before = (await api("GET", "/v1/cache/stats")).body;
    const script = codemode("return await tools.echo({ text: 'cache me ' + 42 });");
    const a = await api("POST", `/v1/runs/${await clientRun()}/steps`, { key: "s", action: script });
    const b = await api("POST", `/v1/runs/${await clientRun()}/steps`, { key: "s", action: script });
    assert.equal(a.body.toolCalls[0].cached, false);
    assert.equal(b.body.toolCalls[0].cached, true);
    const c = await api("POST", `/v1/runs/${await clientRun()}/steps`, {
      key: "s",
      action: { ...script, cache: "bypass" },
    });
    assert.equal(c.body.toolCalls[0].cached, false);
    const stats = (await api("GET", "/v1/cache/stats")).body;
    assert.equal(stats.hits, before.hits + 1);
    assert.ok(stats.entries >= 1);
    assert.ok((await api("DELETE", "/v1/cache?tool=echo")).body.removed >= 1);
    const d = await api("POST", `/v1/runs/${await clientRun()}/steps`, { key: "s", action: script });
    assert.equal(d.body.toolCalls[0].cached, false);
  });
});

describe("run events", () => {
  it("streams journal events as SSE and resumes after Last-Event-ID", async () => {
    const id = await clientRun();
    await api("POST", `/v1/runs/${id}/steps`, { key: "one", action: codemode("return 1") });
    await api("POST", `/v1/runs/${id}/steps`, { key: "two", action: codemode("return 2") });
    await api("POST", `/v1/runs/${id}/complete`, { output: 3 });
    const read = async (lastId?: string) => {
      const res = await fetch(`${svc.url}/v1/runs/${id}/events`, {
        headers: lastId ? { "last-event-id": lastId } : {},
      });
      assert.equal(res.headers.get("content-type")?.split(";")[0], "text/event-stream");
      const text = await res.text();
      return text
        .split("\n\n")
        .filter((b) => b.includes("event:"))
        .map((b) => ({ id: /id: (\d+)/.exec(b)![1]!, event: /event: (.+)/.exec(b)![1]! }));
    };
    const all = await read();
    assert.deepEqual(
      all.map((e) => e.event),
      ["step.started", "step.completed", "step.started", "step.completed", "run.completed"],
    );
    const rest = await read(all[1]!.id);
    assert.deepEqual(
      rest.map((e) => e.id),
      all.slice(2).map((e) => e.id),
    );
  });
});

describe("trajectory export", () => {
  it("streams failed runs as JSONL with each step's failure and the recovery that followed", async () => {
    const id = await clientRun();
    await api("POST", `/v1/runs/${id}/steps`, {
      key: "try",
      action: codemode("throw new Error('first try')"),
    });
    await api("POST", `/v1/runs/${id}/steps`, { key: "fix", action: codemode("return 'fixed'") });
    const res = await fetch(`${svc.url}/v1/runs/export?run=${id}&format=jsonl`);
    assert.equal(res.status, 200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    const [t] = lines;
    assert.equal(t.run.id, id);
    assert.equal(t.steps[0].failure.kind, "runtime_error");
    assert.equal(t.steps[0].recovery.key, "fix");
    assert.equal(t.failures, 1);
  });
});
