// Decodes a fetch body stream to text chunks (TextDecoder in streaming mode works on every platform).

/**
 * The body's text, chunk by chunk; cancels the stream when the consumer stops early.
 * @example for await (const s of textChunks(res.body!)) buf += s
 */
export async function* textChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield decoder.decode(value, { stream: true });
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
