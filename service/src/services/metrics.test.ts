// Metrics before and after prom-client loads: no report is lost, and the ones kept meanwhile are bounded.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Metrics } from "./metrics.ts";

const sources = { poolIdle: () => ({}), admission: () => ({}) };

/** The value of one series in a text exposition (0 when absent). */
function series(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe("Metrics", () => {
  it("keeps the reports made before prom-client loads and serves them in the first exposition", async () => {
    const m = new Metrics(sources);
    m.sink.step({ kind: "tool", status: "succeeded", seconds: 0.01 });
    m.sink.rejection("acme", "rate");
    m.sink.rejection("acme", "rate");
    const text = await m.exposition();
    assert.equal(series(text, 'mend_steps_total{kind="tool",status="succeeded"}'), 1);
    assert.equal(series(text, 'mend_admission_rejections_total{tenant="acme",reason="rate"}'), 2);
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it("reports straight into the registry once loaded", async () => {
    const m = new Metrics(sources);
    await m.load();
    m.sink.pool("mend-runtime-python:latest", true);
    m.sink.pool("mend-runtime-python:latest", false);
    const text = await m.exposition();
    assert.equal(series(text, 'mend_pool_requests_total{image="python",result="hit"}'), 1);
    assert.equal(series(text, 'mend_pool_requests_total{image="python",result="miss"}'), 1);
  });

  it("keeps at most 10,000 reports before loading (the rest are dropped, not buffered without end)", async () => {
    const m = new Metrics(sources);
    for (let i = 0; i < 10_500; i++) m.sink.rejection("flood", "concurrency");
    await m.load();
    m.sink.rejection("flood", "concurrency");
    const text = await m.exposition();
    assert.equal(
      series(text, 'mend_admission_rejections_total{tenant="flood",reason="concurrency"}'),
      10_001,
    );
  });
});
