// The warm pool's sizing rule on its own: growth on misses within the bounds, shrinking after idle windows.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PoolSizing } from "./pool-sizing.ts";

const bounds = { min: 2, max: 8, idleMs: 1000 };

void test("hits leave the target alone; each miss raises it, at least to the jobs running at once", () => {
  const s = new PoolSizing(bounds, 0);
  s.onTake(true, Infinity);
  s.onTake(true, Infinity);
  assert.equal(s.target, 2);
  s.onTake(false, Infinity); // 3 running, none warm left
  assert.equal(s.target, 3);
  for (let i = 0; i < 3; i++) s.onTake(false, Infinity);
  assert.equal(s.inUse, 6);
  assert.equal(s.target, 6);
  assert.deepEqual([s.hits, s.misses], [2, 4]);
});

void test("the target never passes the maximum however many misses come", () => {
  const s = new PoolSizing(bounds, 0);
  for (let i = 0; i < 100; i++) s.onTake(false, Infinity);
  assert.equal(s.target, 8);
  for (let i = 0; i < 100; i++) s.onRelease();
  assert.equal(s.inUse, 0);
});

void test("what the caller allows (the memory budget) caps growth but never lowers the target", () => {
  const s = new PoolSizing(bounds, 0);
  s.onTake(false, 4);
  s.onTake(false, 4);
  s.onTake(false, 4);
  s.onTake(false, 4);
  s.onTake(false, 4);
  assert.equal(s.target, 4);
  s.onTake(false, 1);
  assert.equal(s.target, 4);
});

void test("after a window without a miss the target falls to the peak demand of that window, not below min", () => {
  const s = new PoolSizing(bounds, 0);
  s.onTake(true, Infinity);
  s.onTake(true, Infinity);
  for (let i = 0; i < 4; i++) s.onTake(false, Infinity);
  for (let i = 0; i < 6; i++) s.onRelease();
  assert.equal(s.target, 6);
  assert.equal(s.tick(500), false, "the window is not over");
  assert.equal(s.tick(1000), false, "a window with misses keeps the target");
  // the next window: at most 3 jobs at once, all served warm
  for (let i = 0; i < 3; i++) s.onTake(true, Infinity);
  for (let i = 0; i < 3; i++) s.onRelease();
  assert.equal(s.tick(2000), true);
  assert.equal(s.target, 3);
  // an idle window: back to the minimum
  assert.equal(s.tick(3000), true);
  assert.equal(s.target, 2);
  assert.equal(s.tick(4000), false);
  assert.equal(s.target, 2);
});

void test("bounds are sanitized: max below min is min, a zero minimum stays zero when idle", () => {
  const s = new PoolSizing({ min: 3, max: 1, idleMs: 10 }, 0);
  assert.deepEqual([s.bounds.min, s.bounds.max, s.target], [3, 3, 3]);
  const z = new PoolSizing({ min: 0, max: 2, idleMs: 10 }, 0);
  z.onTake(false, Infinity);
  assert.equal(z.target, 1);
  z.onRelease();
  z.tick(10);
  z.tick(20);
  assert.equal(z.target, 0);
});
