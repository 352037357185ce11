// A relay client that goes away mid-call leaves its step unfinished (interrupted, not failed): the same
// runId and key run again later re-execute the script, replaying the tool calls the journal recorded.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { loadConfig } from "../../service/src/config/config.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices } from "../../service/src/services/services.ts";
import { createApp } from "../../service/src/edge/app.ts";

let services: Awaited<ReturnType<typeof createServices>>;
let server: ServerType;
let url: string;
before(async () => {
  const config = loadConfig({
    MEND_DATA_DIR: mkdtempSync(join(tmpdir(), "mend-relay-cut-")),
    MEND_LOG_LEVEL: "silent",
  });
  services = await createServices(config, createLogger("silent"), { containers: false });
  server = serve({ fetch: createApp(services).fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await services.dispose();
});

const SCRIPT = "const a = await tools.ask({ n: 1 }); const b = await tools.ask({ n: 2 }); return a.v + b.v;";
const TOOLS = [{ name: "ask", inputSchema: { type: "object", properties: { n: { type: "integer" } } } }];

/** Starts a relay execution and answers its tool calls with `answer`; `stopAt` disconnects at that call. */
async function relay(runId: string, answer: (n: number) => number, stopAt?: number) {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/relay/executions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: SCRIPT, tools: TOOLS, runId, key: "relayed" }),
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let id = "";
  const asked: number[] = [];
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) return { asked, result: undefined };
    buffered += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const ev = JSON.parse(buffered.slice(0, nl)) as Record<string, any>;
      buffered = buffered.slice(nl + 1);
      if (ev.type === "started") id = ev.id as string;
      if (ev.type === "result") return { asked, result: ev.execution as Record<string, any> };
      if (ev.type === "tool_call") {
        const n = (ev.args as { n: number }).n;
        asked.push(n);
        if (n === stopAt) {
          ac.abort();
          return { asked, result: undefined };
        }
        await fetch(`${url}/v1/relay/executions/${id}/results/${ev.seq}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ok: true, value: { v: answer(n) } }),
        });
      }
    }
  }
}

describe("a relay client that disconnects mid-call", () => {
  it("leaves the step interrupted, and the same key re-executes it later with the recorded calls replayed", async () => {
    const created = await fetch(`${url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mode: "client" }),
    });
    const runId = ((await created.json()) as { id: string }).id;
    const first = await relay(runId, (n) => n * 10, 2);
    assert.deepEqual(first.asked, [1, 2]);
    // The service notices the disconnect and ends the attempt as unfinished.
    let step:
      { status: string; attempt: number; failure: { kind: string; retryable: boolean } | null } | undefined;
    for (;;) {
      const steps = (await (await fetch(`${url}/v1/runs/${runId}/steps`)).json()) as (typeof step)[];
      step = steps[0];
      if (step && step.status !== "started") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(step.status, "interrupted");
    assert.equal(step.failure?.kind, "interrupted");
    assert.equal(step.failure?.retryable, true);

    const second = await relay(runId, (n) => n * 10);
    assert.deepEqual(
      second.asked,
      [2],
      "the first call replays from the journal; only the cut one is asked again",
    );
    assert.equal(second.result?.status, "succeeded", JSON.stringify(second.result));
    assert.equal(second.result?.result, 30);
    assert.equal(second.result?.attempts, 2);
    assert.equal(second.result?.replayed, false);
  });
});
