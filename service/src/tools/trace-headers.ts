// W3C trace context on outgoing tool requests, so a tool server's spans join the run's trace.
import { tracer } from "../lib/tracing.ts";

/**
 * `headers` plus `traceparent`/`tracestate` of the current span when tracing is on (unchanged when off).
 * A caller's own `traceparent` (http.fetch headers from guest code) is replaced: the trace is Mend's.
 * @example await fetch(url, { headers: withTraceContext({ accept: "application/json" }) })
 */
export function withTraceContext(headers: Record<string, string>): Record<string, string> {
  tracer().inject(headers);
  return headers;
}
