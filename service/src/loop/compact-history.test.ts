import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LlmMessage } from "../llm/llm-provider.ts";
import { compactHistory } from "./compact-history.ts";

const toolResult = (i: number, body: Record<string, unknown>): LlmMessage => ({
  role: "tool",
  toolCallId: `c${i}`,
  name: "run_code",
  content: JSON.stringify(body),
});

function history(n: number): LlmMessage[] {
  const out: LlmMessage[] = [{ role: "user", content: "Goal: analyse" }];
  for (let i = 0; i < n; i++) {
    out.push({
      role: "assistant",
      content: null,
      toolCalls: [{ id: `c${i}`, name: "run_code", argumentsJson: "{}" }],
    });
    out.push(
      toolResult(
        i,
        i % 3 === 0
          ? {
              status: "failed",
              failure: { kind: "out_of_memory", message: `OOM at step ${i}` },
              stdout: "x".repeat(5000),
            }
          : { status: "succeeded", stdout: "y".repeat(5000) },
      ),
    );
  }
  return out;
}

const size = (ms: LlmMessage[]) => ms.reduce((n, m) => n + (m.content?.length ?? 0), 0);

describe("compactHistory", () => {
  it("leaves a history inside the budget untouched", () => {
    const h = history(5);
    const before = JSON.stringify(h);
    compactHistory(h, 1_000_000);
    assert.equal(JSON.stringify(h), before);
  });

  it("elides the oldest large outputs until the history fits, keeping the most recent ones whole", () => {
    const h = history(40);
    compactHistory(h, 60_000);
    assert.ok(size(h) <= 60_000, `size ${size(h)}`);
    const tools = h.filter((m) => m.role === "tool");
    assert.match(tools[0]!.content, /elided/);
    for (const m of tools.slice(-8)) assert.doesNotMatch(m.content, /elided/);
    assert.equal(h.length, 81, "no message is dropped");
  });

  it("never hides a failure: every elided failed result keeps its kind and message", () => {
    const h = history(40);
    compactHistory(h, 10_000);
    h.forEach((m, i) => {
      if (m.role !== "tool") return;
      const step = (i - 2) / 2;
      if (step % 3 !== 0) return;
      const r = JSON.parse(m.content) as { failure: { kind: string; message: string } };
      assert.equal(r.failure.kind, "out_of_memory");
      assert.equal(r.failure.message, `OOM at step ${step}`);
    });
  });
});
