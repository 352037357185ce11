// The SSE parser: fields, multi-line data, comments, CRLF split across chunks.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSse } from "./sse.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe("parseSse", () => {
  it("yields events with id, type and data, skipping comments", async () => {
    const got = [];
    for await (const m of parseSse(
      streamOf(
        ": keep-alive\n\n",
        'id: 1\nevent: step.started\ndata: {"seq":1}\n\n',
        "id: 2\ndata: a\ndata: b\n\n",
      ),
    )) {
      got.push(m);
    }
    assert.deepEqual(got, [
      { id: "1", event: "step.started", data: '{"seq":1}' },
      { id: "2", event: "message", data: "a\nb" },
    ]);
  });

  it("handles CRLF line ends split between chunks", async () => {
    const got = [];
    for await (const m of parseSse(streamOf("id: 7\r", "\nevent: x\r\ndata: y\r", "\n\r\n"))) got.push(m);
    assert.deepEqual(got, [{ id: "7", event: "x", data: "y" }]);
  });
});
