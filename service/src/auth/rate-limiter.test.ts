import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TenantRateLimiter } from "./rate-limiter.ts";
import { TenantConcurrency } from "./concurrency-limiter.ts";

describe("TenantRateLimiter", () => {
  it("lets a burst through, then refuses with the time until the next token", () => {
    let now = 0;
    const limiter = new TenantRateLimiter(() => now);
    const limits = { requestsPerSecond: 2, burst: 3 };
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take("acme", limits), { ok: true });
    assert.deepEqual(limiter.take("acme", limits), { ok: false, retryAfterMs: 500 });
    now = 500;
    assert.deepEqual(limiter.take("acme", limits), { ok: true });
    assert.equal(limiter.take("acme", limits).ok, false);
  });

  it("keeps one bucket per tenant", () => {
    const limiter = new TenantRateLimiter(() => 0);
    const limits = { requestsPerSecond: 1, burst: 1 };
    assert.equal(limiter.take("acme", limits).ok, true);
    assert.equal(limiter.take("acme", limits).ok, false);
    assert.equal(limiter.take("globex", limits).ok, true);
  });

  it("refills no further than the burst size, and defaults the burst to the rate rounded up", () => {
    let now = 0;
    const limiter = new TenantRateLimiter(() => now);
    assert.equal(limiter.take("a", { requestsPerSecond: 1.5 }).ok, true);
    assert.equal(limiter.take("a", { requestsPerSecond: 1.5 }).ok, true);
    assert.equal(limiter.take("a", { requestsPerSecond: 1.5 }).ok, false);
    now = 1_000_000;
    let passed = 0;
    while (limiter.take("a", { requestsPerSecond: 1.5 }).ok) passed++;
    assert.equal(passed, 2);
  });

  it("has no limit without requestsPerSecond", () => {
    const limiter = new TenantRateLimiter(() => 0);
    for (let i = 0; i < 1000; i++) assert.equal(limiter.take("a", {}).ok, true);
  });
});

describe("TenantConcurrency", () => {
  it("refuses a tenant at its limit until one of its executions ends; releasing twice counts once", () => {
    const slots = new TenantConcurrency();
    const a = slots.tryAcquire("acme", 2)!;
    const b = slots.tryAcquire("acme", 2)!;
    assert.equal(slots.tryAcquire("acme", 2), null);
    assert.notEqual(slots.tryAcquire("globex", 2), null, "another tenant is not affected");
    a();
    a();
    assert.equal(slots.running("acme"), 1);
    assert.notEqual(slots.tryAcquire("acme", 2), null);
    b();
  });

  it("has no limit when the policy sets none", () => {
    const slots = new TenantConcurrency();
    for (let i = 0; i < 100; i++) assert.notEqual(slots.tryAcquire("a", undefined), null);
    assert.equal(slots.running("a"), 100);
  });
});
