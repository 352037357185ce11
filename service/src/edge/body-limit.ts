// The request body's size limit, checked without touching the body: @hono/node-server reads a body straight
// from the socket only while nobody has asked for `c.req.raw.body`, and hono's own bodyLimit asks on every
// request — building a web Request and a ReadableStream per request on the hot path (steps, checkpoints).
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit as streamedBodyLimit } from "hono/body-limit";

/**
 * 413 (through `onError`) for a body over `maxSize` bytes. A declared Content-Length is checked from the
 * header alone (Node's parser never delivers more bytes than it declares); a chunked body is counted as
 * it streams, by hono's bodyLimit.
 * @example app.use(bodyLimit(1_048_576, () => { throw new HttpProblem(413, ...) }))
 */
export function bodyLimit(maxSize: number, onError: (c: Context) => never): MiddlewareHandler {
  const streamed = streamedBodyLimit({ maxSize, onError });
  return (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      return Number.parseInt(length, 10) > maxSize ? onError(c) : next();
    }
    return streamed(c, next);
  };
}
