import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FairQueue } from "./fair-queue.ts";

const drain = <T>(q: FairQueue<T>): T[] => {
  const out: T[] = [];
  for (let next = q.pop(); next !== undefined; next = q.pop()) out.push(next.item);
  return out;
};

describe("FairQueue", () => {
  it("alternates between tenants whatever one of them queued first, FIFO within each", () => {
    const q = new FairQueue<string>();
    for (let i = 1; i <= 5; i++) q.push("a", 1, `a${i}`);
    q.push("b", 1, "b1");
    q.push("b", 1, "b2");
    assert.deepEqual(drain(q), ["a1", "b1", "a2", "b2", "a3", "a4", "a5"]);
  });

  it("serves tenants in proportion to their weights", () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 30; i++) {
      q.push("heavy", 2, "h");
      q.push("light", 1, "l");
    }
    const first30 = drain(q).slice(0, 30);
    assert.equal(first30.filter((x) => x === "h").length, 20);
    assert.equal(first30.filter((x) => x === "l").length, 10);
  });

  it("starts a newcomer at the current virtual time: served next, then in turn", () => {
    const q = new FairQueue<string>();
    for (let i = 1; i <= 100; i++) q.push("a", 1, `a${i}`);
    for (let i = 0; i < 50; i++) q.pop();
    q.push("b", 1, "b1");
    assert.deepEqual([q.pop()?.item, q.pop()?.item, q.pop()?.item], ["b1", "a51", "a52"]);
  });

  it("skips items that cannot be served now without losing their place", () => {
    const q = new FairQueue<string>();
    q.push("a", 1, "a1");
    q.push("b", 1, "b1");
    q.push("a", 1, "a2");
    assert.equal(q.pop((item) => item !== "a1")?.item, "b1");
    assert.deepEqual(drain(q), ["a1", "a2"]);
  });

  it("puts an item in front of its tenant's queue, reports depth per tenant, removes items", () => {
    const q = new FairQueue<string>();
    q.push("a", 1, "a1");
    q.push("a", 1, "a2");
    q.push("b", 1, "b1");
    q.push("a", 1, "again", { front: true });
    assert.deepEqual(Object.fromEntries(q.depth()), { a: 3, b: 1 });
    assert.equal(q.remove("a2"), true);
    assert.equal(q.remove("nope"), false);
    assert.equal(q.pop()?.item, "again");
    assert.deepEqual(drain(q), ["a1", "b1"]);
    assert.equal(q.size, 0);
    assert.deepEqual(q.depth().size, 0);
  });
});
