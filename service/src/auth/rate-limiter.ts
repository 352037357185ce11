// Per-tenant request rate limit: a token bucket refilled continuously at the policy's rate.
import type { TenantLimits } from "../policy/policy-schema.ts";

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets by tenant; the rate and size come from the caller's policy at each request.
 * @example const d = limiter.take("acme", { requestsPerSecond: 10, burst: 20 }); if (!d.ok) retryAfter(d.retryAfterMs)
 */
export class TenantRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Takes one token for `tenant`; without `requestsPerSecond` there is no limit. */
  take(tenant: string, limits: TenantLimits): RateDecision {
    const rate = limits.requestsPerSecond;
    if (rate === undefined) return { ok: true };
    const capacity = limits.burst ?? Math.max(1, Math.ceil(rate));
    const now = this.#now();
    const b = this.#buckets.get(tenant) ?? { tokens: capacity, atMs: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.atMs) * rate) / 1000);
    b.atMs = now;
    this.#buckets.set(tenant, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: ((1 - b.tokens) * 1000) / rate };
  }
}
