import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  OUTPUT_ATTEMPT_MAX_BYTES,
  OUTPUT_EVENT_MAX_BYTES,
  StepOutputStream,
  type StepOutputEvent,
} from "./step-output-stream.ts";

function collector(): { events: StepOutputEvent[]; stream: StepOutputStream } {
  const events: StepOutputEvent[] = [];
  const stream = new StepOutputStream(4, 2, async (ev) => {
    events.push(ev);
  });
  return { events, stream };
}

describe("StepOutputStream", () => {
  it("coalesces small writes of one stream into one event, published by close", async () => {
    const { events, stream } = collector();
    stream.push("stdout", "a");
    stream.push("stdout", "b\n");
    stream.push("stderr", "oops\n");
    await stream.close();
    assert.deepEqual(events, [
      { seq: 4, attempt: 2, stream: "stdout", text: "ab\n" },
      { seq: 4, attempt: 2, stream: "stderr", text: "oops\n" },
    ]);
  });

  it("cuts large output into events of at most 8 KiB without splitting a character", async () => {
    const { events, stream } = collector();
    const text = "é".repeat(10_000); // 20,000 bytes
    stream.push("log", text);
    await stream.close();
    assert.ok(events.length >= 3);
    for (const ev of events) assert.ok(Buffer.byteLength(ev.text) <= OUTPUT_EVENT_MAX_BYTES);
    assert.equal(events.map((e) => e.text).join(""), text);
  });

  it("stops at the per-attempt bound with exactly one truncated notice", async () => {
    const { events, stream } = collector();
    for (let i = 0; i < 100; i++) stream.push("stdout", "y".repeat(4000));
    await stream.close();
    const total = events.reduce((n, e) => n + Buffer.byteLength(e.text), 0);
    assert.ok(total <= OUTPUT_ATTEMPT_MAX_BYTES);
    assert.equal(events.filter((e) => e.truncated).length, 1);
    assert.equal(events.at(-1)?.truncated, true);
  });

  it("ignores output after close, and a failing publish does not stop later events", async () => {
    const seen: string[] = [];
    let first = true;
    const stream = new StepOutputStream(1, 1, async (ev) => {
      if (first) {
        first = false;
        throw new Error("store down");
      }
      seen.push(ev.text);
    });
    stream.push("stdout", "x".repeat(OUTPUT_EVENT_MAX_BYTES)); // flushed at once, publish fails
    stream.push("stdout", "second");
    await stream.close();
    stream.push("stdout", "late");
    await stream.close();
    assert.deepEqual(seen, ["second"]);
  });
});
