// Host-side capture of the guest's console: one entry per call, capped in UTF-8 bytes like the QuickJS engine.

/**
 * Collects console lines (already formatted and prefixed by the guest) until `maxBytes` of UTF-8
 * text is reached; the line that does not fit is cut at the cap and `truncated` is set, which ends
 * the execution with `output_limit`. `push` returns whether the guest may keep logging.
 * @example const sink = new LogSink(10); sink.push("hello"); sink.lines // → ["hello"]
 */
export class LogSink {
  readonly lines: string[] = [];
  truncated = false;
  #bytes = 0;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = Math.max(0, maxBytes);
  }

  /** Appends one console line; false once the cap is reached. */
  push(text: string): boolean {
    if (this.truncated) return false;
    const size = Buffer.byteLength(text, "utf8");
    if (this.#bytes + size <= this.#maxBytes) {
      this.lines.push(text);
      this.#bytes += size;
      return true;
    }
    const room = this.#maxBytes - this.#bytes;
    if (room > 0)
      this.lines.push(
        Buffer.from(text, "utf8")
          .subarray(0, room)
          .toString("utf8")
          .replace(/\uFFFD$/, ""),
      );
    this.#bytes = this.#maxBytes;
    this.truncated = true;
    return false;
  }
}
