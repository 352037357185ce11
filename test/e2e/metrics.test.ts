// GET /metrics scraped around real work: the exposition parses (a parser, not regexes) and the counters
// move exactly as executions, failures, pool misses, heals, LLM calls and 429s happen; access is guarded.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { finish, runCode } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";
import { parseExposition, type Scrape } from "../support/prometheus-text.ts";

const POLICY = `name: default
tools:
  allow: ["echo", "sleep"]
codemode:
  engines: [quickjs, v8]
container:
  images: [python]
remediation:
  out_of_memory: { retries: 1, memoryMultiplier: 2 }
limits: { concurrentExecutions: 1 }
`;

const TOKEN = "metrics-token-0123456789";
let llm: FakeLlm;
let svc: ServiceProcess;
let guarded: ServiceProcess;
let policies: string;

before(async () => {
  llm = await startFakeLlm({
    script: (_req, turn, ctx) =>
      turn === 0
        ? runCode("python", "x = bytearray(80 * 1024 * 1024)\nprint(len(x) // 1048576)", { memoryMb: 64 })
        : finish(JSON.parse(ctx.lastToolResult?.content ?? "{}").stdout ?? "none"),
  });
  policies = mkdtempSync(join(tmpdir(), "mend-metrics-policies-"));
  writeFileSync(join(policies, "default.yaml"), POLICY);
  const env = {
    MEND_POLICIES_DIR: policies,
    MEND_LLM_PROVIDER: "openai",
    MEND_LLM_BASE_URL: llm.url,
    MEND_LLM_MODEL: "fake",
    // The last test leaves a long tool call running: the stop must not wait for it.
    MEND_SHUTDOWN_GRACE_MS: "0",
  };
  [svc, guarded] = await Promise.all([
    startService(env),
    startService({ ...env, MEND_METRICS_TOKEN: TOKEN }),
  ]);
});
after(async () => {
  await Promise.all([svc?.stop(), guarded?.stop()]);
  await llm?.close();
  for (const p of [svc?.dataDir, guarded?.dataDir, policies])
    if (p) rmSync(p, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown) => call(svc.url, method, path, body);

async function scrape(): Promise<Scrape> {
  const res = await fetch(`${svc.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** Polls until `check` of a scrape is true (a gauge read at scrape time), with a generous deadline. */
async function untilScrape(check: (s: Scrape) => boolean, what: string): Promise<Scrape> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await scrape();
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("GET /metrics", () => {
  it("parses, with the families and conventions operators alert on", async () => {
    const s = await scrape();
    for (const [name, type] of [
      ["mend_steps_total", "COUNTER"],
      ["mend_executions_total", "COUNTER"],
      ["mend_failures_total", "COUNTER"],
      ["mend_remediations_total", "COUNTER"],
      ["mend_pool_requests_total", "COUNTER"],
      ["mend_pool_idle_containers", "GAUGE"],
      ["mend_admission_running", "GAUGE"],
      ["mend_admission_queued", "GAUGE"],
      ["mend_admission_rejections_total", "COUNTER"],
      ["mend_llm_calls_total", "COUNTER"],
      ["mend_llm_tokens_total", "COUNTER"],
      ["mend_llm_retries_total", "COUNTER"],
      ["mend_step_duration_seconds", "HISTOGRAM"],
      ["mend_execution_duration_seconds", "HISTOGRAM"],
      ["mend_llm_call_duration_seconds", "HISTOGRAM"],
      ["mend_store_operation_duration_seconds", "HISTOGRAM"],
    ] as const) {
      assert.equal(s.families.get(name)?.type, type, name);
    }
    // The store was used to start the service (migrations, the runs to resume): its latency is there.
    assert.ok(s.count("mend_store_operation_duration_seconds") > 0);
  });

  it("counts executions by sandbox, engine and status, failures by kind, and pool misses, exactly", async () => {
    const before = await scrape();
    for (const code of ["return 1", "return 2"]) {
      const r = await api("POST", "/v1/executions", { sandbox: "codemode", engine: "quickjs", code });
      assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
    }
    const bad = await api("POST", "/v1/executions", {
      sandbox: "codemode",
      engine: "v8",
      code: "throw new Error('no')",
    });
    assert.equal(bad.body.status, "failed");
    const failureKind = bad.body.failure.kind as string;
    const box = await api("POST", "/v1/executions", {
      sandbox: "container",
      image: "python",
      code: "print(6*7)",
    });
    assert.equal(box.body.status, "succeeded", JSON.stringify(box.body));
    // A replay runs nothing: it is not counted.
    const again = await call(
      svc.url,
      "POST",
      "/v1/executions",
      { sandbox: "codemode", code: "return 3" },
      { "idempotency-key": "m-1" },
    );
    await call(
      svc.url,
      "POST",
      "/v1/executions",
      { sandbox: "codemode", code: "return 3" },
      { "idempotency-key": "m-1" },
    );
    assert.equal(again.body.status, "succeeded");
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    assert.equal(
      delta("mend_executions_total", { sandbox: "codemode", engine: "quickjs", status: "succeeded" }),
      3,
    );
    assert.equal(delta("mend_executions_total", { sandbox: "codemode", engine: "v8", status: "failed" }), 1);
    assert.equal(
      delta("mend_executions_total", { sandbox: "container", engine: "python", status: "succeeded" }),
      1,
    );
    assert.equal(delta("mend_failures_total", { kind: failureKind, sandbox: "codemode" }), 1);
    assert.equal(delta("mend_steps_total", { kind: "codemode", status: "succeeded" }), 3);
    assert.equal(delta("mend_steps_total", { kind: "codemode", status: "failed" }), 1);
    assert.equal(delta("mend_steps_total", { kind: "container", status: "succeeded" }), 1);
    // MEND_POOL_SIZE=0: the container was created on demand.
    assert.equal(delta("mend_pool_requests_total", { image: "python", result: "miss" }), 1);
    assert.equal(delta("mend_pool_requests_total", { image: "python", result: "hit" }), 0);
    assert.equal(
      after.count("mend_execution_duration_seconds", { sandbox: "codemode" }) -
        before.count("mend_execution_duration_seconds", { sandbox: "codemode" }),
      4,
    );
  });

  it("counts a hosted run's out-of-memory heal as a remediation, and its LLM calls and tokens", async () => {
    const before = await scrape();
    const r = await api("POST", "/v1/runs", { mode: "hosted", goal: "allocate 80 MiB" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const deadline = Date.now() + 120_000;
    let run: any;
    do {
      await new Promise((res) => setTimeout(res, 100));
      run = (await api("GET", `/v1/runs/${r.body.id}`)).body;
      assert.ok(Date.now() < deadline, `run still ${run.status}`);
    } while (!["succeeded", "failed", "waiting_for_input"].includes(run.status));
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    assert.equal(delta("mend_remediations_total", { kind: "out_of_memory", outcome: "healed" }), 1);
    assert.equal(delta("mend_remediations_total", { kind: "out_of_memory", outcome: "failed" }), 0);
    assert.equal(delta("mend_failures_total", { kind: "out_of_memory", sandbox: "container" }), 1);
    assert.equal(delta("mend_llm_calls_total", { provider: "openai", status: "ok" }), 2);
    assert.equal(delta("mend_steps_total", { kind: "llm", status: "succeeded" }), 2);
    assert.ok(delta("mend_llm_tokens_total", { provider: "openai", direction: "input" }) > 0);
    assert.equal(
      after.count("mend_llm_call_duration_seconds", { provider: "openai" }) -
        before.count("mend_llm_call_duration_seconds", { provider: "openai" }),
      2,
    );
  });

  it("shows the running execution per tenant and counts the 429 past the concurrency limit", async () => {
    const before = await scrape();
    // Held for long: the test never depends on how fast the machine is; the stop cuts it (grace 0).
    const long = api("POST", "/v1/executions", {
      sandbox: "codemode",
      code: "await tools.sleep({ ms: 55000 }); return 1",
      limits: { timeoutMs: 60_000 },
    });
    await untilScrape(
      (s) => s.value("mend_admission_running", { tenant: "local" }) === 1,
      "the running gauge",
    );
    const refused = await api("POST", "/v1/executions", { sandbox: "codemode", code: "return 1" });
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    const after = await scrape();
    assert.equal(
      after.value("mend_admission_rejections_total", { tenant: "local", reason: "concurrency" }) -
        before.value("mend_admission_rejections_total", { tenant: "local", reason: "concurrency" }),
      1,
    );
    assert.equal(after.value("mend_admission_queued", { tenant: "local" }), 0);
    long.catch(() => undefined); // the stop ends it
  });

  it("asks for MEND_METRICS_TOKEN when it is set: 401 without it, 403 with another, API keys do not open it", async () => {
    const none = await fetch(`${guarded.url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.match(none.headers.get("content-type") ?? "", /problem\+json/);
    const wrong = await fetch(`${guarded.url}/metrics`, {
      headers: { authorization: "Bearer not-the-token-at-all" },
    });
    assert.equal(wrong.status, 403);
    const right = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(right.status, 200);
    assert.ok(parseExposition(await right.text()).families.has("mend_steps_total"));
  });
});
