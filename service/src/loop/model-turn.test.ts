import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LlmMessage, LlmTool } from "../llm/llm-provider.ts";
import { requestJson } from "./model-turn.ts";

describe("requestJson", () => {
  it("is JSON.stringify of the kept request byte for byte, as the conversation grows and is compacted", () => {
    const tools: LlmTool[] = [{ name: "finish", description: "ends", inputSchema: { type: "object" } }];
    const messages: LlmMessage[] = [];
    const request = { model: "m", system: 'the "system"\n', tools, messages };
    assert.equal(requestJson(request), JSON.stringify(request));
    messages.push({ role: "user", content: "goal" });
    assert.equal(requestJson(request), JSON.stringify(request));
    messages.push({
      role: "assistant",
      content: null,
      toolCalls: [{ id: "1", name: "finish", argumentsJson: "{}" }],
    });
    messages.push({ role: "tool", toolCallId: "1", name: "finish", content: "x".repeat(500) });
    assert.equal(requestJson(request), JSON.stringify(request));
    messages[2] = { ...messages[2]!, content: "short" };
    assert.equal(requestJson(request), JSON.stringify(request));
    // Another system prompt over the same tool list (a policy reload) is not served from the cache.
    const other = { ...request, system: "another" };
    assert.equal(requestJson(other), JSON.stringify(other));
  });
});
