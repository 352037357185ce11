// One HTTP attempt at a provider, classified for the retry loop: status, Retry-After, malformed bodies,
// and stalls (nothing received for the stall timeout: no headers, no streamed chunk).
import { STATUS_CODES } from "node:http";
import type { Readable } from "node:stream";
import { providerPool, providerSlot } from "./provider-pool.ts";
import type { AttemptOutcome } from "./retry.ts";
import { parseRetryAfterMs } from "./retry.ts";
import type { StreamAssembler } from "./stream-assemblers.ts";
import { anySignal } from "../lib/any-signal.ts";

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
async function readBody(
  body: AsyncIterable<Uint8Array>,
  alive: () => void,
  sse: StreamAssembler | null,
): Promise<string> {
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
  for await (const chunk of body) {
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

/** A response header as one string (undici gives repeated headers as an array). */
function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
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
  /** The JSON text, or its bytes in parts (sent one after the other, e.g. shared head and tail Buffers). */
  body: string | readonly Buffer[],
  parse: ResponseParser<T>,
  reading: AttemptReading = {},
): (signal: AbortSignal) => Promise<AttemptOutcome<T>> {
  const stallMs = reading.stallMs ?? DEFAULT_STALL_MS;
  const accept = reading.stream ? "text/event-stream, application/json" : "application/json";
  // Parts are written as they are, with their total length (no chunked encoding, no copy into one buffer).
  const length =
    typeof body === "string" ? undefined : String(body.reduce((n, part) => n + part.byteLength, 0));
  return async (signal) => {
    // The stall clock starts once a socket is ours: waiting behind other runs' calls is not a stall.
    const pool = await providerPool(); // before the slot: a slot is never held while undici loads
    const release = await providerSlot(url, signal);
    const stall = new AbortController();
    // One timer per attempt, pushed back at every chunk (refresh, not a new timer per chunk).
    const timer = setTimeout(() => stall.abort(new Stalled()), stallMs);
    const alive = () => void timer.refresh();
    const stop = anySignal([signal, stall.signal]);
    let status: number;
    let resHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    // A streamed answer, assembled into the unstreamed body's value (parsed already: no JSON round trip).
    let assembled: { json: unknown } | undefined;
    try {
      // undici's request over the shared keep-alive pool, not fetch: no WHATWG Request/Response/stream
      // objects per call, and a bounded number of sockets per model server however many runs wait on it.
      const res = await pool.request(url, {
        dispatcher: pool.agent,
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept,
          ...(length !== undefined ? { "content-length": length } : {}),
          ...headers,
        },
        // undici writes any iterable of chunks (lib/core/request.js); its types name only streams.
        body: typeof body === "string" ? body : (body as unknown as Readable),
        signal: stop.signal,
      });
      alive();
      status = res.statusCode;
      resHeaders = res.headers;
      const ok = status >= 200 && status < 300;
      const streamed = reading.stream && /text\/event-stream/i.test(header(resHeaders, "content-type") ?? "");
      const sse = ok && streamed ? reading.stream!() : null;
      text = await readBody(res.body, alive, sse);
      if (sse) assembled = { json: sse.result() };
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
      stop.dispose();
      release();
    }
    // What a failure shows of the body: its end (an assembled stream's as the JSON it stands for).
    const tail = () => {
      const t = assembled ? JSON.stringify(assembled.json) : text;
      return t.length > BODY_TAIL_CHARS ? t.slice(-BODY_TAIL_CHARS) : t;
    };
    if (status < 200 || status >= 300) {
      const retryable = status === 408 || status === 429 || status >= 500;
      const msHeader = header(resHeaders, "retry-after-ms")?.trim();
      const retryAfterMs =
        msHeader && /^\d+(\.\d+)?$/.test(msHeader)
          ? Math.round(Number(msHeader))
          : parseRetryAfterMs(header(resHeaders, "retry-after"));
      return {
        ok: false,
        retryable,
        status,
        message: errorMessage(text) ?? STATUS_CODES[status] ?? "error",
        bodyTail: tail(),
        ...(retryable && retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    let json: unknown;
    try {
      json = assembled ? assembled.json : JSON.parse(text);
    } catch {
      return {
        ok: false,
        retryable: true,
        status,
        message: "the response body is not JSON",
        bodyTail: tail(),
      };
    }
    const parsed = parse(json);
    if ("invalid" in parsed) {
      return {
        ok: false,
        retryable: true,
        status,
        message: `malformed response: ${parsed.invalid}`,
        bodyTail: tail(),
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
