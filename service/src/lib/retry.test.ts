import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffMs, retry, sleep } from "./retry.ts";

describe("backoffMs", () => {
  it("doubles from the base and stops at the cap", () => {
    const b = { baseMs: 100, capMs: 1000, jitter: "none" as const };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffMs(b, n)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });
  it("jitters fully within [0, d) and equally within [d/2, d]", () => {
    assert.equal(backoffMs({ baseMs: 1000, jitter: "full" }, 1, { random: () => 0 }), 0);
    assert.equal(backoffMs({ baseMs: 1000, jitter: "full" }, 1, { random: () => 0.999 }), 999);
    assert.equal(backoffMs({ baseMs: 1000, jitter: "equal" }, 1, { random: () => 0 }), 500);
    assert.equal(backoffMs({ baseMs: 1000 }, 2, { random: () => 1 }), 2000);
  });
  it("takes a server's Retry-After over the computed wait, within the cap", () => {
    assert.equal(backoffMs({ baseMs: 100 }, 1, { retryAfterMs: 7000 }), 7000);
    assert.equal(backoffMs({ baseMs: 100, capMs: 5000 }, 1, { retryAfterMs: 7000 }), 5000);
  });
  it("waits nothing without a base", () => {
    assert.equal(backoffMs({ baseMs: 0 }, 3), 0);
  });
});

describe("retry", () => {
  it("retries until the attempt is done and counts the attempts", async () => {
    const r = await retry(async (n) => (n < 3 ? { retry: `fail ${n}` } : { done: `ok ${n}` }), {
      attempts: 5,
      backoff: { baseMs: 1 },
    });
    assert.deepEqual(r, { value: "ok 3", attempts: 3, aborted: false });
  });
  it("returns the last value when the attempts are spent, and reports each retry before its wait", async () => {
    const seen: number[] = [];
    const r = await retry(
      async (n) => ({ retry: n, retryAfterMs: 1, reason: "busy" }),
      { attempts: 3, backoff: { baseMs: 50 } },
      undefined,
      (info) => {
        assert.equal(info.delayMs, 1, "Retry-After wins");
        assert.equal(info.reason, "busy");
        seen.push(info.attempt);
      },
    );
    assert.deepEqual(r, { value: 3, attempts: 3, aborted: false });
    assert.deepEqual(seen, [1, 2]);
  });
  it("stops during a backoff when the signal aborts", async () => {
    const ac = new AbortController();
    const p = retry(async () => ({ retry: "x" }), { attempts: 10, backoff: { baseMs: 60_000 } }, ac.signal);
    ac.abort();
    assert.deepEqual(await p, { value: "x", attempts: 1, aborted: true });
  });
});

describe("sleep", () => {
  it("resolves false at once for an aborted signal and true after the wait otherwise", async () => {
    assert.equal(await sleep(10_000, AbortSignal.abort()), false);
    assert.equal(await sleep(1), true);
  });
});
