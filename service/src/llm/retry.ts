// One policy for every provider: per-attempt timeout, backoff with full jitter, Retry-After, then llm_failed.
import { makeFailure, type Failure } from "@mend/wire";
import { retry } from "../lib/retry.ts";
import { anySignal } from "../lib/any-signal.ts";

export interface RetryOptions {
  /** Attempts in total, the first included (default 4). */
  maxAttempts?: number;
  /** Each attempt (connect + response body) is aborted after this long (default 60 s). */
  attemptTimeoutMs?: number;
  /**
   * An attempt that receives nothing for this long (no headers, no streamed chunk) is abandoned and
   * retried at once, without backoff (default 10 s; the providers' attempts apply it).
   */
  stallTimeoutMs?: number;
  /** First backoff ceiling; doubles per attempt (default 500 ms). */
  baseBackoffMs?: number;
  /** Caps the backoff and any Retry-After the provider asks for (default 30 s). */
  maxBackoffMs?: number;
  /** Source of jitter in [0, 1) (default Math.random). */
  random?: () => number;
  /** Told about each retry before its wait, e.g. for logs. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: string;
  status?: number;
  /** What the provider's Retry-After asked for (ms), when it sent one. */
  retryAfterMs?: number;
  /** The attempt stalled (nothing received for the stall timeout): retried at once. */
  stalled?: true;
}

/** What one attempt produced: a value, or an error the retry loop classifies by `retryable`. */
export type AttemptOutcome<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      retryable: boolean;
      message: string;
      status?: number;
      bodyTail?: string;
      /** The provider's Retry-After, already converted to milliseconds. */
      retryAfterMs?: number;
      /** Nothing arrived for the stall timeout: retried without waiting. */
      stalled?: boolean;
    };

/**
 * How a call ended. `retries` lists the attempts that failed and were retried (status, reason, the
 * provider's Retry-After, the wait): what the journal shows of the provider-level retries of one LLM step.
 */
export type RetryResult<T> =
  | { ok: true; value: T; attempts: number; retries: RetryInfo[] }
  | { ok: false; failure: Failure; retries: RetryInfo[] };

export const RETRY_DEFAULTS = {
  maxAttempts: 4,
  attemptTimeoutMs: 60_000,
  baseBackoffMs: 500,
  maxBackoffMs: 30_000,
} as const;

/**
 * Runs `attempt` until it succeeds, fails for good, or the attempts are spent. Each attempt gets a signal
 * that fires on its timeout or on `signal`; a throw from the attempt is a connection error (retried),
 * unless `signal` fired (→ `interrupted`). Provider faults come back as `llm_failed`, never as a throw.
 * @example const r = await withRetries("openai", (s) => postOnce(s), { maxAttempts: 3 }, run.signal)
 */
export async function withRetries<T>(
  provider: string,
  attempt: (signal: AbortSignal) => Promise<AttemptOutcome<T>>,
  options: RetryOptions = {},
  signal?: AbortSignal,
): Promise<RetryResult<T>> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? RETRY_DEFAULTS.attemptTimeoutMs;
  const baseBackoffMs = options.baseBackoffMs ?? RETRY_DEFAULTS.baseBackoffMs;
  const maxBackoffMs = options.maxBackoffMs ?? RETRY_DEFAULTS.maxBackoffMs;
  /** Attempts made when `signal` stopped the loop (null: it did not). */
  let interruptedAfter: number | null = null;
  let status: number | undefined;
  let retryAfterMs: number | undefined;
  let stalled = false;
  const retries: RetryInfo[] = [];
  const result = await retry<AttemptOutcome<T> | null>(
    async (n) => {
      if (signal?.aborted) {
        interruptedAfter = n - 1;
        return { done: null };
      }
      // A timer and a listener per attempt, both gone when it ends (no AbortSignal.timeout/any left to GC).
      const timeout = new AbortController();
      const timer = setTimeout(
        () => timeout.abort(new DOMException("the attempt timed out", "TimeoutError")),
        attemptTimeoutMs,
      );
      const combined = anySignal([signal, timeout.signal]);
      let outcome: AttemptOutcome<T>;
      try {
        outcome = await attempt(combined.signal);
      } catch (err) {
        if (signal?.aborted) {
          interruptedAfter = n;
          return { done: null };
        }
        outcome = timeout.signal.aborted
          ? { ok: false, retryable: true, message: `no response within ${attemptTimeoutMs} ms` }
          : { ok: false, retryable: true, message: `connection error: ${describeError(err)}` };
      } finally {
        clearTimeout(timer);
        combined.dispose();
      }
      if (outcome.ok || !outcome.retryable) return { done: outcome };
      status = outcome.status;
      retryAfterMs = outcome.retryAfterMs;
      stalled = outcome.stalled === true;
      // A stall is no sign of load (the provider went silent on one connection): the retry goes at once.
      const wait = outcome.retryAfterMs ?? (stalled ? 0 : undefined);
      return {
        retry: outcome,
        reason: outcome.message,
        ...(wait !== undefined ? { retryAfterMs: wait } : {}),
      };
    },
    { attempts: maxAttempts, backoff: { baseMs: baseBackoffMs, capMs: maxBackoffMs, jitter: "full" } },
    signal,
    (info) => {
      const retry: RetryInfo = {
        attempt: info.attempt,
        delayMs: info.delayMs,
        reason: info.reason ?? "",
        ...(status !== undefined ? { status } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...(stalled ? { stalled: true as const } : {}),
      };
      retries.push(retry);
      options.onRetry?.(retry);
    },
    options.random,
  );
  if (result.value === null)
    return { ok: false, failure: interrupted(provider, interruptedAfter ?? 0), retries };
  if (result.aborted) return { ok: false, failure: interrupted(provider, result.attempts), retries };
  const outcome = result.value;
  if (outcome.ok) return { ok: true, value: outcome.value, attempts: result.attempts, retries };
  if (!outcome.retryable)
    return { ok: false, failure: rejected(provider, result.attempts, outcome, retries), retries };
  const last = outcome;
  const backoffMs = Math.min(maxBackoffMs, last.retryAfterMs ?? baseBackoffMs * 2 ** maxAttempts);
  const what = last.status !== undefined ? `HTTP ${last.status}: ${last.message}` : last.message;
  const n = result.attempts;
  return {
    ok: false,
    failure: makeFailure(
      "llm_failed",
      `The ${provider} model provider failed ${n} call${n === 1 ? "" : "s"} in a row (last: ${what}). Retry later.`,
      true,
      {
        remedy: { action: "retry_later", backoffMs },
        attempts: n,
        retries,
        ...(last.retryAfterMs !== undefined ? { retryAfterMs: last.retryAfterMs } : {}),
        ...(last.status !== undefined ? { status: last.status } : {}),
        ...(last.bodyTail ? { bodyTail: last.bodyTail } : {}),
      },
    ),
    retries,
  };
}

/**
 * Parses an HTTP Retry-After value (delay-seconds or an HTTP date) into milliseconds from `nowMs`.
 * @example parseRetryAfterMs("2") // 2000
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function rejected(
  provider: string,
  attempts: number,
  o: { message: string; status?: number; bodyTail?: string },
  retries: RetryInfo[],
): Failure {
  const status = o.status;
  const remedy =
    status === 401 || status === 403
      ? {
          action: "check_configuration",
          hint: "Check MEND_LLM_API_KEY: the provider refused the credentials.",
        }
      : status === 404
        ? { action: "check_configuration", hint: "Check MEND_LLM_BASE_URL and the model name." }
        : {
            action: "fix_request",
            hint: "The provider rejected the request itself; retrying it unchanged will not help.",
          };
  const what = status !== undefined ? `HTTP ${status}` : "an invalid request";
  const earlier =
    attempts > 1 ? ` (after ${attempts - 1} failed call${attempts === 2 ? "" : "s"} that were retried)` : "";
  return makeFailure(
    "llm_failed",
    `The ${provider} model provider rejected the request with ${what}${earlier}; a rejection is not retried, the same request would be rejected again: ${o.message}`,
    false,
    {
      remedy,
      attempts,
      ...(retries.length ? { retries } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(o.bodyTail ? { bodyTail: o.bodyTail } : {}),
    },
  );
}

function interrupted(provider: string, attempts: number): Failure {
  return makeFailure(
    "interrupted",
    `The call to the ${provider} model provider was interrupted after ${attempts} attempt${attempts === 1 ? "" : "s"} (run cancelled or service stopping).`,
    true,
  );
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${err.message} (${detail})` : err.message;
}
