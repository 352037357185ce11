import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LlmMessage, LlmRequest, LlmTool } from "./llm-provider.ts";
import { openAiBodyJson, openAiBodyParts, toOpenAiBody } from "./openai-provider.ts";

const tools: LlmTool[] = [
  {
    name: "run.code",
    description: "runs code",
    inputSchema: { type: "object", properties: { code: { type: "string" } } },
  },
  { name: "finish", description: "ends the run", inputSchema: { type: "object" } },
];

const expected = (r: LlmRequest) => ({
  ...toOpenAiBody(r),
  stream: true,
  stream_options: { include_usage: true },
});

describe("openAiBodyJson", () => {
  it("is the streamed body of toOpenAiBody, turn after turn of one run (cached tools and messages)", () => {
    const messages: LlmMessage[] = [{ role: "user", content: 'the goal "quoted" \u2028' }];
    const r: LlmRequest = {
      model: "m",
      system: "sys",
      messages,
      tools,
      temperature: 0.2,
      maxOutputTokens: 99,
    };
    assert.deepEqual(JSON.parse(openAiBodyJson(r)), expected(r));
    messages.push({
      role: "assistant",
      content: null,
      toolCalls: [{ id: "c1", name: "run.code", argumentsJson: '{"code":"return 1"}' }],
    });
    messages.push({ role: "tool", toolCallId: "c1", name: "run.code", content: '{"status":"succeeded"}' });
    assert.deepEqual(JSON.parse(openAiBodyJson(r)), expected(r));
    // Compaction replaces a message object: the new content is sent, not the cached JSON of the old one.
    messages[2] = { role: "tool", toolCallId: "c1", name: "run.code", content: '{"elided":"x"}' };
    assert.deepEqual(JSON.parse(openAiBodyJson(r)), expected(r));
  });

  it("shares the head and tail bytes between runs with the same prompt and tools; only messages are new", () => {
    const a = openAiBodyParts({
      model: "m",
      system: "sys",
      messages: [{ role: "user", content: "a" }],
      tools,
    });
    const b = openAiBodyParts({
      model: "m",
      system: "sys",
      messages: [{ role: "user", content: "b" }],
      tools,
    });
    assert.equal(a[0], b[0]);
    assert.equal(a[2], b[2]);
    assert.notEqual(a[1], b[1]);
    const warmer = openAiBodyParts({ model: "m", system: "sys", messages: [], tools, temperature: 1 });
    assert.notEqual(warmer[2], a[2]);
  });

  it("sends no tools, temperature or max_tokens when there are none", () => {
    const r: LlmRequest = {
      model: "m",
      system: "s",
      messages: [{ role: "assistant", content: null }],
      tools: [],
    };
    const body = JSON.parse(openAiBodyJson(r)) as Record<string, unknown>;
    assert.deepEqual(body, expected(r));
    assert.equal("tools" in body || "temperature" in body || "max_tokens" in body, false);
  });
});
