import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRetryAfterMs, withRetries, type AttemptOutcome, type RetryInfo } from "./retry.ts";

const fast = { baseBackoffMs: 1, maxBackoffMs: 1000 };

/** An attempt function replaying the given outcomes in order. */
function sequence<T>(outcomes: AttemptOutcome<T>[]): {
  attempt: () => Promise<AttemptOutcome<T>>;
  calls: () => number;
} {
  let n = 0;
  return { attempt: async () => outcomes[Math.min(n++, outcomes.length - 1)]!, calls: () => n };
}

describe("parseRetryAfterMs", () => {
  it("reads delay-seconds and HTTP dates", () => {
    assert.equal(parseRetryAfterMs("2"), 2000);
    assert.equal(parseRetryAfterMs("0.5"), 500);
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    assert.equal(parseRetryAfterMs("Wed, 21 Oct 2015 07:28:03 GMT", now), 3000);
    assert.equal(parseRetryAfterMs("Wed, 21 Oct 2015 07:27:00 GMT", now), 0, "a date in the past means now");
  });

  it("ignores missing or unreadable values", () => {
    assert.equal(parseRetryAfterMs(null), undefined);
    assert.equal(parseRetryAfterMs(""), undefined);
    assert.equal(parseRetryAfterMs("soon"), undefined);
  });
});

describe("withRetries", () => {
  it("returns the value and the number of attempts it took", async () => {
    const s = sequence<number>([
      { ok: false, retryable: true, message: "busy", status: 503 },
      { ok: true, value: 7 },
    ]);
    const r = await withRetries("openai", s.attempt, fast);
    assert.ok(r.ok);
    assert.deepEqual([r.value, r.attempts], [7, 2]);
    assert.deepEqual(
      r.retries.map((x) => [x.attempt, x.status, x.reason]),
      [[1, 503, "busy"]],
      "the failed attempt is recorded with its status and reason",
    );
  });

  it("waits what Retry-After asks, capped at maxBackoffMs", async () => {
    const retries: RetryInfo[] = [];
    const s = sequence<number>([
      { ok: false, retryable: true, message: "slow down", status: 429, retryAfterMs: 30 },
      { ok: false, retryable: true, message: "slow down", status: 429, retryAfterMs: 60_000 },
      { ok: true, value: 1 },
    ]);
    const r = await withRetries("openai", s.attempt, {
      ...fast,
      maxBackoffMs: 40,
      onRetry: (i) => retries.push(i),
    });
    assert.equal(r.ok, true);
    assert.deepEqual(
      retries.map((i) => [i.attempt, i.delayMs, i.status]),
      [
        [1, 30, 429],
        [2, 40, 429],
      ],
    );
  });

  it("backs off exponentially with full jitter when no Retry-After is given", async () => {
    const delays: number[] = [];
    const s = sequence<number>([{ ok: false, retryable: true, message: "down", status: 500 }]);
    await withRetries("openai", s.attempt, {
      maxAttempts: 4,
      baseBackoffMs: 10,
      maxBackoffMs: 25,
      random: () => 0.5,
      onRetry: (i) => delays.push(i.delayMs),
    });
    assert.deepEqual(delays, [5, 10, 12], "half of 10, 20, then the 25 ms cap");
  });

  it("gives up with a retryable llm_failed naming the provider, status and attempts", async () => {
    const s = sequence<number>([
      { ok: false, retryable: true, message: "overloaded", status: 503, bodyTail: "{}" },
    ]);
    const r = await withRetries("anthropic", s.attempt, { ...fast, maxAttempts: 3 });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(s.calls(), 3);
    assert.equal(r.failure.kind, "llm_failed");
    assert.equal(r.failure.layer, "infrastructure");
    assert.equal(r.failure.retryable, true);
    assert.equal(r.failure.status, 503);
    assert.equal(r.failure.bodyTail, "{}");
    assert.equal(r.failure.remedy?.action, "retry_later");
    assert.equal(typeof r.failure.remedy?.backoffMs, "number");
    assert.match(r.failure.message, /anthropic.*failed 3 calls in a row.*HTTP 503/);
  });

  it("does not retry an error that is not retryable", async () => {
    const s = sequence<number>([{ ok: false, retryable: false, message: "bad model", status: 400 }]);
    const r = await withRetries("openai", s.attempt, fast);
    assert.ok(!r.ok);
    assert.equal(s.calls(), 1);
    assert.equal(r.failure.kind, "llm_failed");
    assert.equal(r.failure.retryable, false);
    assert.match(r.failure.message, /HTTP 400.*not retried.*bad model/);
  });

  it("retries an attempt that throws (a connection error) and one that runs past its timeout", async () => {
    let n = 0;
    const r = await withRetries(
      "openai",
      async (signal) => {
        n++;
        if (n === 1) throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
        if (n === 2) {
          await new Promise((_resolve, reject) =>
            signal.addEventListener("abort", () => reject(new Error("aborted"))),
          );
        }
        return { ok: true, value: n };
      },
      { ...fast, attemptTimeoutMs: 20 },
    );
    assert.ok(r.ok);
    assert.deepEqual([r.value, r.attempts], [3, 3]);
    assert.match(r.retries[0]!.reason, /connection error/);
    assert.match(r.retries[1]!.reason, /no response within 20 ms/);
  });

  it("reports interrupted when the caller aborts during an attempt or a backoff", async () => {
    const during = new AbortController();
    const r1 = await withRetries(
      "openai",
      async (signal) => {
        during.abort();
        throw signal.reason;
      },
      fast,
      during.signal,
    );
    assert.ok(!r1.ok);
    assert.equal(r1.failure.kind, "interrupted");

    const backoff = new AbortController();
    const r2 = await withRetries(
      "openai",
      async () => {
        setImmediate(() => backoff.abort());
        return { ok: false, retryable: true, message: "busy", status: 429, retryAfterMs: 60_000 };
      },
      { maxBackoffMs: 60_000 },
      backoff.signal,
    );
    assert.ok(!r2.ok);
    assert.equal(r2.failure.kind, "interrupted");
    assert.equal(r2.failure.retryable, true);
  });
});
