import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { AnthropicProvider } from "./anthropic-provider.ts";
import type { LlmRequest } from "./llm-provider.ts";

const fast = { baseUrl: "", apiKey: "ak-test", baseBackoffMs: 1, maxBackoffMs: 20 };

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;

  body: Record<string, any>;
}
type Answer = { status: number; body: string; headers?: Record<string, string> };

/** A minimal Messages endpoint: records requests and plays the queued answers. */
const seen: Seen[] = [];
let answers: Answer[] = [];
let server: ReturnType<typeof createServer>;
before(async () => {
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(text) });
      const a = answers.shift() ?? { status: 500, body: '{"error":{"message":"no answer queued"}}' };
      res.writeHead(a.status, { "content-type": "application/json", ...a.headers }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  fast.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function reply(body: object): Answer {
  return { status: 200, body: JSON.stringify(body) };
}

function play(...queued: Answer[]): void {
  seen.length = 0;
  answers = queued;
}

const baseRequest: LlmRequest = {
  model: "claude-test",
  system: "You are a test.",
  messages: [{ role: "user", content: "Goal: add" }],
  tools: [{ name: "math.add", description: "Adds", inputSchema: { type: "object" } }],
};

/** Messages API events of a streamed answer, as `event:`/`data:` pairs. */
function streamed(events: [string, object][]): Answer {
  return {
    status: 200,
    body: events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify({ type: e, ...d })}\n\n`).join(""),
    headers: { "content-type": "text/event-stream" },
  };
}

describe("AnthropicProvider", () => {
  it("asks for a stream and rebuilds text and tool_use blocks from their events", async () => {
    play(
      streamed([
        [
          "message_start",
          {
            message: {
              id: "msg_1",
              type: "message",
              role: "assistant",
              content: [],
              usage: { input_tokens: 12, output_tokens: 1 },
            },
          },
        ],
        ["content_block_start", { index: 0, content_block: { type: "text", text: "" } }],
        ["content_block_delta", { index: 0, delta: { type: "text_delta", text: "Adding " } }],
        ["content_block_delta", { index: 0, delta: { type: "text_delta", text: "now" } }],
        ["content_block_stop", { index: 0 }],
        [
          "content_block_start",
          { index: 1, content_block: { type: "tool_use", id: "tu_1", name: "math__add", input: {} } },
        ],
        ["content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: '{"a": 2,' } }],
        ["content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: ' "b": 3}' } }],
        ["content_block_stop", { index: 1 }],
        ["message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } }],
        ["message_stop", {}],
      ]),
    );
    const out = await new AnthropicProvider(fast).complete(baseRequest);
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(seen[0]!.body.stream, true);
    assert.equal(out.response.content, "Adding now");
    assert.deepEqual(
      out.response.toolCalls.map((c) => [c.id, c.name, JSON.parse(c.argumentsJson)]),
      [["tu_1", "math.add", { a: 2, b: 3 }]],
    );
    assert.deepEqual(out.response.usage, { inputTokens: 12, outputTokens: 9 });
  });

  it("sends system on top, tool_use blocks, and consecutive tool results merged into one user message", async () => {
    play(
      reply({
        content: [{ type: "text", text: "done" }],
        stop_reason: "end_turn",
        usage: { input_tokens: 9, output_tokens: 2 },
      }),
    );
    const out = await new AnthropicProvider(fast).complete({
      ...baseRequest,
      temperature: 1.5,
      idempotencyKey: "run-1/2",
      messages: [
        { role: "user", content: "Goal: add" },
        {
          role: "assistant",
          content: "adding",
          toolCalls: [
            { id: "t1", name: "math.add", argumentsJson: '{"a":1,"b":2}' },
            { id: "t2", name: "math.add", argumentsJson: "{broken" },
          ],
        },
        { role: "tool", toolCallId: "t1", name: "math.add", content: "3" },
        { role: "tool", toolCallId: "t2", name: "math.add", content: "tool_input_invalid" },
        { role: "user", content: "A human says: carry on" },
      ],
    });
    assert.ok(out.ok);
    assert.deepEqual(out.response, {
      content: "done",
      toolCalls: [],
      usage: { inputTokens: 9, outputTokens: 2 },
      finishReason: "stop",
      attempts: 1,
    });
    const { path, headers, body } = seen[0]!;
    assert.equal(path, "/v1/messages");
    assert.equal(headers["x-api-key"], "ak-test");
    assert.equal(headers["anthropic-version"], "2023-06-01");
    assert.equal(headers["idempotency-key"], "run-1/2");
    assert.equal(body.system, "You are a test.");
    assert.equal(body.max_tokens, 4096);
    assert.equal(body.temperature, 1, "clamped to Anthropic's range");
    assert.deepEqual(body.tools, [
      { name: "math__add", description: "Adds", input_schema: { type: "object" } },
    ]);
    assert.deepEqual(body.tool_choice, { type: "auto" });
    assert.deepEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "Goal: add" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "adding" },
          { type: "tool_use", id: "t1", name: "math__add", input: { a: 1, b: 2 } },
          { type: "tool_use", id: "t2", name: "math__add", input: { _raw: "{broken" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "t1", content: "3" },
          { type: "tool_result", tool_use_id: "t2", content: "tool_input_invalid" },
          { type: "text", text: "A human says: carry on" },
        ],
      },
    ]);
  });

  it("maps tool_use blocks back to tool calls with our names and JSON arguments", async () => {
    play(
      reply({
        content: [
          { type: "thinking", thinking: "hmm" },
          { type: "tool_use", id: "toolu_1", name: "math__add", input: { a: 2, b: 3 } },
        ],
        stop_reason: "tool_use",
        usage: { input_tokens: 5, output_tokens: 7 },
      }),
    );
    const out = await new AnthropicProvider(fast).complete(baseRequest);
    assert.ok(out.ok);
    assert.equal(out.response.content, null);
    assert.deepEqual(out.response.toolCalls, [
      { id: "toolu_1", name: "math.add", argumentsJson: '{"a":2,"b":3}' },
    ]);
    assert.equal(out.response.finishReason, "tool_calls");
  });

  it("retries 529 overloaded with its Retry-After, then succeeds", async () => {
    play(
      {
        status: 529,
        body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
        headers: { "retry-after": "0" },
      },
      reply({ content: [{ type: "text", text: "ok" }], stop_reason: "end_turn" }),
    );
    const out = await new AnthropicProvider(fast).complete(baseRequest);
    assert.ok(out.ok);
    assert.equal(out.response.attempts, 2);
  });

  it("treats a tool_use block without an id as a malformed response and retries it", async () => {
    const bad = reply({
      content: [{ type: "tool_use", name: "math__add", input: {} }],
      stop_reason: "tool_use",
    });
    play(bad, bad);
    const out = await new AnthropicProvider({ ...fast, maxAttempts: 2 }).complete(baseRequest);
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, "llm_failed");
    assert.match(out.failure.message, /anthropic.*failed 2 calls in a row.*malformed response: \/content\/0/);
    assert.equal(seen.length, 2);
  });

  it("does not retry an authentication error and says what to check", async () => {
    play({
      status: 401,
      body: '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
    });
    const out = await new AnthropicProvider(fast).complete(baseRequest);
    assert.ok(!out.ok);
    assert.equal(out.failure.retryable, false);
    assert.equal(out.failure.status, 401);
    assert.equal(out.failure.remedy?.action, "check_configuration");
    assert.match(out.failure.message, /invalid x-api-key/);
    assert.equal(seen.length, 1);
  });
});
