// Output capping and marker extraction, byte by byte across chunk boundaries.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CappedCapture } from "./output-capture.ts";
import { Demuxer } from "./demux.ts";

void test("output past the cap is counted, flagged as truncated and not kept", () => {
  const c = new CappedCapture(5, "\n\x1eM:");
  c.push(Buffer.from("hello world"));
  c.end();
  assert.equal(c.text(), "hello");
  assert.equal(c.truncated, true);
  assert.equal(c.totalBytes, 11);
});

void test("the marker and its payload line are split off even when cut across chunks", () => {
  const c = new CappedCapture(1024, "\n\x1eMEND-RESULT:n:");
  const data = Buffer.from('user out\n\x1eMEND-RESULT:n:{"exitCode":0}\nlate');
  for (const b of data) c.push(Buffer.from([b]));
  c.end();
  assert.equal(c.text(), "user outlate");
  assert.equal(c.payload(), '{"exitCode":0}');
  assert.equal(c.markerSeen, true);
});

void test("without a marker all output is kept and there is no payload", () => {
  const c = new CappedCapture(1024, "\n\x1eX:");
  c.push(Buffer.from("abc\n\x1e"));
  c.end();
  assert.equal(c.text(), "abc\n\x1e");
  assert.equal(c.payload(), undefined);
});

void test("the demuxer splits docker frames into stdout and stderr across chunk boundaries", () => {
  const frame = (s: number, text: string) => {
    const h = Buffer.alloc(8);
    h[0] = s;
    h.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([h, Buffer.from(text)]);
  };
  const all = Buffer.concat([frame(1, "out1"), frame(2, "err"), frame(1, "out2")]);
  const got: string[] = [];
  const d = new Demuxer((s, p) => got.push(`${s}:${p.toString()}`));
  d.push(all.subarray(0, 5));
  d.push(all.subarray(5, 15));
  d.push(all.subarray(15));
  assert.deepEqual(got, ["1:out1", "2:err", "1:out2"]);
});
