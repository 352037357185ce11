// The heap growth bound holds in a real process: objects that survive the young generation and die old (a
// hosted turn's, behind ten thousand others) no longer let the heap grow to several times the live set.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

const MODULE = new URL("./heap-growth.ts", import.meta.url).href;

/** Peak heapTotal (MiB) of a child that keeps ~170 MiB live while objects are promoted and die old. */
function peakHeapMb(percent: number): number {
  const script = `
    import { limitHeapGrowth } from ${JSON.stringify(MODULE)};
    limitHeapGrowth(${percent});
    const live = Array.from({ length: 100 }, () => Array.from({ length: 25_000 }, (_, i) => ({ i, s: null })));
    const ring = new Array(20_000);
    let peak = 0;
    for (let k = 0; k < 400_000; k++) {
      ring[k % ring.length] = Array.from({ length: 50 }, (_, i) => ({ i, k }));
      if (k % 1000 === 0) peak = Math.max(peak, process.memoryUsage().heapTotal);
    }
    process.stdout.write(String(Math.round(peak / 1048576) + live.length * 0));
  `;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }));
}

describe("limitHeapGrowth", () => {
  it("keeps the heap near the live set (V8's own factor lets this one reach ~800 MiB)", () => {
    const peak = peakHeapMb(10);
    assert.ok(peak < 500, `peak heap ${peak} MiB with a 10 % growth bound over ~170 MiB live`);
  });
});
