// The slots in front of the provider connection pool: bounded, first come first served, abortable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProviderSlots } from "./provider-pool.ts";

const M = "http://127.0.0.1:1";

void test("holds at most the limit and hands released slots to waiters in arrival order", async () => {
  const slots = new ProviderSlots(2);
  const never = new AbortController().signal;
  const a = await slots.acquire(M, never);
  const b = await slots.acquire(M, never);
  const order: string[] = [];
  const c = slots.acquire(M, never).then((r) => (order.push("c"), r));
  const d = slots.acquire(M, never).then((r) => (order.push("d"), r));
  assert.deepEqual(slots.state(M), { active: 2, waiting: 2 });
  b();
  b(); // a release is idempotent: it frees one slot, once
  const rc = await c;
  assert.deepEqual(order, ["c"]);
  assert.deepEqual(slots.state(M), { active: 2, waiting: 1 });
  a();
  const rd = await d;
  assert.deepEqual(order, ["c", "d"]);
  rc();
  rd();
  assert.deepEqual(slots.state(M), { active: 0, waiting: 0 });
});

void test("an origin's slots do not limit another origin", async () => {
  const slots = new ProviderSlots(1);
  const never = new AbortController().signal;
  const a = await slots.acquire(M, never);
  const other = await slots.acquire("http://127.0.0.2:1", never);
  a();
  other();
});

void test("a caller that aborts while waiting leaves the queue and is rejected with its reason", async () => {
  const slots = new ProviderSlots(1);
  const held = await slots.acquire(M, new AbortController().signal);
  const ac = new AbortController();
  const waiting = slots.acquire(M, ac.signal);
  assert.equal(slots.state(M).waiting, 1);
  ac.abort(new Error("run cancelled"));
  await assert.rejects(waiting, /run cancelled/);
  assert.deepEqual(slots.state(M), { active: 1, waiting: 0 });
  held();
  assert.deepEqual(slots.state(M), { active: 0, waiting: 0 });
  await assert.rejects(slots.acquire(M, AbortSignal.abort(new Error("already"))), /already/);
});
