// The one retry utility: how long to wait before retry n (exponential, capped, jittered, or what the
// server asked with Retry-After), and a loop that retries an attempt while it says so.
// LLM providers, HTTP tools, the policy's remediation and the hosted loop all take their delays here.

/** How the wait grows between attempts. */
export interface Backoff {
  /** The wait before the first retry, before jitter (ms). */
  baseMs: number;
  /** No wait (nor a Retry-After) is longer than this (ms). Default 30 s. */
  capMs?: number;
  /**
   * `full`: uniform in [0, d) — spreads a herd best (model providers); `equal`: uniform in [d/2, d) — never
   * much shorter than asked (remediation, tools); `none`: exactly d. Default `equal`.
   */
  jitter?: "full" | "equal" | "none";
}

/** Attempts in total (the first included) and the backoff between them. */
export interface RetryPolicy {
  attempts: number;
  backoff: Backoff;
}

export const DEFAULT_CAP_MS = 30_000;

/**
 * The wait before retry number `retry` (1 = the first retry): `baseMs · 2^(retry-1)`, capped, jittered;
 * a server's Retry-After (already in ms) wins over the computed value, still capped.
 * @example backoffMs({ baseMs: 500, jitter: "none" }, 3) // 2000
 */
export function backoffMs(
  backoff: Backoff,
  retry: number,
  opts: { retryAfterMs?: number; random?: () => number } = {},
): number {
  const cap = backoff.capMs ?? DEFAULT_CAP_MS;
  if (opts.retryAfterMs !== undefined) return Math.min(Math.max(0, opts.retryAfterMs), cap);
  if (backoff.baseMs <= 0) return 0;
  const d = Math.min(cap, backoff.baseMs * 2 ** Math.max(0, retry - 1));
  const r = (opts.random ?? Math.random)();
  switch (backoff.jitter ?? "equal") {
    case "full":
      return Math.floor(r * d);
    case "equal":
      return Math.round(d * (0.5 + r / 2));
    case "none":
      return d;
  }
}

/**
 * Resolves true after `ms`, or false as soon as `signal` aborts (shutdowns and cancellations never hang
 * on a backoff).
 * @example if (!(await sleep(backoffMs(b, n), signal))) return interrupted()
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** What one attempt says: finished (with its value), or worth another attempt (maybe after Retry-After). */
export type AttemptVerdict<T> = { done: T } | { retry: T; retryAfterMs?: number; reason?: string };

/** How a retried operation ended: its last value, how many attempts ran, and whether `signal` cut it short. */
export interface Retried<T> {
  value: T;
  attempts: number;
  /** `signal` aborted before another attempt could start (the value is the last one, if any). */
  aborted: boolean;
}

/**
 * Runs `attempt(n)` (n from 1) until it says `done`, the attempts are spent, or `signal` aborts during a
 * backoff. `onRetry` hears of each retry before its wait.
 * @example
 * const r = await retry((n) => callOnce(n), { attempts: 3, backoff: { baseMs: 200 } }, signal);
 * if (r.aborted) return interrupted();
 */
export async function retry<T>(
  attempt: (n: number) => Promise<AttemptVerdict<T>>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  onRetry?: (info: { attempt: number; delayMs: number; reason?: string }) => void,
  random?: () => number,
): Promise<Retried<T>> {
  const attempts = Math.max(1, policy.attempts);
  for (let n = 1; ; n++) {
    const verdict = await attempt(n);
    if ("done" in verdict) return { value: verdict.done, attempts: n, aborted: false };
    if (n >= attempts) return { value: verdict.retry, attempts: n, aborted: false };
    const delayMs = backoffMs(policy.backoff, n, {
      ...(verdict.retryAfterMs !== undefined ? { retryAfterMs: verdict.retryAfterMs } : {}),
      ...(random ? { random } : {}),
    });
    onRetry?.({ attempt: n, delayMs, ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}) });
    if (!(await sleep(delayMs, signal))) return { value: verdict.retry, attempts: n, aborted: true };
  }
}
