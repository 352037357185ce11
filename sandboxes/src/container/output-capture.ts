// Captures one output stream with a byte cap, and splits off the launcher's nonce-marked record.

import { StringDecoder } from "node:string_decoder";

/**
 * Collects user output up to `capBytes` (the rest is counted, not kept) and extracts the payload
 * line that follows `marker`, which the launcher writes after the user's code has exited.
 * @example
 * const c = new CappedCapture(1024, "\n\x1eMEND-END:abc");
 * c.push(Buffer.from("hi\n\x1eMEND-END:abc\n")); c.end();
 * c.text(); // "hi\n"; c.markerSeen === true
 */
export class CappedCapture {
  readonly capBytes: number;
  readonly #marker: Buffer;
  readonly #payloadCapBytes: number;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #totalBytes = 0;
  #hold: Buffer = Buffer.alloc(0);
  #mode: "output" | "payload" | "after" = "output";
  #payload: Buffer[] = [];
  #payloadBytes = 0;
  #payloadDone = false;
  #onKept: ((part: Buffer) => void) | undefined;

  /**
   * @param onText receives kept user output as it arrives, decoded as UTF-8 across chunk boundaries
   *   (live display; `text()` stays the record). It must not throw.
   */
  constructor(
    capBytes: number,
    marker: string,
    payloadCapBytes = 512 * 1024 * 1024,
    onText?: (text: string) => void,
  ) {
    this.capBytes = capBytes;
    this.#marker = Buffer.from(marker, "utf8");
    this.#payloadCapBytes = payloadCapBytes;
    if (onText) {
      const decoder = new StringDecoder("utf8");
      this.#onKept = (part) => {
        const text = decoder.write(part);
        if (text.length > 0) onText(text);
      };
    }
  }

  /** Bytes of user output seen so far (kept or not). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  get truncated(): boolean {
    return this.#totalBytes > this.capBytes;
  }

  /** True once the marker and its payload line were fully received. */
  get markerSeen(): boolean {
    return this.#payloadDone;
  }

  push(chunk: Buffer): void {
    if (this.#mode === "after") {
      this.#commit(chunk);
      return;
    }
    if (this.#mode === "payload") {
      this.#pushPayload(chunk);
      return;
    }
    const buf = this.#hold.length > 0 ? Buffer.concat([this.#hold, chunk]) : chunk;
    const idx = buf.indexOf(this.#marker);
    if (idx >= 0) {
      this.#commit(buf.subarray(0, idx));
      this.#hold = Buffer.alloc(0);
      this.#mode = "payload";
      this.#pushPayload(buf.subarray(idx + this.#marker.length));
      return;
    }
    // Hold back only a tail that could begin the marker, so live output is not delayed by a marker's length.
    const keep = markerPrefixAtEnd(buf, this.#marker);
    this.#commit(buf.subarray(0, buf.length - keep));
    this.#hold = Buffer.from(buf.subarray(buf.length - keep));
  }

  /** Flushes held-back bytes once the stream has ended. */
  end(): void {
    if (this.#hold.length > 0) this.#commit(this.#hold);
    this.#hold = Buffer.alloc(0);
  }

  text(): string {
    return Buffer.concat(this.#kept).toString("utf8");
  }

  /** The marker's payload (without the newline), or undefined when the marker never completed. */
  payload(): string | undefined {
    return this.#payloadDone ? Buffer.concat(this.#payload).toString("utf8") : undefined;
  }

  #pushPayload(chunk: Buffer): void {
    const nl = chunk.indexOf(0x0a);
    const part = nl >= 0 ? chunk.subarray(0, nl) : chunk;
    if (this.#payloadBytes + part.length <= this.#payloadCapBytes) {
      this.#payload.push(Buffer.from(part));
      this.#payloadBytes += part.length;
    }
    if (nl >= 0) {
      this.#payloadDone = true;
      this.#mode = "after";
      this.#commit(chunk.subarray(nl + 1));
    }
  }

  #commit(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#totalBytes += chunk.length;
    const room = this.capBytes - this.#keptBytes;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#kept.push(Buffer.from(part));
    this.#keptBytes += part.length;
    if (this.#onKept) {
      try {
        this.#onKept(part);
      } catch {
        // Live output is best effort: the bytes are kept for the outcome either way.
      }
    }
  }
}

/** Length of the longest end of `buf` that is a proper prefix of `marker` (0 when none). */
function markerPrefixAtEnd(buf: Buffer, marker: Buffer): number {
  for (let k = Math.min(buf.length, marker.length - 1); k > 0; k--) {
    if (buf.subarray(buf.length - k).equals(marker.subarray(0, k))) return k;
  }
  return 0;
}
