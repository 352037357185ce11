// One HTTP attempt at a provider, classified for the retry loop: status, Retry-After, malformed bodies,
// and stalls (nothing received for the stall timeout: no headers, no streamed chunk).
import type { AttemptOutcome } from "./retry.ts";
import { parseRetryAfterMs } from "./retry.ts";
import type { StreamAssembler } from "./stream-assemblers.ts";

/** How an attempt reads its answer: a stall timeout, and an assembler when it asked for a stream. */
export interface AttemptReading {
  /** Abandon the attempt when nothing arrives for this long (default 10 s). */
  stallMs?: number;
  /** Makes a fresh assembler for a `text/event-stream` answer (a JSON answer is read as is). */
  stream?: () => StreamAssembler;
}

export const DEFAULT_STALL_MS = 10_000;

class Stalled extends Error {
  override name = "Stalled";
}

/**
 * Reads a body to its end, calling `alive` at every chunk (so a stall is "nothing for N ms", not a cap on
 * a long answer), and feeding the SSE events of a stream to `sse` as they complete.
 */
async function readBody(res: Response, alive: () => void, sse: StreamAssembler | null): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let pending = "";
  let name: string | undefined;
  let data: string[] = [];
  const line = (l: string) => {
    if (l === "") {
      if (data.length) sse!.event(name, data.join("\n"));
      name = undefined;
      data = [];
    } else if (l.startsWith("data:")) data.push(l.slice(5).replace(/^ /, ""));
    else if (l.startsWith("event:")) name = l.slice(6).trim();
  };
  if (!res.body) return "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    alive();
    const part = decoder.decode(chunk, { stream: true });
    if (!sse) {
      text += part;
      continue;
    }
    pending += part;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? "";
    for (const l of lines) line(l);
  }
  text += decoder.decode();
  if (sse) {
    line(pending);
    line("");
  }
  return text;
}

const BODY_TAIL_CHARS = 500;

/** Turns the provider's JSON into our value, or returns a string saying what was wrong with it. */
export type ResponseParser<T> = (json: unknown) => { value: T } | { invalid: string };

/**
 * POSTs a JSON body once and classifies the answer: 2xx with a valid body → value; 408, 429 and 5xx,
 * an unreadable body or a body of the wrong shape → retryable; other statuses → not retryable. With
 * `reading.stream` a `text/event-stream` answer is assembled into the body first. Nothing received for
 * `reading.stallMs` (before the headers or between chunks) → retryable and `stalled` (retried at once).
 * Connection errors and aborts are thrown (the retry loop classifies them).
 * @example const once = jsonPostAttempt(url, { authorization: "Bearer k" }, body, parseChat); await once(signal)
 */
export function jsonPostAttempt<T>(
  url: string,
  headers: Record<string, string>,
  body: string,
  parse: ResponseParser<T>,
  reading: AttemptReading = {},
): (signal: AbortSignal) => Promise<AttemptOutcome<T>> {
  const stallMs = reading.stallMs ?? DEFAULT_STALL_MS;
  return async (signal) => {
    const stall = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(new Stalled()), stallMs);
    };
    alive();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: reading.stream ? "text/event-stream, application/json" : "application/json",
          ...headers,
        },
        body,
        signal: AbortSignal.any([signal, stall.signal]),
      });
      alive();
      const streamed = reading.stream && /text\/event-stream/i.test(res.headers.get("content-type") ?? "");
      const sse = res.ok && streamed ? reading.stream!() : null;
      text = await readBody(res, alive, sse);
      if (sse) text = JSON.stringify(sse.result());
    } catch (err) {
      if (!stall.signal.aborted || signal.aborted) throw err;
      return {
        ok: false,
        retryable: true,
        stalled: true,
        message: `stalled: nothing received from the provider for ${stallMs} ms`,
      };
    } finally {
      clearTimeout(timer);
    }
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
