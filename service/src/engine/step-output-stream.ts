// Live output of a running step (container stdout/stderr, code-mode console lines) as bounded step.output events.

/** Output is coalesced this long before it becomes an event (one event per stream per window at most). */
export const OUTPUT_FLUSH_MS = 250;
/** Largest text of one step.output event, bytes (UTF-8). */
export const OUTPUT_EVENT_MAX_BYTES = 8 * 1024;
/** Text streamed per attempt, bytes; beyond it one `truncated` notice and nothing more. */
export const OUTPUT_ATTEMPT_MAX_BYTES = 64 * 1024;
/** step.output events per attempt (the truncation notice excluded). */
export const OUTPUT_ATTEMPT_MAX_EVENTS = 256;

export type OutputStreamName = "stdout" | "stderr" | "log";

/** What a step.output event carries (the run id is the event's own). */
export interface StepOutputEvent {
  seq: number;
  attempt: number;
  stream: OutputStreamName;
  text: string;
  /** Set on the last event of an attempt whose output went past the per-attempt bound. */
  truncated?: true;
}

/**
 * Buffers a step attempt's output and hands it to `publish` in bounded, rate-limited events. The journal
 * keeps the whole (capped) output at the step's end either way; these events are for watching it live,
 * so a flood costs at most 256 events of 8 KiB per attempt. `push` never throws and never waits: a
 * publish that fails is logged by its caller, not seen by the sandbox.
 *
 * @example
 * const out = new StepOutputStream(3, 1, (ev) => events.publish(runId, "step.output", ev));
 * out.push("stdout", "hello\n"); await out.close(); // one event, before the step's end is journaled
 */
export class StepOutputStream {
  readonly #seq: number;
  readonly #attempt: number;
  readonly #publish: (ev: StepOutputEvent) => Promise<unknown>;
  readonly #pending = new Map<OutputStreamName, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #bytes = 0;
  #events = 0;
  #truncated = false;
  #closed = false;

  constructor(seq: number, attempt: number, publish: (ev: StepOutputEvent) => Promise<unknown>) {
    this.#seq = seq;
    this.#attempt = attempt;
    this.#publish = publish;
  }

  /** Adds output of one stream; ignored after the bound was reached or the stream was closed. */
  push(stream: OutputStreamName, text: string): void {
    if (this.#closed || this.#truncated || text.length === 0) return;
    this.#pending.set(stream, (this.#pending.get(stream) ?? "") + text);
    if (pendingBytes(this.#pending) >= OUTPUT_EVENT_MAX_BYTES) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), OUTPUT_FLUSH_MS);
  }

  /** Publishes what is buffered and waits for every event of this attempt to be written. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#flush();
      this.#closed = true;
    }
    await this.#chain;
  }

  #flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [stream, text] of this.#pending) {
      for (const piece of chunks(text, OUTPUT_EVENT_MAX_BYTES)) this.#emit(stream, piece);
    }
    this.#pending.clear();
  }

  #emit(stream: OutputStreamName, text: string): void {
    if (this.#truncated) return;
    const size = Buffer.byteLength(text, "utf8");
    if (this.#events >= OUTPUT_ATTEMPT_MAX_EVENTS || this.#bytes + size > OUTPUT_ATTEMPT_MAX_BYTES) {
      const room = OUTPUT_ATTEMPT_MAX_BYTES - this.#bytes;
      const head = this.#events < OUTPUT_ATTEMPT_MAX_EVENTS && room > 0 ? cut(text, room) : "";
      this.#truncated = true;
      this.#send({ seq: this.#seq, attempt: this.#attempt, stream, text: head, truncated: true });
      return;
    }
    this.#bytes += size;
    this.#events += 1;
    this.#send({ seq: this.#seq, attempt: this.#attempt, stream, text });
  }

  #send(ev: StepOutputEvent): void {
    // Events of one attempt are written in order; a failed write does not stop the ones after it.
    this.#chain = this.#chain.then(
      () => this.#publish(ev).then(noop, noop),
      () => undefined,
    );
  }
}

function noop(): void {}

function pendingBytes(pending: Map<OutputStreamName, string>): number {
  let n = 0;
  for (const text of pending.values()) n += text.length;
  return n;
}

/** Splits text into pieces of at most `maxBytes` UTF-8 bytes without cutting a character. */
function chunks(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return [text];
  const out: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    const head = cut(rest, maxBytes) || rest.slice(0, 1);
    out.push(head);
    rest = rest.slice(head.length);
  }
  return out;
}

/** The longest prefix of `text` within `maxBytes` UTF-8 bytes, never ending inside a surrogate pair. */
function cut(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  let lo = 0;
  let hi = Math.min(text.length, maxBytes);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(text.slice(0, mid), "utf8") <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const code = text.charCodeAt(lo - 1);
  if (lo > 0 && code >= 0xd800 && code <= 0xdbff) lo -= 1;
  return text.slice(0, lo);
}
