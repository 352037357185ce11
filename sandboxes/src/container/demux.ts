// Splits Docker's multiplexed attach stream (8-byte frame headers) into stdout and stderr chunks.

/** Docker stream ids in frame headers. */
export const STDOUT = 1;
export const STDERR = 2;

/**
 * Incremental demultiplexer for a non-TTY hijacked attach stream.
 * @example
 * const d = new Demuxer((stream, chunk) => (stream === STDOUT ? out : err).push(chunk));
 * socket.on("data", (c: Buffer) => d.push(c));
 */
export class Demuxer {
  #pending: Buffer = Buffer.alloc(0);
  readonly #onFrame: (stream: number, payload: Buffer) => void;

  constructor(onFrame: (stream: number, payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const stream = buf[0] ?? 0;
      this.#onFrame(stream, buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.#pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
