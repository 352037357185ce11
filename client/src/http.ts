// The one place that speaks HTTP: auth, idempotency keys, retries of transient errors, problem+json → MendApiError.
import { MendApiError, MendConnectionError } from "./errors.ts";
import type { Problem } from "./wire-types.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** How transient errors are retried: `attempts` in total, exponential backoff with full jitter. */
export interface RetryOptions {
  /** Total attempts, the first included (default 4). 1 disables retries. */
  attempts?: number | undefined;
  /** First backoff (default 200 ms); doubles each retry. */
  baseDelayMs?: number | undefined;
  /** Cap of one backoff, and of a honoured Retry-After (default 10 s). */
  maxDelayMs?: number | undefined;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  fetch?: FetchLike | undefined;
  retries?: RetryOptions | number | undefined;
}

export interface RequestOptions {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** For mutating requests: sent as Idempotency-Key (a random one is made when absent). */
  idempotencyKey?: string | undefined;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  /** Return the raw Response (streams) instead of parsing JSON. */
  raw?: boolean | undefined;
  /** Non-2xx statuses that are answers, not errors (e.g. 503 of /healthz); never retried. */
  accept?: number[] | undefined;
}

const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);

/** A random idempotency key (crypto.randomUUID exists in Node 20+, Deno, Bun and browsers). */
export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/** Retry options with every value known. */
interface RetrySettings {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

function delayMs(attempt: number, o: RetrySettings, retryAfter: string | null): number {
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, o.maxDelayMs);
  }
  // Full jitter: uniform in [0, base * 2^attempt), capped.
  return Math.random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    });
  });
}

/** Turns a non-2xx response into a MendApiError (problem+json when the service sent one). */
export async function toApiError(res: Response): Promise<MendApiError> {
  const text = await res.text().catch(() => "");
  let problem: Problem | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (parsed && typeof parsed === "object" && typeof parsed.type === "string") problem = parsed as Problem;
  } catch {
    /* not JSON: described below */
  }
  return new MendApiError(
    problem ?? {
      type: "about:blank",
      title: res.statusText || `HTTP ${res.status}`,
      status: res.status,
      detail: text.slice(0, 500) || `HTTP ${res.status}`,
    },
  );
}

/**
 * Sends requests to the service. Every request may be retried (GET, PUT and DELETE are idempotent;
 * POSTs carry an Idempotency-Key that stays the same across the retries of one call).
 * @example const t = new Transport({ baseUrl: "http://127.0.0.1:8080" }); await t.request({ method: "GET", path: "/healthz" })
 */
export class Transport {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #fetch: FetchLike;
  readonly #retry: RetrySettings;

  constructor(o: TransportOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, "");
    this.#apiKey = o.apiKey;
    this.#fetch = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const r = typeof o.retries === "number" ? { attempts: o.retries + 1 } : (o.retries ?? {});
    this.#retry = {
      attempts: Math.max(1, r.attempts ?? 4),
      baseDelayMs: r.baseDelayMs ?? 200,
      maxDelayMs: r.maxDelayMs ?? 10_000,
    };
  }

  url(path: string, query?: Record<string, string | number | undefined>): string {
    const qs = Object.entries(query ?? {})
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}), ...extra };
  }

  /** JSON request with retries; returns the parsed body (undefined for 204), or the Response when `raw`. */
  async request<T>(o: RequestOptions): Promise<T> {
    const res = await this.send(o);
    if (o.raw) return res as T;
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** Sends with retries; resolves with a 2xx Response, throws MendApiError or MendConnectionError. */
  async send(o: RequestOptions): Promise<Response> {
    const headers = this.headers({ accept: "application/json", ...o.headers });
    if (o.body !== undefined) headers["content-type"] = "application/json";
    if (o.method !== "GET") headers["idempotency-key"] = o.idempotencyKey ?? newIdempotencyKey();
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const url = this.url(o.path, o.query);
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= this.#retry.attempts;
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method: o.method,
          headers,
          ...(body !== undefined ? { body } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (err) {
        if (o.signal?.aborted) throw err;
        if (last)
          throw new MendConnectionError(`${o.method} ${url}: ${(err as Error).message}`, { cause: err });
        await sleep(delayMs(attempt, this.#retry, null), o.signal);
        continue;
      }
      if (res.ok || o.accept?.includes(res.status)) return res;
      if (!TRANSIENT_STATUS.has(res.status) || last) throw await toApiError(res);
      await res.body?.cancel().catch(() => undefined);
      await sleep(delayMs(attempt, this.#retry, res.headers.get("retry-after")), o.signal);
    }
  }
}
