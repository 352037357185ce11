import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeLlm, type FakeLlm, type Script } from "../../../test/support/fake-llm.ts";
import {
  callTool,
  finish,
  hang,
  httpError,
  malformed,
  rawBody,
  stall,
  together,
} from "../../../test/support/fake-llm-turns.ts";
import type { LlmRequest } from "./llm-provider.ts";
import { OpenAiProvider } from "./openai-provider.ts";

const fast = { baseBackoffMs: 1, maxBackoffMs: 20 };

/** One fake for the file; each test scripts its own conversation, keyed by a distinct goal. */
const scripts = new Map<string, Script>();
let llm: FakeLlm;
before(async () => {
  llm = await startFakeLlm({
    script: (req, turn, ctx) => {
      const script = [...scripts].find(([goal]) => ctx.conversation.includes(goal))?.[1];
      if (!script) throw new Error(`no script for ${ctx.conversation}`);
      return script(req, turn, ctx);
    },
  });
});
after(() => llm.close());

function request(goal: string, extra: Partial<LlmRequest> = {}): LlmRequest {
  return {
    model: "fake-model",
    system: "You are a test.",
    messages: [{ role: "user", content: `Goal: ${goal}` }],
    tools: [
      { name: "github.search", description: "Search GitHub", inputSchema: { type: "object" } },
      { name: "finish", description: "Finish", inputSchema: { type: "object" } },
    ],
    ...extra,
  };
}

describe("OpenAiProvider", () => {
  it("sends system, history and encoded tools, and maps the answer back with our tool names", async () => {
    scripts.set("mapping", () => ({
      content: "searching",
      toolCalls: [{ name: "github.search", arguments: { q: "mend" } }],
      usage: { promptTokens: 11, completionTokens: 3 },
    }));
    const provider = new OpenAiProvider({ baseUrl: llm.url, apiKey: "sk-test", ...fast });
    const out = await provider.complete(
      request("mapping", {
        temperature: 0.2,
        maxOutputTokens: 500,
        idempotencyKey: "run-1/3",
        messages: [
          { role: "user", content: "Goal: mapping" },
          {
            role: "assistant",
            content: null,
            toolCalls: [
              { id: "c1", name: "github.search", argumentsJson: '{"q":"a"}' },
              { id: "c2", name: "github.search", argumentsJson: '{"q":"b"}' },
            ],
          },
          { role: "tool", toolCallId: "c1", name: "github.search", content: "[1]" },
          { role: "tool", toolCallId: "c2", name: "github.search", content: "[2]" },
        ],
      }),
    );
    assert.ok(out.ok);
    assert.deepEqual(out.response, {
      content: "searching",
      toolCalls: [{ id: "call_1_0", name: "github.search", argumentsJson: '{"q":"mend"}' }],
      usage: { inputTokens: 11, outputTokens: 3 },
      finishReason: "tool_calls",
      attempts: 1,
    });
    const seen = llm.seen("mapping");
    assert.equal(seen.length, 1);
    const rec = seen[0]!;
    assert.equal(rec.authorization, "Bearer sk-test");
    assert.equal(rec.idempotencyKey, "run-1/3");
    const body = rec.body!;
    assert.equal(body.model, "fake-model");
    assert.equal(body.temperature, 0.2);
    assert.equal(body.max_tokens, 500);
    assert.equal(body.tool_choice, "auto");
    assert.deepEqual(
      body.tools?.map((t) => t.function.name),
      ["github__search", "finish"],
    );
    assert.deepEqual(body.messages[0], { role: "system", content: "You are a test." });
    assert.deepEqual(body.messages[2], {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "c1", type: "function", function: { name: "github__search", arguments: '{"q":"a"}' } },
        { id: "c2", type: "function", function: { name: "github__search", arguments: '{"q":"b"}' } },
      ],
    });
    assert.deepEqual(body.messages[4], { role: "tool", tool_call_id: "c2", content: "[2]" });
  });

  it("sends an empty assistant answer in the history as an empty string, which OpenAI accepts", async () => {
    scripts.set("silent history", () => finish("ok"));
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast }).complete(
      request("silent history", {
        messages: [
          { role: "user", content: "Goal: silent history" },
          { role: "assistant", content: null },
          { role: "user", content: "Error: you answered nothing. Call an action." },
        ],
      }),
    );
    assert.ok(out.ok);
    assert.deepEqual(llm.seen("silent history")[0]!.body!.messages[2], { role: "assistant", content: "" });
  });

  it("returns several tool calls of one turn in order", async () => {
    scripts.set("parallel", () => together(callTool("github.search", { q: 1 }), finish("done")));
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast }).complete(request("parallel"));
    assert.ok(out.ok);
    assert.deepEqual(
      out.response.toolCalls.map((c) => [c.name, c.argumentsJson]),
      [
        ["github.search", '{"q":1}'],
        ["finish", '{"answer":"done"}'],
      ],
    );
  });

  it("passes malformed tool-call arguments through raw, for the loop to judge", async () => {
    scripts.set("malformed args", () => malformed("finish"));
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast }).complete(request("malformed args"));
    assert.ok(out.ok);
    assert.equal(out.response.toolCalls[0]!.argumentsJson, '{"image": "python", "code": "print(1)');
  });

  it("retries a 429 after its Retry-After and reports 2 attempts", async () => {
    scripts.set("rate limited", (_r, _t, ctx) => (ctx.attempt === 0 ? httpError(429, 1) : finish("ok")));
    const delays: number[] = [];
    const provider = new OpenAiProvider({
      baseUrl: llm.url,
      ...fast,
      onRetry: (i) => delays.push(i.delayMs),
    });
    const out = await provider.complete(request("rate limited"));
    assert.ok(out.ok);
    assert.equal(out.response.attempts, 2);
    assert.deepEqual(delays, [20], "Retry-After: 1 s, capped by maxBackoffMs");
  });

  it("fails with llm_failed after repeated 500s", async () => {
    scripts.set("always 500", () => httpError(500));
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast, maxAttempts: 3 }).complete(
      request("always 500"),
    );
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, "llm_failed");
    assert.equal(out.failure.retryable, true);
    assert.equal(out.failure.status, 500);
    assert.equal(out.failure.remedy?.action, "retry_later");
    assert.match(out.failure.message, /openai.*failed 3 calls in a row.*HTTP 500/);
    assert.equal(llm.seen("always 500").length, 3);
  });

  it("does not retry a 400", async () => {
    scripts.set("bad request", () => ({ status: 400, body: '{"error":{"message":"model not supported"}}' }));
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast }).complete(request("bad request"));
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, "llm_failed");
    assert.equal(out.failure.retryable, false);
    assert.equal(out.failure.status, 400);
    assert.match(out.failure.message, /model not supported/);
    assert.equal(llm.seen("bad request").length, 1);
  });

  it("retries an attempt that gets no answer within the timeout", async () => {
    scripts.set("slow", (_r, _t, ctx) => (ctx.attempt === 0 ? hang() : finish("late")));
    const provider = new OpenAiProvider({ baseUrl: llm.url, ...fast, attemptTimeoutMs: 200 });
    const out = await provider.complete(request("slow"));
    assert.ok(out.ok);
    assert.equal(out.response.attempts, 2);
    assert.equal(out.response.toolCalls[0]!.name, "finish");
  });

  it("asks for a streamed answer and reassembles content and tool calls split across deltas", async () => {
    scripts.set("streamed", () => ({
      content: "thinking about it",
      toolCalls: [{ name: "math.add", arguments: { a: 1, b: 22 } }],
    }));
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast }).complete(request("streamed"));
    assert.ok(out.ok);
    assert.equal(llm.seen("streamed")[0]!.body!.stream, true);
    assert.equal(out.response.content, "thinking about it");
    assert.deepEqual(
      out.response.toolCalls.map((c) => [c.name, JSON.parse(c.argumentsJson)]),
      [["math.add", { a: 1, b: 22 }]],
    );
    assert.equal(out.response.finishReason, "tool_calls");
    assert.ok(out.response.usage.inputTokens > 0 && out.response.usage.outputTokens > 0);
  });

  it("abandons an answer that sends headers and then nothing after the stall timeout, and retries at once", async () => {
    scripts.set("stalled", (_r, _t, ctx) => (ctx.attempt === 0 ? stall() : finish("after the stall")));
    // A long backoff and a long call timeout: only the stall timeout can end the first attempt, and the
    // retry is journaled with no wait (delayMs 0) whatever the backoff would have been.
    const provider = new OpenAiProvider({
      baseUrl: llm.url,
      baseBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      attemptTimeoutMs: 120_000,
      stallTimeoutMs: 300,
    });
    const out = await provider.complete(request("stalled"));
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.response.attempts, 2);
    assert.equal(out.response.toolCalls[0]!.name, "finish");
    assert.equal(llm.seen("stalled")[0]!.status, 200, "the stalled attempt had its headers");
    const [retry] = out.response.retries ?? [];
    assert.deepEqual(
      [retry?.attempt, retry?.delayMs, retry?.stalled, retry?.status],
      [1, 0, true, undefined],
    );
    assert.match(retry!.reason, /stalled: nothing received from the provider for 300 ms/);
  });

  it("retries a malformed response body, then fails with llm_failed", async () => {
    scripts.set("garbage", (_r, _t, ctx) =>
      ctx.attempt === 0 ? rawBody("{not json") : rawBody('{"choices":[]}'),
    );
    const out = await new OpenAiProvider({ baseUrl: llm.url, ...fast, maxAttempts: 2 }).complete(
      request("garbage"),
    );
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, "llm_failed");
    assert.match(out.failure.message, /malformed response: the provider answered with no choices/);
    assert.equal(out.failure.retries?.[0]?.reason, "the response body is not JSON");
    assert.equal(llm.seen("garbage").length, 2);
  });

  it("reports interrupted when the caller aborts mid-call", async () => {
    scripts.set("aborted", () => hang());
    const controller = new AbortController();
    const pending = new OpenAiProvider({ baseUrl: llm.url, ...fast }).complete(
      request("aborted"),
      controller.signal,
    );
    while (llm.seen("aborted").length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const out = await pending;
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, "interrupted");
  });

  it("retries connection errors, then fails with llm_failed", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const out = await new OpenAiProvider({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      ...fast,
      maxAttempts: 2,
    }).complete(request("nobody home"));
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, "llm_failed");
    assert.match(out.failure.message, /failed 2 calls in a row.*connection error.*ECONNREFUSED/);
  });

  it("honours an HTTP-date Retry-After from a plain server", async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { "retry-after": new Date(Date.now() - 1000).toUTCString() }).end("busy");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ message: { content: "hi" }, finish_reason: "stop" }] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const delays: number[] = [];
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const out = await new OpenAiProvider({
        baseUrl: url,
        ...fast,
        onRetry: (i) => delays.push(i.delayMs),
      }).complete(request("date"));
      assert.ok(out.ok);
      assert.deepEqual(out.response, {
        content: "hi",
        toolCalls: [],
        usage: { inputTokens: 0, outputTokens: 0 },
        finishReason: "stop",
        attempts: 2,
        retries: [
          { attempt: 1, delayMs: 0, reason: out.response.retries![0]!.reason, status: 503, retryAfterMs: 0 },
        ],
      });
      assert.deepEqual(delays, [0], "a date in the past: retry at once");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
