// The one admission point: every request's rate and every execution's concurrency slot, per tenant,
// whatever started it (HTTP, MCP, relay, the hosted loop, a client-driven step).
import type { Caller } from "../core/caller.ts";
import { Rejection } from "../core/rejection.ts";
import { telemetry } from "../lib/telemetry.ts";
import { TenantConcurrency, type Release } from "../auth/concurrency-limiter.ts";
import { TenantRateLimiter } from "../auth/rate-limiter.ts";

/** Seconds for Retry-After when a tenant is at its concurrency limit (an execution's typical length). */
const CONCURRENCY_RETRY_AFTER_S = 1;

/**
 * How an execution that finds its tenant at the limit is admitted: `refuse` answers 429 at once (a
 * caller that can retry: HTTP, MCP, relay); `wait` queues for a slot (the hosted loop drives its runs
 * in the background and has nobody to answer).
 */
export type AdmissionMode = "refuse" | "wait";

/**
 * A replica's share of a limit across `replicas` live replicas: the limit divided evenly, at least 1 (so
 * that every replica can serve), never more than the limit.
 * @example share(4, 3) // 1
 */
export function share(limit: number, replicas: number): number {
  if (replicas <= 1) return limit;
  return Math.max(1, Math.floor(limit / replicas));
}

/**
 * Admits requests (the policy's `requestsPerSecond`/`burst`) and executions (`concurrentExecutions`).
 * Several replicas on one database each enforce their share (limit ÷ live replicas): the sum holds for a
 * load balancer that spreads a tenant evenly; one that does not reaches the limit early.
 * @example const release = await admission.execution(who, "refuse"); try { ... } finally { release() }
 */
export class Admission {
  readonly #rate = new TenantRateLimiter();
  readonly #running = new TenantConcurrency();
  readonly #replicas: () => number;

  constructor(opts: { replicas?: () => number } = {}) {
    this.#replicas = opts.replicas ?? (() => 1);
  }

  /** One request of `who`; throws Rejection("rate_limited") with `retryAfterSeconds` over the rate. */
  request(who: Caller): void {
    const n = this.#replicas();
    const own = who.policy.limits;
    const limits =
      n > 1 && own.requestsPerSecond !== undefined
        ? {
            ...own,
            requestsPerSecond: own.requestsPerSecond / n,
            burst: share(own.burst ?? Math.max(1, Math.ceil(own.requestsPerSecond)), n),
          }
        : own;
    const allowed = this.#rate.take(who.tenant, limits);
    if (allowed.ok) return;
    telemetry().rejection(who.tenant, "rate");
    const seconds = Math.max(1, Math.ceil(allowed.retryAfterMs / 1000));
    throw new Rejection(
      "rate_limited",
      `tenant "${who.tenant}" is over its policy's rate of ${limits.requestsPerSecond} requests per second (burst ${limits.burst ?? Math.ceil(limits.requestsPerSecond ?? 1)}); retry in ${seconds} s`,
      { retryAfterSeconds: seconds },
    );
  }

  /** A slot for one execution of `who`; the returned release gives it back (call it once, in a finally). */
  async execution(who: Caller, mode: AdmissionMode, signal?: AbortSignal): Promise<Release> {
    const limit = who.policy.limits.concurrentExecutions;
    const max = limit === undefined ? undefined : share(limit, this.#replicas());
    if (mode === "wait") return this.#running.acquire(who.tenant, max, signal);
    const release = this.#running.tryAcquire(who.tenant, max);
    if (release) return release;
    telemetry().rejection(who.tenant, "concurrency");
    throw new Rejection(
      "rate_limited",
      max === limit
        ? `tenant "${who.tenant}" already runs ${max} executions, its policy's limit of concurrent executions; retry when one finishes`
        : `tenant "${who.tenant}" already runs ${max} executions on this replica, its share of the policy's limit of ${limit} concurrent executions over ${this.#replicas()} replicas; retry when one finishes`,
      { retryAfterSeconds: CONCURRENCY_RETRY_AFTER_S, running: max },
    );
  }

  /** Running and queued executions per tenant (for /healthz and metrics). */
  snapshot(): Record<string, { running: number; waiting: number }> {
    return this.#running.snapshot();
  }
}
