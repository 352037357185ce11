import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startFakeLlm } from "../../../test/support/fake-llm.ts";
import { finish } from "../../../test/support/fake-llm-turns.ts";
import { createProvider, DEFAULT_MODELS, resolveModel } from "./create-provider.ts";

describe("resolveModel", () => {
  it("is null when neither the environment nor the run names a provider", () => {
    assert.equal(resolveModel({}), null);
    assert.equal(resolveModel({}, { name: "gpt-x", temperature: 0 }), null);
  });

  it("takes the environment's settings and lets the run override name and temperature", () => {
    const env = {
      provider: "openai" as const,
      baseUrl: "http://127.0.0.1:1/v1",
      apiKey: "k",
      model: "llama3",
    };
    assert.deepEqual(resolveModel(env), {
      provider: "openai",
      baseUrl: "http://127.0.0.1:1/v1",
      apiKey: "k",
      model: "llama3",
    });
    assert.deepEqual(resolveModel(env, { name: "qwen", temperature: 0.3 }), {
      provider: "openai",
      baseUrl: "http://127.0.0.1:1/v1",
      apiKey: "k",
      model: "qwen",
      temperature: 0.3,
    });
  });

  it("does not hand the environment's URL and key to a different provider chosen by the run", () => {
    const env = {
      provider: "openai" as const,
      baseUrl: "http://127.0.0.1:1/v1",
      apiKey: "k",
      model: "llama3",
    };
    assert.deepEqual(resolveModel(env, { provider: "anthropic" }), {
      provider: "anthropic",
      model: DEFAULT_MODELS.anthropic,
    });
    assert.deepEqual(resolveModel({}, { provider: "openai", name: "m" }), { provider: "openai", model: "m" });
  });
});

describe("createProvider", () => {
  it("builds the named provider, talking to the given base URL", async () => {
    assert.equal(createProvider({ provider: "anthropic" }).name, "anthropic");
    const llm = await startFakeLlm({ turns: [finish("hi")] });
    try {
      const provider = createProvider({ provider: "openai", baseUrl: llm.url }, { maxAttempts: 1 });
      assert.equal(provider.name, "openai");
      const out = await provider.complete({
        model: "m",
        system: "s",
        messages: [{ role: "user", content: "Goal: say hi" }],
        tools: [{ name: "finish", description: "done", inputSchema: { type: "object" } }],
      });
      assert.ok(out.ok);
      assert.equal(out.response.toolCalls[0]!.argumentsJson, '{"answer":"hi"}');
    } finally {
      await llm.close();
    }
  });
});
