import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FairGate, type Lease } from "./fair-gate.ts";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("FairGate", () => {
  it("lets a tenant alone use every lane and queues beyond them", async () => {
    const gate = new FairGate({ lanes: 2, burstLanes: 0 });
    const leases = await Promise.all([gate.acquire("a"), gate.acquire("a")]);
    const third: { lease?: Lease } = {};
    void gate.acquire("a").then((l) => (third.lease = l));
    await tick();
    assert.equal(third.lease, undefined);
    assert.deepEqual(gate.load().tenants.a, { running: 2, parked: 0, queued: 1 });
    leases[0].release();
    await tick();
    assert.ok(third.lease !== undefined);
    leases[1].release();
    (third.lease as Lease).release();
    assert.equal(gate.load().running, 0);
  });

  it("grants a burst lane at once to a tenant holding none while another holds every lane", async () => {
    const gate = new FairGate({ lanes: 2, burstLanes: 1, activeWindowMs: 30 });
    const a = await Promise.all([gate.acquire("a"), gate.acquire("a")]);
    const aThird: { lease?: Lease } = {};
    void gate.acquire("a").then((l) => (aThird.lease = l));
    const b = await gate.acquire("b");
    assert.equal(gate.load().running, 3);
    assert.equal(aThird.lease, undefined, "a waits: it already holds lanes");
    // One of a's lanes frees while b still holds its burst lane: every lane is in use again, a waits.
    a[0].release();
    await tick();
    assert.equal(aThird.lease, undefined);
    // b is done, but active a moment ago: a keeps to its share (one lane) until b's window passes.
    b.release();
    await tick();
    assert.equal(aThird.lease, undefined);
    while (aThird.lease === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    a[1].release();
    (aThird.lease as Lease).release();
  });

  it("serves waiting tenants in fair order, not arrival order", async () => {
    const gate = new FairGate({ lanes: 1, burstLanes: 0, activeWindowMs: 0 });
    const first = await gate.acquire("a");
    const order: string[] = [];
    const waits = [
      ...[1, 2, 3].map((i) => gate.acquire("a").then((l) => (order.push(`a${i}`), l.release()))),
      gate.acquire("b").then((l) => (order.push("b1"), l.release())),
    ];
    first.release();
    await Promise.all(waits);
    assert.deepEqual(order, ["a1", "b1", "a2", "a3"]);
  });

  it("rejects a waiter whose signal aborts and every waiter when closed", async () => {
    const gate = new FairGate({ lanes: 1, burstLanes: 0 });
    const held = await gate.acquire("a");
    const controller = new AbortController();
    const aborted = gate.acquire("a", 1, controller.signal);
    controller.abort();
    await assert.rejects(aborted, /aborted/);
    const waiting = gate.acquire("a");
    gate.close();
    await assert.rejects(waiting, /shutting down/);
    await assert.rejects(gate.acquire("b"), /shutting down/);
    held.release();
  });
});
