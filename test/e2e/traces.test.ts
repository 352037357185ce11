// OpenTelemetry traces end to end: a loopback OTLP/HTTP receiver gets the spans of one step (request →
// step → sandbox execution → tool calls) with their parent/child links, attributes and the caller's trace
// id, a tool server sees `traceparent`, and a hosted run's LLM call is a `gen_ai` span.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startToolHttpServer, type ToolHttpServer } from "../support/tool-http-server.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { finish } from "../support/fake-llm-turns.ts";
import { openPolicyDir } from "../support/tool-test-kit.ts";
import { call } from "../support/http-json.ts";

let otlp: OtlpReceiver;
let tools: ToolHttpServer;
let llm: FakeLlm;
let svc: ServiceProcess;
let policies: string;

before(async () => {
  otlp = await startOtlpReceiver();
  tools = await startToolHttpServer({
    "/probe": () => ({ status: 200, json: { ok: true } }),
    "/fetched": () => ({ status: 200, text: "fetched" }),
  });
  llm = await startFakeLlm({ script: () => finish("done") });
  policies = openPolicyDir();
  svc = await startService({
    MEND_POLICIES_DIR: policies,
    MEND_LLM_PROVIDER: "openai",
    MEND_LLM_BASE_URL: llm.url,
    MEND_LLM_MODEL: "fake",
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_SERVICE_NAME: "mend-traces-test",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });
});
after(async () => {
  await svc?.stop();
  await Promise.all([otlp?.close(), tools?.close(), llm?.close()]);
  for (const p of [svc?.dataDir, policies]) if (p) rmSync(p, { recursive: true, force: true });
});

/** Polls the receiver until `pick` finds what the test needs (spans are batched, then exported). */
async function until<T>(pick: (spans: ReceivedSpan[]) => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = pick(otlp.spans);
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; got ${otlp.spans.map((s) => s.name)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("traces", () => {
  it("export a step's spans under the caller's trace, with links, attributes and traceparent to tools", async () => {
    const reg = await call(svc.url, "POST", "/v1/tools", {
      name: "trace.probe",
      description: "Answers ok.",
      inputSchema: { type: "object", properties: { x: { type: "integer" } } },
      endpoint: `${tools.url}/probe`,
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const run = await call(svc.url, "POST", "/v1/runs", { mode: "client", goal: "traced" });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const code = [
      "const a = await tools.trace.probe({ x: 1 });",
      `const b = await tools.http.fetch({ url: "${tools.url}/fetched" });`,
      "return [a.ok, b.body];",
    ].join("\n");
    const step = await call(
      svc.url,
      "POST",
      `/v1/runs/${run.body.id}/steps`,
      { key: "traced-step", action: { type: "codemode", code } },
      { traceparent: `00-${traceId}-${callerSpan}-01` },
    );
    assert.equal(step.body.status, "succeeded", JSON.stringify(step.body));
    assert.deepEqual(step.body.result, [true, "fetched"]);

    const mine = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    // Spans are exported in batches as they end (tool calls first, the request last), so the test waits
    // for the whole set, not the first batch.
    const spans = await until((all) => {
      const m = mine(all);
      const complete =
        m.filter((s) => s.name === "mend.tool.call").length === 2 &&
        ["mend.sandbox.execute", "mend.step"].every((n) => m.some((s) => s.name === n)) &&
        m.some((s) => s.name === "POST" && s.parentSpanId === callerSpan);
      return complete ? m : undefined;
    }, "the step's spans");
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const request = byName("POST").find((s) => s.parentSpanId === callerSpan);
    assert.ok(request, `a server span continues the caller's span: ${JSON.stringify(spans)}`);
    assert.equal(request.kind, 2); // SERVER
    assert.equal(request.service, "mend-traces-test");
    assert.equal(request.attributes["http.response.status_code"], 200);
    const stepSpan = byName("mend.step").find((s) => s.parentSpanId === request.spanId);
    assert.ok(stepSpan, "the step is a child of the request");
    assert.equal(stepSpan.attributes["mend.run_id"], run.body.id);
    assert.equal(stepSpan.attributes["mend.step.key"], "traced-step");
    assert.equal(stepSpan.attributes["mend.step.kind"], "codemode");
    assert.equal(stepSpan.attributes["mend.step.attempt"], 1);
    assert.equal(stepSpan.attributes["mend.step.status"], "succeeded");
    const sandbox = byName("mend.sandbox.execute").find((s) => s.parentSpanId === stepSpan.spanId);
    assert.ok(sandbox, "the sandbox execution is a child of the step");
    assert.equal(sandbox.attributes["mend.sandbox"], "codemode");
    assert.equal(sandbox.attributes["mend.engine"], "quickjs");
    const toolSpans = byName("mend.tool.call");
    // Guest tool calls come back through worker messages: still children of their sandbox span.
    for (const t of toolSpans) assert.equal(t.parentSpanId, sandbox.spanId, JSON.stringify(t));
    assert.deepEqual(toolSpans.map((t) => t.attributes["mend.tool"]).sort(), ["http.fetch", "trace.probe"]);

    // Each tool server request carries the trace and its tool-call span as parent.
    for (const [path, tool] of [
      ["/probe", "trace.probe"],
      ["/fetched", "http.fetch"],
    ] as const) {
      const seen = tools.calls.find((c) => c.path === path)?.headers.traceparent;
      const span = toolSpans.find((t) => t.attributes["mend.tool"] === tool)!;
      assert.equal(seen, `00-${traceId}-${span.spanId}-01`, path);
    }
  });

  it("export a hosted run's LLM call as a gen_ai span under its step", async () => {
    const run = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal: "say done" });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    const chat = await until(
      (all) => all.find((s) => s.name === "chat fake" && s.attributes["gen_ai.system"] === "openai"),
      "the LLM span",
    );
    assert.equal(chat.attributes["gen_ai.request.model"], "fake");
    assert.equal(typeof chat.attributes["gen_ai.usage.input_tokens"], "number");
    const parent = await until(
      (all) => all.find((s) => s.spanId === chat.parentSpanId),
      "the LLM call's parent span",
    );
    assert.equal(parent.name, "mend.step");
    assert.equal(parent.attributes["mend.step.kind"], "llm");
    assert.equal(parent.attributes["mend.run_id"], run.body.id);
  });
});
