// One HTTP attempt at a provider, classified for the retry loop: status, Retry-After, malformed bodies.
import type { AttemptOutcome } from "./retry.ts";
import { parseRetryAfterMs } from "./retry.ts";

const BODY_TAIL_CHARS = 500;

/** Turns the provider's JSON into our value, or returns a string saying what was wrong with it. */
export type ResponseParser<T> = (json: unknown) => { value: T } | { invalid: string };

/**
 * POSTs a JSON body once and classifies the answer: 2xx with a valid body → value; 408, 429 and 5xx,
 * an unreadable body or a body of the wrong shape → retryable; other statuses → not retryable.
 * Connection errors and aborts are thrown (the retry loop classifies them).
 * @example const once = jsonPostAttempt(url, { authorization: "Bearer k" }, body, parseChat); await once(signal)
 */
export function jsonPostAttempt<T>(
  url: string,
  headers: Record<string, string>,
  body: string,
  parse: ResponseParser<T>,
): (signal: AbortSignal) => Promise<AttemptOutcome<T>> {
  return async (signal) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body,
      signal,
    });
    const text = await res.text();
    const bodyTail = text.length > BODY_TAIL_CHARS ? text.slice(-BODY_TAIL_CHARS) : text;
    if (!res.ok) {
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      const msHeader = res.headers.get("retry-after-ms")?.trim();
      const retryAfterMs =
        msHeader && /^\d+(\.\d+)?$/.test(msHeader)
          ? Math.round(Number(msHeader))
          : parseRetryAfterMs(res.headers.get("retry-after"));
      return {
        ok: false,
        retryable,
        status: res.status,
        message: errorMessage(text) ?? (res.statusText || "error"),
        bodyTail,
        ...(retryable && retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return {
        ok: false,
        retryable: true,
        status: res.status,
        message: "the response body is not JSON",
        bodyTail,
      };
    }
    const parsed = parse(json);
    if ("invalid" in parsed) {
      return {
        ok: false,
        retryable: true,
        status: res.status,
        message: `malformed response: ${parsed.invalid}`,
        bodyTail,
      };
    }
    return { ok: true, value: parsed.value };
  };
}

/** The `error.message` both OpenAI and Anthropic put in error bodies, if there is one. */
function errorMessage(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof j.error === "string") return j.error;
    if (typeof j.error?.message === "string") return j.error.message;
    if (typeof j.message === "string") return j.message;
  } catch {
    /* not JSON: the status text will do */
  }
  return undefined;
}
